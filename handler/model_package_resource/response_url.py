"""Where a response may go: a security rule. The ResponseURL is presigned (a secret
until it expires): an event whose URL is not https on an AWS host gets no response
and changes nothing, unless ALLOWED_RESPONSE_HOSTS lists its host (local runs).
AWS hosts are those of every partition in botocore's partition data
(amazonaws.com, amazonaws.com.cn, c2s.ic.gov, ...)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .arns import dns_suffixes

ALLOWED_HOSTS_VARIABLE = "ALLOWED_RESPONSE_HOSTS"


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
    if not url.isascii() or any(ord(c) < 0x21 for c in url):
        return "the ResponseURL has characters no presigned URL has"
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
    if any(host.endswith("." + suffix) for suffix in dns_suffixes()):
        return None
    return f"the ResponseURL's host {host} is not an AWS host nor in {ALLOWED_HOSTS_VARIABLE}"
