"""The response to CloudFormation: its body, its Reason and its Data. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .errors import ResourceError

if TYPE_CHECKING:
    from .request import Identity

Status = Literal["SUCCESS", "FAILED"]
MAX_REASON = 256
MAX_BODY = 4096
ECHOED = ("StackId", "RequestId", "LogicalResourceId")


def reason_for(error: BaseException) -> str:
    """Cause first, then the property path and the detail, cut to 256 characters
    from the end (the cause is what the stack's events must show). A botocore
    error (a read timeout, a refused connection) names its kind."""
    if isinstance(error, ResourceError):
        text = str(error)
    elif type(error).__module__.startswith(("botocore", "urllib3")):
        text = f"AWS call failed: {type(error).__name__}"
    else:
        text = f"Internal error: {type(error).__name__}"
    return clip(text, MAX_REASON)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def resource_data(live: Mapping[str, Any], calls: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Fn::GetAtt attributes, flat strings, from the package as the calls leave it."""
    approval = live.get("ModelApprovalStatus", "")
    for call in calls:
        approval = call.get("ModelApprovalStatus", approval)
    return {
        "ModelPackageArn": str(live.get("ModelPackageArn", "")),
        "ModelPackageGroupName": str(live.get("ModelPackageGroupName", "")),
        "ModelPackageVersion": str(live.get("ModelPackageVersion", "")),
        "ModelApprovalStatus": str(approval),
        "ModelPackageStatus": str(live.get("ModelPackageStatus", "Completed")),
    }


def build_body(
    identity: Identity,
    status: Status,
    physical_resource_id: str,
    *,
    reason: str = "",
    data: Mapping[str, str] | None = None,
) -> bytes:
    """The JSON body, kept under 4096 bytes: Data goes first, then over-long echoed
    fields are cut (only a malformed event has such fields)."""
    echoed = {"StackId": identity.stack_id, "RequestId": identity.request_id, "LogicalResourceId": identity.logical_id}
    body: dict[str, Any] = {
        "Status": status,
        "Reason": clip(reason, MAX_REASON),
        "PhysicalResourceId": physical_resource_id or "none",
        **echoed,
        "NoEcho": False,
        "Data": dict(data or {}),
    }
    encoded = _encode(body)
    if len(encoded) > MAX_BODY:
        body["Data"] = {}
        encoded = _encode(body)
    while len(encoded) > MAX_BODY:
        # Halve the longest field, as encoded (a non-ASCII character takes up to 12 bytes).
        name = max(("PhysicalResourceId", "Reason", *ECHOED), key=lambda n: len(_encode(body[n])))
        body[name] = clip(body[name], max(len(body[name]) // 2, 1))
        encoded = _encode(body)
    return encoded


def _encode(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
