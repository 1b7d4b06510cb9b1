"""One event, carried out: the thin layer that joins the pure core (request, plan)
to SageMaker and the prior-state table, and keeps every event atomic.

Before its first call the invocation holds the package as described (the
pre-image) and writes the record of priors that the plan needs. When a call fails
or time runs short, it reverts the calls already applied, newest first, in the
time kept for that, and puts the record back. What could not be given back is
named in the Reason; a failed Create then answers with the package ARN, so that
CloudFormation's Delete releases it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import timing
from .errors import ConcurrentUpdate, ResourceError, RevertIncomplete
from .plan import Plan, plan, plan_release, plan_revert
from .prior_state import PriorStateTable, Record, RecordKey, restore
from .response import Status, reason_for, resource_data
from .sagemaker import SageMakerGateway

if TYPE_CHECKING:
    from .arns import PackageArn, RoleArn
    from .credentials import RoleCredentials
    from .request import Request
    from .timing import Budget


class Gateway(Protocol):
    def describe(self) -> dict[str, Any] | None: ...
    def describe_ready(self) -> dict[str, Any]: ...
    def update(self, request: Mapping[str, Any]) -> None: ...


class PriorState(Protocol):
    def load(self, key: RecordKey) -> Record | None: ...
    def save(self, key: RecordKey, priors: Any, previous: Record | None) -> Record: ...
    def remove(self, key: RecordKey, previous: Record) -> None: ...
    def release(self, key: RecordKey, previous: Record) -> None: ...


GatewayFactory = Callable[["PackageArn", "RoleArn | None", "Budget", "Request"], Gateway]
PriorStateFactory = Callable[["Budget"], PriorState]


@dataclass(frozen=True)
class Services:
    """What an invocation talks to: the real ones by default, fakes in tests."""

    sagemaker: GatewayFactory
    prior_state: PriorStateFactory


@dataclass(frozen=True)
class Outcome:
    status: Status
    physical_resource_id: str
    data: Mapping[str, str] = field(default_factory=dict)
    calls: tuple[Mapping[str, Any], ...] = ()
    reverts: int = 0
    releases: int = 0
    warnings: tuple[str, ...] = ()
    error: BaseException | None = None


@dataclass
class _Progress:
    """The worker's own record of what it did; the response path never shares it."""

    calls: list[Mapping[str, Any]] = field(default_factory=list)
    reverts: int = 0
    releases: int = 0
    warnings: list[str] = field(default_factory=list)


def run(request: Request, budget: Budget, services: Services) -> Outcome:
    """Carry the event out; never raises."""
    progress = _Progress(warnings=[f"not released: {s}" for s in request.skipped])
    package = request.package
    try:
        if package is None or request.declared is None:
            return Outcome("SUCCESS", request.identity.failure_id(), warnings=tuple(progress.warnings))
        if request.kind == "replacement-rollback" and request.abandoned is not None:
            _release_abandoned(request, budget, services, progress)
        gateway = services.sagemaker(package, request.declared.role, budget, request)
        table = services.prior_state(budget)
        key = RecordKey.of(request.identity.stack_id, request.identity.logical_id, package.arn)
        data = _replanning(lambda: _converge(request, gateway, table, key, budget, progress))
        return _done("SUCCESS", package.arn, progress, data=data)
    except RevertIncomplete as error:
        physical = package.arn if package and request.request_type == "Create" else request.identity.failure_id()
        return _done("FAILED", physical, progress, error=error)
    except Exception as error:  # noqa: BLE001 - every failure must become one FAILED response
        return _done("FAILED", request.identity.failure_id(), progress, error=error)


def _done(status: Status, physical: str, progress: _Progress, **more: Any) -> Outcome:
    return Outcome(
        status,
        physical,
        calls=tuple(progress.calls),
        reverts=progress.reverts,
        releases=progress.releases,
        warnings=tuple(progress.warnings),
        **more,
    )


