"""Credentials of the role a resource names in RoleArn: STS AssumeRole, made only
when a RoleArn is used, cached per role until shortly before they expire."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import clients, timing
from .errors import RoleError, TimedOut, aws_error

if TYPE_CHECKING:
    from .arns import RoleArn
    from .timing import Deadline

SESSION_NAME_MAX = 64
_INVALID = re.compile(r"[^\w+=,.@-]")


def session_name(stack_name: str, logical_id: str) -> str:
    """STS RoleSessionName from the stack and logical id: valid characters only,
    at most 64, so CloudTrail in the registry account says which resource acted."""
    name = _INVALID.sub("-", f"{stack_name}.{logical_id}".strip(".")) or "model-package-resource"
    return name[:SESSION_NAME_MAX] if len(name) >= 2 else f"{name}--"[:2]


@dataclass
class RoleCredentials:
    """Assumed-role credentials, cached until shortly before they expire."""

    clock: Callable[[], float] = time.time
    # Per role and session name: each resource's calls carry its own session name.
    _cache: dict[tuple[str, str], tuple[Mapping[str, str], float]] = field(default_factory=dict)

    def for_role(
        self, role: RoleArn, region: str, name: str, deadline: Deadline, make_client: Callable[..., Any] | None = None
    ) -> Mapping[str, str]:
        cached = self._cache.get((role.arn, name))
        if cached is not None and cached[1] - timing.CREDENTIALS_REFRESH_MARGIN > self.clock():
            return cached[0]
        try:
            sts = (make_client or clients.client)("sts", region, deadline)
            response = sts.assume_role(
                RoleArn=role.arn,
                RoleSessionName=name,
                DurationSeconds=timing.ROLE_SESSION_SECONDS,
                **{clients.DEADLINE: deadline},
            )
        except Exception as error:
            if isinstance(error, (RoleError, TimedOut)):
                raise
            code, message, _ = aws_error(error)
            raise RoleError(f"STS AssumeRole: {code}{': ' + message if message else ''}", "RoleArn") from error
        found = response["Credentials"]
        credentials = {
            "aws_access_key_id": found["AccessKeyId"],
            "aws_secret_access_key": found["SecretAccessKey"],
            "aws_session_token": found["SessionToken"],
        }
        self._cache[(role.arn, name)] = (credentials, _epoch(found["Expiration"]))
        return credentials

    def clear(self) -> None:
        """Forget every role's credentials (runners whose STS changes)."""
        self._cache.clear()


def _epoch(expiration: Any) -> float:
    return float(expiration.timestamp()) if hasattr(expiration, "timestamp") else float(expiration)


ROLES = RoleCredentials()
