"""Domain errors. Each carries the cause, the property path and the detail, so that
the FAILED Reason can put the cause first and name the path."""

from __future__ import annotations

import difflib


class ResourceError(Exception):
    """A failure that the resource reports to CloudFormation as FAILED."""

    cause = "Error"

    def __init__(self, detail: str, path: str | None = None, *, maybe_applied: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.path = path
        # A call that failed this way may still have been applied (no answer, a
        # server error): its revert is sent all the same.
        self.maybe_applied = maybe_applied

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.cause}{where}: {self.detail}"


class InvalidProperty(ResourceError):
    cause = "Invalid property"


class UnknownProperty(ResourceError):
    cause = "Unknown property"


class InvalidEvent(ResourceError):
    cause = "Invalid event"


class MetadataConflict(ResourceError):
    cause = "Metadata conflict"


class SpecificationConflict(ResourceError):
    cause = "Inference specification conflict"


class PackageNotFound(ResourceError):
    cause = "Model package not found"


class PackageUnavailable(ResourceError):
    cause = "Model package unavailable"


class SageMakerError(ResourceError):
    cause = "SageMaker error"


class ConcurrentUpdate(SageMakerError):
    """SageMaker's ConflictException: someone else changed the package meanwhile."""


class TimedOut(ResourceError):
    cause = "Timed out"


class Superseded(ResourceError):
    """An event signed before the last one its resource answered (a late delivery
    of it): CloudFormation has moved on, so it is not carried out."""

    cause = "Superseded"


class AccessDenied(SageMakerError):
    cause = "Access denied"


class RoleError(ResourceError):
    """STS refused or throttled the AssumeRole of the resource's RoleArn."""

    cause = "Cannot assume role"


class PriorStateError(ResourceError):
    """The prior-state table cannot be read or written: nothing is changed."""

    cause = "Prior-state table error"


class RevertIncomplete(ResourceError):
    """A failed event whose revert could not give everything back."""

    cause = "Failed and not fully reverted"


class OwnershipConflict(ResourceError):
    """Another resource manages the item with a different declared value."""

    cause = "Ownership conflict"


class RuleRefusal(ResourceError):
    """A declared change that SageMaker's rules (rules.py) refuse, before any call."""

    cause = "Refused by SageMaker's rules"


class Refused(SageMakerError):
    """SageMaker refused a call (a ValidationException): a release so refused is left."""


class RecordChanged(PriorStateError):
    """A conditional write to the record lost: another event wrote it first. Carries
    what the table holds now (the record, or None when there is none)."""

    def __init__(self, detail: str, current: object, path: str | None = None) -> None:
        super().__init__(detail, path)
        self.current = current


def aws_error(error: BaseException) -> tuple[str, str, int | None]:
    """(code, message, HTTP status) of an error from botocore: a service's answer
    (ClientError), or a transport error (no answer: its class name, no status)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        info = response["Error"]
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(info.get("Code") or "Error"), str(info.get("Message") or ""), int(status) if status else None
    return type(error).__name__, "", None


# --- words for errors ------------------------------------------------------------


def unknown_name(name: object, allowed: list[str]) -> str:
    suggestion = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {suggestion[0]}?" if suggestion else ""
    return f"{preview(name)} is not a property{hint}"


def kind_of(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "a map", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def preview(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
