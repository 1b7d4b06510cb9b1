"""Make moto's SageMaker model registry behave as SageMaker does for
UpdateModelPackage and DescribeModelPackage. Shared by the integration tests and
the local registry; no fork of moto, only these corrections.

SageMaker's rules themselves are the handler's (model_package_resource/rules.py),
applied at their strictest. moto 5.2.5's update_model_package, compared with SageMaker's:
- replaces CustomerMetadataProperties instead of merging into it;
- erases the approval status, approval description and additional inference
  specifications that a call omits;
- ignores InferenceSpecification, SourceUri, ModelCard, ModelLifeCycle,
  ModelPackageRegistrationType and ClientToken (and describe never returns the
  first five);
- crashes (HTTP 500) on a call that only removes metadata keys.
moto has no Put/Get/DeleteModelPackageGroupPolicy: group resource policies are
kept here, per group ARN, for the registry's access checks (devkit/access.py).
`tests/integration/test_moto_fidelity.py`'s canaries fail when a moto upgrade changes any of
this raw behaviour, so that these corrections can be revisited.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

_GROUP_OF = re.compile(r"(arn:[a-z-]+:sagemaker:[a-z0-9-]+:\d{12}):model-package(?:-group)?/([^/]+)(?:/.*)?")
# Fields that moto's model package object does not keep, kept here per ARN.
EXTRA_FIELDS = (
    "InferenceSpecification",
    "SourceUri",
    "ModelCard",
    "ModelLifeCycle",
    "ModelPackageRegistrationType",
)


def apply_update(package: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """SageMaker's UpdateModelPackage on a DescribeModelPackage-shaped dict, as the
    handler's own statement of SageMaker's rules (rules.py) says, at its strictest:
    what SageMaker's documentation leaves open is refused. Raises rules.Refusal."""
    from model_package_resource import rules

    return rules.apply(package, request, strict=True)


