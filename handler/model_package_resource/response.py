"""The response to CloudFormation: its body, its Reason, and where it may go. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import ResourceError

Status = Literal["SUCCESS", "FAILED"]
MAX_REASON = 256
MAX_BODY = 4096
AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")
ECHOED = ("StackId", "RequestId", "LogicalResourceId")


def reason_for(error: BaseException) -> str:
    """Cause first, then the property path and the detail, cut to 256 characters
    from the end (the cause is what the stack's events must show)."""
    text = str(error) if isinstance(error, ResourceError) else f"Internal error: {type(error).__name__}"
    return clip(text, MAX_REASON)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_body(
    event: Mapping[str, Any],
    status: Status,
    physical_resource_id: str,
    *,
    reason: str = "",
    data: Mapping[str, str] | None = None,
) -> bytes:
    """The JSON body, kept under 4096 bytes: Data goes first, then over-long echoed
    fields are cut (only a malformed event has such fields)."""
    body: dict[str, Any] = {
        "Status": status,
        "Reason": clip(reason, MAX_REASON),
        "PhysicalResourceId": physical_resource_id or "none",
        **{name: _text(event.get(name)) for name in ECHOED},
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


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_allowed_hosts(setting: str | None) -> frozenset[tuple[str, int | None]]:
    """ALLOWED_RESPONSE_HOSTS: comma-separated host[:port]; no port matches any."""
    allowed: set[tuple[str, int | None]] = set()
    for entry in (setting or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        if sep and port.isdigit() and host:
            allowed.add((host.strip("[]"), int(port)))
        else:
            allowed.add((entry.strip("[]"), None))
    return frozenset(allowed)


def response_url_refusal(url: object, allowed: frozenset[tuple[str, int | None]]) -> str | None:
    """Why this ResponseURL must get no response, or None when it may. The URL
    itself is presigned and never goes in the answer."""
    if not isinstance(url, str) or not url:
        return "the event has no ResponseURL"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "the ResponseURL is malformed"
    if parts.scheme != "https":
        return f"the ResponseURL's scheme is {parts.scheme or 'missing'}, not https"
    if not host or parts.username is not None or parts.password is not None:
        return "the ResponseURL has no plain host"
    if (host, port) in allowed or (host, None) in allowed or (port is None and (host, 443) in allowed):
        return None
    if any(host.endswith(suffix) for suffix in AWS_HOST_SUFFIXES):
        return None
    return f"the ResponseURL's host {host} is not an AWS host nor in ALLOWED_RESPONSE_HOSTS"
