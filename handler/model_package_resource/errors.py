"""Domain errors. Each carries the cause, the property path and the detail, so that
the FAILED Reason can put the cause first and name the path."""

from __future__ import annotations


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