class _State:
    """Per-ARN state that moto's objects do not hold."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # SageMaker applies each UpdateModelPackage atomically; moto's is a read, a
        # merge and a write, which two concurrent calls on one package would interleave.
        self.updating = threading.Lock()
        self.extra: dict[str, dict[str, Any]] = {}
        self.ready_at: dict[str, float] = {}
        self.status: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.policies: dict[str, str] = {}  # lower-cased group ARN -> resource policy (JSON)
        self.update_calls = 0
        self.describe_calls = 0


STATE = _State()
_originals: dict[str, Any] = {}
POLICY_OPERATIONS = (
    "put_model_package_group_policy",
    "get_model_package_group_policy",
    "delete_model_package_group_policy",
)


def set_status(arn: str, status: str, *, for_seconds: float | None = None) -> None:
    """Give a package a ModelPackageStatus (Pending, InProgress, Failed, Deleting);
    with for_seconds, it turns Completed once they have passed."""
    with STATE.lock:
        STATE.status[arn] = status
        if for_seconds is None:
            STATE.ready_at.pop(arn, None)
        else:
            STATE.ready_at[arn] = time.monotonic() + for_seconds


def group_policy(package_or_group_arn: str) -> dict[str, Any] | None:
    """The resource policy of the group of a package (or group) ARN, if any."""
    match = _GROUP_OF.fullmatch(package_or_group_arn)
    if match is None:
        return None
    with STATE.lock:
        text = STATE.policies.get(f"{match.group(1)}:model-package-group/{match.group(2)}".lower())
    return json.loads(text) if text else None


def reset() -> None:
    with STATE.lock:
        STATE.extra.clear()
        STATE.ready_at.clear()
        STATE.status.clear()
        STATE.tokens.clear()
        STATE.policies.clear()
        STATE.update_calls = 0
        STATE.describe_calls = 0


def install() -> None:
    """Patch moto's SageMaker model packages in this process (idempotent)."""
    if _originals:
        return
    from moto.sagemaker import models, responses
    from moto.sagemaker.exceptions import ConflictException, ValidationError

    original_describe = models.ModelPackage.gen_response_object
    original_describe_call = responses.SageMakerResponse.describe_model_package

    def gen_response_object(self: Any) -> dict[str, Any]:
        response = original_describe(self)
        with STATE.lock:
            response.update(copy.deepcopy(STATE.extra.get(self.arn, {})))
            status = STATE.status.get(self.arn)
            if status is not None:
                ready_at = STATE.ready_at.get(self.arn)
                if ready_at is not None and time.monotonic() >= ready_at:
                    STATE.status.pop(self.arn, None)
                    STATE.ready_at.pop(self.arn, None)
                else:
                    response["ModelPackageStatus"] = status
        return response

    def describe_model_package(self: Any) -> Any:
        with STATE.lock:
            STATE.describe_calls += 1
        return original_describe_call(self)

    def update_model_package(self: Any) -> Any:
        from moto.core.responses import ActionResult

        from model_package_resource import rules

        request = json.loads(self.body or "{}")
        with STATE.lock:
            STATE.update_calls += 1
        arn = request.get("ModelPackageArn", "")
        backend = self.sagemaker_backend
        name = backend.model_package_name_mapping.get(arn, arn)
        package = backend.model_packages.get(name)
        if package is None:
            raise ValidationError(f"ModelPackage {arn} does not exist.")
        token = request.pop("ClientToken", None)
        fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        with STATE.lock:
            seen = STATE.tokens.get(token) if token is not None else None
        if seen == fingerprint:
            return ActionResult({"ModelPackageArn": package.arn})  # idempotent replay
        if seen is not None:  # rules.CLIENT_TOKEN_REUSE, at its strictest
            raise ValidationError("ClientToken was already used with different parameters")
        with STATE.updating:
            live = package.gen_response_object()
            try:
                updated = apply_update(live, request)
            except rules.Refusal as refusal:
                if refusal.code == "ConflictException":
                    raise ConflictException(str(refusal)) from refusal
                raise ValidationError(str(refusal)) from refusal
            if "ModelApprovalStatus" in request:
                package.set_model_approval_status(updated["ModelApprovalStatus"])
            package.approval_description = updated.get("ApprovalDescription")
            package.customer_metadata_properties = updated.get("CustomerMetadataProperties")
            package.additional_inference_specifications = updated.get("AdditionalInferenceSpecifications")
            with STATE.lock:
                STATE.extra[package.arn] = {k: updated[k] for k in EXTRA_FIELDS if k in updated}
                if token is not None:
                    STATE.tokens[token] = fingerprint
            package.modifications_done()
        return ActionResult({"ModelPackageArn": package.arn})

    def group_of(self: Any, request: Mapping[str, Any]) -> Any:
        name = str(request.get("ModelPackageGroupName", ""))
        group = self.sagemaker_backend.model_package_groups.get(name.rpartition("model-package-group/")[2])
        if group is None:
            raise ValidationError(f"ModelPackageGroup {name} does not exist.")
        return group

    def put_model_package_group_policy(self: Any) -> Any:
        from moto.core.responses import ActionResult

        from .access import parse_policy

        request = json.loads(self.body or "{}")
        group = group_of(self, request)
        try:
            parse_policy(request.get("ResourcePolicy"))
        except ValueError as error:
            raise ValidationError(f"Invalid ResourcePolicy: {error}") from None
        with STATE.lock:
            STATE.policies[group.arn.lower()] = request["ResourcePolicy"]
        return ActionResult({"ModelPackageGroupArn": group.arn})

    def get_model_package_group_policy(self: Any) -> Any:
        from moto.core.responses import ActionResult

        group = group_of(self, json.loads(self.body or "{}"))
        with STATE.lock:
            policy = STATE.policies.get(group.arn.lower())
        if policy is None:
            raise ValidationError(f"Cannot find resource policy for ModelPackageGroup {group.arn}")
        return ActionResult({"ResourcePolicy": policy})

    def delete_model_package_group_policy(self: Any) -> Any:
        from moto.core.responses import ActionResult

        group = group_of(self, json.loads(self.body or "{}"))
        with STATE.lock:
            STATE.policies.pop(group.arn.lower(), None)
        return ActionResult({})

    for added in (put_model_package_group_policy, get_model_package_group_policy, delete_model_package_group_policy):
        setattr(responses.SageMakerResponse, added.__name__, added)
    _originals.update(
        gen_response_object=original_describe,
        describe_model_package=original_describe_call,
        update_model_package=responses.SageMakerResponse.update_model_package,
    )
    models.ModelPackage.gen_response_object = gen_response_object  # type: ignore[method-assign]
    responses.SageMakerResponse.describe_model_package = describe_model_package  # type: ignore[method-assign]
    responses.SageMakerResponse.update_model_package = update_model_package  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's own behaviour (the canary tests look at it)."""
    from moto.sagemaker import models, responses

    if not _originals:
        return
    models.ModelPackage.gen_response_object = _originals.pop("gen_response_object")  # type: ignore[method-assign]
    responses.SageMakerResponse.describe_model_package = _originals.pop("describe_model_package")  # type: ignore[method-assign]
    responses.SageMakerResponse.update_model_package = _originals.pop("update_model_package")  # type: ignore[method-assign]
    for added in POLICY_OPERATIONS:
        delattr(responses.SageMakerResponse, added)
