"""Who calls the local registry, and whether a resource policy lets them.

The caller's account comes from the request's credentials, as moto maps them:
keys that STS AssumeRole handed out belong to the assumed role's account (moto
keeps them in that account's IAM backend); any other key (`testing`) is the
function's account, moto's default 123456789012. The registry's own clients
(seeding, pipeline edits, inspection) name their account in moto's
`x-moto-account-id` header: they act as that account's owner, are never refused
and are not recorded.

Policies are evaluated as IAM evaluates a resource-based policy for one action:
an explicit Deny wins, then an Allow, else the action is implicitly denied.
Supported: Effect, Principal (`*` or `{"AWS": ...}`), Action and Resource (strings
or lists, `*` and `?` wildcards). NotPrincipal, NotAction, NotResource and
Condition are refused when a policy is stored, rather than silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FUNCTION_ACCOUNT = "123456789012"  # moto's default account: the function's, for default credentials
FUNCTION_PRINCIPAL = "arn:aws:sts::{account}:assumed-role/model-package-resource/local"
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)")
_ASSUMED = re.compile(r"arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+)")
_ROOT = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):root")


@dataclass(frozen=True)
class Caller:
    account: str
    principal: str  # as an AccessDenied message names it
    role: str | None = None  # the role's name, for credentials from AssumeRole
    own: bool = False  # the registry's own client


def caller_of(access_key: str | None, header_account: str | None, region: str) -> Caller:
    if header_account:
        return Caller(header_account, f"arn:aws:iam::{header_account}:root", own=True)
    if access_key:
        from moto.iam.models import get_account_id_from
        from moto.sts.models import sts_backends
        from moto.utilities.utils import get_partition

        account = get_account_id_from(access_key)
        assumed = sts_backends[account][get_partition(region)].get_assumed_role_from_access_key(access_key)
        if assumed is not None:
            return Caller(account, assumed.arn, assumed.role_arn.rpartition("/")[2])
        if account != FUNCTION_ACCOUNT:  # an IAM user's key of another account
            return Caller(account, f"arn:aws:iam::{account}:user/local")
    return Caller(FUNCTION_ACCOUNT, FUNCTION_PRINCIPAL.format(account=FUNCTION_ACCOUNT))


def parse_policy(text: Any) -> dict[str, Any]:
    """A policy document (JSON text) checked for what `decide` evaluates;
    ValueError names what is wrong."""
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except ValueError as error:
        raise ValueError(f"the policy is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("the policy must be a JSON object")
    statements = _statements(document)
    if not statements:
        raise ValueError("the policy has no Statement")
    for i, statement in enumerate(statements):
        if not isinstance(statement, dict):
            raise ValueError(f"Statement[{i}] must be an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise ValueError(f"Statement[{i}].Effect must be Allow or Deny")
        if "Action" not in statement:
            raise ValueError(f"Statement[{i}] has no Action")
        unsupported = sorted({"NotPrincipal", "NotAction", "NotResource", "Condition"} & set(statement))
        if unsupported:
            raise ValueError(f"Statement[{i}]: the local registry does not evaluate {', '.join(unsupported)}")
    return document


def decide(policy: Mapping[str, Any] | None, caller: Caller, action: str, resource: str) -> str:
    """"allow", "deny" (an explicit Deny) or "implicit" (no statement allows)."""
    verdict = "implicit"
    for statement in _statements(policy or {}):
        if not _principal_matches(statement.get("Principal"), caller):
            continue
        if not any(_glob(a, action, case=False) for a in _listed(statement.get("Action"))):
            continue
        if "Resource" in statement and not any(_glob(r, resource) for r in _listed(statement["Resource"])):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        verdict = "allow"
    return verdict


def denied_message(caller: Caller, action: str, resource: str, verdict: str) -> str:
    """IAM's wording: a resource policy's explicit Deny or missing Allow; for an
    allowed call (a `denied` fault) the caller's own role lacking the permission."""
    why = {
        "deny": "with an explicit deny in a resource-based policy",
        "implicit": f"because no resource-based policy allows the {action} action",
    }.get(verdict, f"because no identity-based policy allows the {action} action")
    return f"User: {caller.principal} is not authorized to perform: {action} on resource: {resource} {why}"


def may_assume(caller: Caller, role_arn: str, region: str) -> tuple[bool, str]:
    """AssumeRole: the role must exist in its account (seeds create it) and its
    trust policy must allow the caller; returns (allowed, the role's account)."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    match = _ROLE.fullmatch(role_arn)
    if match is None:
        return False, ""
    account = match.group(1)
    if caller.own:
        return True, account
    try:
        role = iam_backends[account][get_partition(region)].get_role_by_arn(role_arn)
        trust = parse_policy(role.assume_role_policy_document)
    except Exception:  # noqa: BLE001 - no such role, or a trust policy we cannot read: refused
        return False, account
    return decide(trust, caller, "sts:AssumeRole", role_arn) == "allow", account


def _statements(document: Mapping[str, Any]) -> list[Any]:
    statements = document.get("Statement")
    return [statements] if isinstance(statements, dict) else list(statements or [])


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    names = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
    for name in names:
        if name in ("*", caller.account) or (
            (root := _ROOT.fullmatch(name)) and root.group(1) == caller.account
        ):
            return True
        role = _ROLE.fullmatch(name) or _ASSUMED.fullmatch(name)
        # A role of the caller's account: for assumed-role credentials it must be
        # that role (and session, when named); the function's default credentials
        # stand for whichever role of its account the policy names.
        if role and role.group(1) == caller.account and (
            caller.role is None
            or (role.group(2) == caller.role and (role.re is _ROLE or name == caller.principal))
        ):
            return True
    return False