def _converge(
    request: Request, gateway: Gateway, table: PriorState, key: RecordKey, budget: Budget, progress: _Progress
) -> dict[str, str]:
    if request.kind == "release":
        live = gateway.describe()
        if live is None or str(live.get("ModelPackageStatus")) == "Deleting":
            _forget(table, key, progress)  # nothing left to give back
            return {}
        record = table.load(key)
        if record is not None and record.released:
            return {}  # a redelivered Delete: the first gave everything back
    else:
        live = gateway.describe_ready()
        record = table.load(key)
    # A released record (the resource was deleted, and is made again) holds nothing.
    held = record.priors if record is not None and not record.released else None
    planned = plan(request, live, held)
    progress.warnings += planned.warnings
    written = record
    if planned.recorded is not None and (held is None or planned.recorded != held):
        # Before the change it records, every prior old and new: a change is never made
        # that could not be undone, and none is forgotten until the event succeeded.
        written = table.save(key, planned.recorded, record)
    finish: Callable[[], None] | None = None
    if planned.priors is None and written is not None:
        done = written
        finish = lambda: table.release(key, done)  # noqa: E731 - the record goes with the release
    _apply_atomically(gateway, table, key, live, planned, written, record, budget, progress, finish)
    if written is not None and planned.priors is not None and planned.priors != written.priors:
        try:  # the released priors dropped, now that the release is made
            table.save(key, planned.priors, written)
        except ResourceError as error:
            progress.warnings.append(f"released priors still in the record (harmless): {error}")
    progress.releases += planned.releases
    return {} if request.kind == "release" else resource_data(live, planned.calls)


def _forget(table: PriorState, key: RecordKey, progress: _Progress) -> None:
    """A package that no longer exists: its record is marked released, best effort (a
    Delete for a missing package succeeds, whatever the table says)."""
    try:
        record = table.load(key)
        if record is not None and not record.released:
            table.release(key, record)
    except ResourceError as error:
        progress.warnings.append(f"the prior-state record of a missing package was left: {error}")


def _apply_atomically(
    gateway: Gateway,
    table: PriorState,
    key: RecordKey,
    live: Mapping[str, Any],
    planned: Plan,
    written: Record | None,
    previous: Record | None,
    budget: Budget,
    progress: _Progress,
    finish: Callable[[], None] | None = None,
) -> None:
    """Make the plan's calls, then `finish` (the record marked released); when any of
    it fails, revert the calls made and put the record back. A call whose outcome is
    unknown (no answer, a server error) counts as made: its revert, computed from the
    pre-image, changes nothing if it did not land."""
    applied: list[Mapping[str, Any]] = []
    try:
        for call in planned.calls:
            try:
                gateway.update(call)
            except Exception as error:
                if maybe_applied(error):
                    applied.append(call)
                    budget.changed.set()
                raise
            applied.append(call)
            budget.changed.set()
            progress.calls.append(call)
        if finish is not None:
            _finish(finish, table, key)
    except Exception as error:
        budget.reverting = True
        try:
            left = _revert(gateway, live, applied, progress)
            if left:
                # The record keeps every prior (it was written so): a later release gives them back.
                raise RevertIncomplete(
                    f"left changed: {', '.join(left)}; {_cause(error)}", getattr(error, "path", None)
                ) from error
            if written is not previous and written is not None:
                try:
                    restore(table, key, written, previous)
                except ResourceError as restore_error:
                    progress.warnings.append(f"the prior-state record was not put back: {restore_error}")
        finally:
            budget.reverting = False
        raise


def _finish(finish: Callable[[], None], table: PriorState, key: RecordKey) -> None:
    """Mark the record released; when the write's outcome is unknown, read it back:
    released already means done (reverting the release would leave nothing for a
    retried Delete to give back)."""
    try:
        finish()
    except ResourceError:
        try:
            record = table.load(key)
        except ResourceError:
            record = None
        if record is None or not record.released:
            raise


