"""PUT the one response to CloudFormation's presigned ResponseURL.

Like crhelper's sender it verifies TLS with the default context (so SSL_CERT_FILE
trusts a local receiver) and sends an empty content-type, as the URL was signed
with one. Unlike it, retries are bounded in count and in time, each attempt has a
socket timeout, an HTTP error status counts as a failure, and the URL (a secret
until it expires) is never logged.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from . import timing


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    detail: str


def put_response(
    url: str,
    body: bytes,
    deadline_at: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send `body`, retrying transport errors and 5xx/429 answers while attempts
    and time (until `deadline_at`, a clock() instant) remain."""
    parts = urlsplit(url)
    # A presigned URL is ASCII; anything else is sent percent-encoded, never raised on.
    target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + quote(parts.query, safe="=&%/:+-._~")
    headers = {"content-type": "", "content-length": str(len(body))}
    context = ssl.create_default_context()
    detail = "no time left to send"
    for attempt in range(1, timing.PUT_ATTEMPTS + 1):
        remaining = deadline_at - clock()
        if remaining <= 0.05:
            return Delivery(False, attempt - 1, detail)
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=min(timing.PUT_TIMEOUT, remaining), context=context
        )
        try:
            connection.request("PUT", target, body=body, headers=headers)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException, ValueError) as error:  # UnicodeError is a ValueError
            detail = f"{type(error).__name__}: {error}"
        else:
            if 200 <= status < 300:
                return Delivery(True, attempt, f"HTTP {status}")
            detail = f"HTTP {status}"
            if status < 500 and status != 429:
                return Delivery(False, attempt, detail)  # signature expired or refused: final
        finally:
            connection.close()
        pause = timing.PUT_BACKOFF[min(attempt - 1, len(timing.PUT_BACKOFF) - 1)]
        if attempt < timing.PUT_ATTEMPTS and deadline_at - clock() > pause:
            sleep(pause)
    return Delivery(False, timing.PUT_ATTEMPTS, detail)
