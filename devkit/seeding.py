"""Seeding the local registry from a file (YAML or JSON) that describes accounts,
their model package groups (with resource policies), versions as a pipeline
leaves them, and IAM roles for RoleArn."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import access, sagemaker_fidelity
from .access import FUNCTION_ACCOUNT

if TYPE_CHECKING:
    from .registry import LocalRegistry


class SeedError(ValueError):
    """A seed file that cannot be read; the message names the file and the field."""


def seed(registry: LocalRegistry, path: str | Path) -> dict[str, str]:
    """Create what `path` (YAML or JSON) describes; returns each version's label
    -> ARN: "group/version", and "account/group/version" for a file with
    `accounts:` (the short label only where it names one package).

    A file is either one account's `groups:` (with optional `region` and
    `account`) or `accounts:`, a list of those, each also with optional
    `roles:` (a name, or `name` and `trust`, the trust policy: by default the
    function's account). A group has `name`, `versions:` and an optional `policy`
    (its resource policy, a map or JSON text). In the one-account form, a group of
    another account than the function's without a `policy` grants the function's
    account DescribeModelPackage and UpdateModelPackage on its versions, so that
    such a seed plays as it did before the registry enforced accounts; in
    `accounts:`, a group without `policy` grants nothing."""
    spec = load_document(path)
    if "accounts" not in spec:
        return _seed_account(registry, spec, f"{path}: field '", single=True)
    accounts = spec["accounts"]
    if not isinstance(accounts, list) or not accounts:
        raise SeedError(f"{path}: field 'accounts' must be a non-empty list")
    labels: dict[str, str] = {}
    ambiguous: set[str] = set()
    for a, entry in enumerate(accounts):
        if not isinstance(entry, Mapping):
            raise SeedError(f"{path}: field 'accounts[{a}]' must be a map")
        for label, arn in _seed_account(registry, entry, f"{path}: field 'accounts[{a}].").items():
            account = arn.split(":")[4]
            labels[f"{account}/{label}"] = arn
            if label in labels or label in ambiguous:
                ambiguous.add(label)
                labels.pop(label, None)
            else:
                labels[label] = arn
    return labels

def _seed_account(registry: LocalRegistry, spec: Mapping[str, Any], where: str, single: bool = False) -> dict[str, str]:
    groups, roles = spec.get("groups", []), spec.get("roles", [])
    if not isinstance(groups, list) or (single and not groups):
        raise SeedError(f"{where}groups' must be a {'non-empty ' if single else ''}list")
    region, account = spec.get("region", registry.region), str(spec.get("account", FUNCTION_ACCOUNT))
    if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise SeedError(f"{where}region' must be a region name such as eu-west-1")
    if not re.fullmatch(r"\d{12}", account):
        raise SeedError(f"{where}account' must be 12 digits")
    if not isinstance(roles, list):
        raise SeedError(f"{where}roles' must be a list")
    for r, role in enumerate(roles):
        _seed_role(registry, account, region, role, f"{where}roles[{r}]")
    client = registry.client(region, account)
    arns: dict[str, str] = {}
    for g, group in enumerate(groups):
        name = group.get("name") if isinstance(group, Mapping) else None
        if not isinstance(name, str) or not name:
            raise SeedError(f"{where}groups[{g}].name' must be a string")
        client.create_model_package_group(ModelPackageGroupName=name)
        policy = group.get("policy")
        if policy is None and single and account != FUNCTION_ACCOUNT:
            policy = _grant_function(region, account, name)
        if policy is not None:
            text = policy if isinstance(policy, str) else json.dumps(policy)
            try:
                access.parse_policy(text)
            except ValueError as error:
                raise SeedError(f"{where}groups[{g}].policy': {error}") from None
            client.put_model_package_group_policy(ModelPackageGroupName=name, ResourcePolicy=text)
        for v, version in enumerate(group.get("versions") or []):
            label = f"{where}groups[{g}].versions[{v}]"
            arns[f"{name}/{v + 1}"] = _seed_version(client, name, version, label)
    return arns

def _seed_role(registry: LocalRegistry, account: str, region: str, role: Any, where: str) -> None:
    """An IAM role for RoleArn; its trust policy defaults to trusting the function's account."""
    if isinstance(role, str):
        role = {"name": role}
    name = role.get("name") if isinstance(role, Mapping) else None
    if not isinstance(name, str) or not re.fullmatch(r"[\w+=,.@-]{1,64}", name):
        raise SeedError(f"{where}.name' must be a role name")
    trust = role.get("trust") or {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"AWS": f"arn:aws:iam::{FUNCTION_ACCOUNT}:root"}}],
    }
    text = trust if isinstance(trust, str) else json.dumps(trust)
    try:
        access.parse_policy(text)
    except ValueError as error:
        raise SeedError(f"{where}.trust': {error}") from None
    registry.client(region, account, "iam").create_role(RoleName=name, AssumeRolePolicyDocument=text)

def _seed_version(client: Any, group: str, version: Any, where: str) -> str:
    if not isinstance(version, Mapping):
        raise SeedError(f"{where}' must be a map")
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": str(
                        version.get("image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:latest")
                    )
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelApprovalStatus": str(version.get("approval", "PendingManualApproval")),
    }
    metadata = version.get("metadata")
    if metadata:
        if not isinstance(metadata, Mapping):
            raise SeedError(f"{where}.metadata' must be a map")
        request["CustomerMetadataProperties"] = {str(k): str(v) for k, v in metadata.items()}
    arn = client.create_model_package(**request)["ModelPackageArn"]
    status = version.get("status")
    if status:
        seconds = version.get("status_seconds")
        sagemaker_fidelity.set_status(arn, str(status), for_seconds=float(seconds) if seconds else None)
    return str(arn)



def load_document(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file as a map, or a one-line error naming the file."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SeedError(f"{path}: cannot read: {error.strerror}") from None
    try:
        document = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        kind = "JSON" if str(path).endswith(".json") else "YAML"
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SeedError(f"{path}: not valid {kind}: {first}") from None
    if not isinstance(document, dict):
        raise SeedError(f"{path}: expected a map at the top level")
    return document


def _grant_function(region: str, account: str, group: str) -> dict[str, Any]:
    """The single-account format's policy for a group of another account: the
    function's account may describe and update its versions."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{FUNCTION_ACCOUNT}:root"},
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
            "Resource": f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/*",
        }],
    }