def maybe_applied(error: BaseException) -> bool:
    """Whether a failed call may still have been applied: SageMaker refused it (a 4xx
    answer) means it was not; no answer, a server error or anything unexpected may
    mean it was."""
    if isinstance(error, ResourceError):
        return error.maybe_applied
    return True


def _revert(
    gateway: Gateway,
    pre_image: Mapping[str, Any],
    applied: list[Mapping[str, Any]],
    progress: _Progress,
) -> list[str]:
    """Give back what `applied` changed; returns what is left changed."""
    if not applied:
        return []
    calls, cannot = plan_revert(pre_image, applied)
    left = list(cannot)
    for index, call in enumerate(calls):
        try:
            gateway.update(call)
            progress.reverts += 1
        except Exception as error:  # noqa: BLE001 - say what is left, whatever the cause
            progress.warnings.append(f"revert failed: {reason_for(error)}")
            for remaining in calls[index:]:
                left += _changes_named(remaining)
            break
    return list(dict.fromkeys(left))


def _changes_named(call: Mapping[str, Any]) -> list[str]:
    """What a revert call would have given back: fields by name, metadata by key."""
    names: list[str] = []
    for name, value in call.items():
        if name in ("CustomerMetadataProperties", "CustomerMetadataPropertiesToRemove"):
            names += [f"metadata {key}" for key in value]
        elif name != "ModelPackageArn":
            names.append(name)
    return names


def _release_abandoned(request: Request, budget: Budget, services: Services, progress: _Progress) -> None:
    """The rollback of a failed replacement: what the failed event could not revert
    on the other package (its record is still there) is released, best effort: a
    rollback must not fail on it."""
    abandoned = request.abandoned
    assert abandoned is not None  # noqa: S101 - the caller checked
    key = RecordKey.of(request.identity.stack_id, request.identity.logical_id, abandoned.package.arn)
    try:
        table = services.prior_state(budget)
        record = table.load(key)
        if record is None:
            return
        gateway = services.sagemaker(abandoned.package, abandoned.role, budget, request)
        live = gateway.describe()
        if live is not None:
            planned = plan_release(abandoned, live, record.priors, removing_record=True)
            for call in planned.calls:
                gateway.update(call)
                progress.calls.append(call)
            progress.releases += planned.releases
            progress.warnings += planned.warnings
        table.remove(key, record)
    except Exception as error:  # noqa: BLE001 - a rollback must not fail on the other package
        progress.warnings.append(f"{abandoned.package.arn} not released: {reason_for(error)}")


def _replanning(work: Callable[[], dict[str, str]]) -> dict[str, str]:
    """A ConflictException before any change: describe and plan again."""
    for _ in range(timing.PLAN_ATTEMPTS - 1):
        try:
            return work()
        except ConcurrentUpdate:
            continue
    return work()


def _cause(error: BaseException) -> str:
    """The error without its path, which the enclosing error names already."""
    if isinstance(error, ResourceError):
        return f"{error.cause}: {error.detail}"
    return reason_for(error)


def default_services(
    make_client: Callable[..., Any] | None = None, roles: RoleCredentials | None = None
) -> Services:
    """The real services: botocore clients (made on first use, cached) and the
    prior-state table; `make_client` and `roles` replace them in tests."""
    from . import clients
    from .credentials import ROLES, session_name
    from .logs import audit_request

    make = make_client or clients.client
    assumed = roles or ROLES

    def sagemaker(package: PackageArn, role: RoleArn | None, budget: Budget, request: Request) -> Gateway:
        credentials = None
        if role is not None:
            name = session_name(request.stack_name, request.identity.logical_id)
            credentials = assumed.for_role(role, package.region, name, budget, make)
        return SageMakerGateway(
            make("sagemaker", package.region, budget, credentials),
            budget,
            request.identity.request_id,
            package,
            role,
            on_request=audit_request,
        )

    return Services(sagemaker=sagemaker, prior_state=PriorStateTable)


__all__ = ["Outcome", "Services", "default_services", "run"]
