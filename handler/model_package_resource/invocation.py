"""One event, carried out: the thin layer that joins the pure core (request, plan,
record) to SageMaker and the record table, through a Transaction per attempt.

An attempt reads the package's record (waiting while another event holds its
lease), answers a redelivered event as it was answered, describes the package,
settles what an earlier event left unconfirmed, plans, and, when there is
anything to change, leases the record with its intent, makes the calls and
confirms. A lost race for the record, or SageMaker's ConflictException, is
planned again from a fresh read and description."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from . import timing
from .errors import ConcurrentUpdate, RecordChanged, ResourceError, RevertIncomplete, Superseded, TimedOut
from .ownership import Answer, Ownership, ResourceInfo
from .plan import declared_items, plan, started
from .record import Record, fold, resolved, settle
from .request import FAILED_CREATE_PREFIX
from .response import Status, reason_for, resource_data
from .sagemaker import package_status
from .table import IDLE_KEPT_SECONDS, RecordTable
from .transaction import Gateway, Progress, Records, Transaction, answered

if TYPE_CHECKING:
    import threading

    from .arns import PackageArn, RoleArn
    from .credentials import RoleCredentials
    from .properties import Properties
    from .request import Identity, Request
    from .timing import Deadline


class Caller(Protocol):
    """Who a gateway acts for: a CloudFormation event's Request, or the drift check
    of an EventBridge event. Its RequestId goes into each ClientToken; its stack and
    logical id name the session of a RoleArn's role."""

    @property
    def identity(self) -> Identity: ...

    @property
    def stack_name(self) -> str: ...


GatewayFactory = Callable[["PackageArn", "RoleArn | None", "Deadline", Caller], Gateway]
RecordsFactory = Callable[["Deadline"], Records]


@dataclass(frozen=True)
class Services:
    """What an invocation talks to: the real ones by default, fakes in tests."""

    sagemaker: GatewayFactory
    records: RecordsFactory


@dataclass(frozen=True)
class Outcome:
    status: Status
    physical_resource_id: str
    data: Mapping[str, str] = field(default_factory=dict)
    calls: tuple[Mapping[str, Any], ...] = ()
    reverts: int = 0
    releases: int = 0
    left: int = 0
    unrecorded: int = 0
    warnings: tuple[str, ...] = ()
    error: BaseException | None = None


class AnsweredBefore(ResourceError):
    """A redelivered event whose first delivery answered FAILED: the same Reason."""

    def __str__(self) -> str:
        return self.detail


def run(request: Request, deadline: Deadline, services: Services, changed: threading.Event | None = None) -> Outcome:
    """Carry the event out; never raises. `changed` is set once a call may have
    changed the package."""
    progress = Progress(warnings=[f"not released: {s}" for s in request.skipped])
    declared = request.declared
    try:
        if declared is None:
            return _done("SUCCESS", request.identity.failure_id(), progress)
        if request.kind == "replacement-rollback" and request.abandoned is not None:
            _release_abandoned(request, request.abandoned, deadline, services, progress, changed)
        # One owner for every attempt of this invocation: a lease of its own that an
        # earlier attempt could not give back is its own, not another event's to wait for.
        owner = uuid.uuid4().hex
        answer = _replanning(lambda: _attempt(request, declared, deadline, services, progress, changed, owner),
                             deadline)
        if answer.status == "SUCCESS":
            return _done("SUCCESS", answer.physical, progress, data=answer.data)
        return _done("FAILED", answer.physical, progress, error=AnsweredBefore(answer.reason))
    except RevertIncomplete as error:
        create = declared is not None and request.request_type == "Create"
        physical = declared.package.arn if create and declared else request.identity.failure_id()
        return _done("FAILED", physical, progress, error=error)
    except Exception as error:  # noqa: BLE001 - every failure must become one FAILED response
        return _done("FAILED", request.identity.failure_id(), progress, error=error)


def _done(status: Status, physical: str, progress: Progress, **more: Any) -> Outcome:
    return Outcome(
        status,
        physical,
        calls=tuple(progress.calls),
        reverts=progress.reverts,
        releases=progress.releases,
        left=progress.left,
        unrecorded=progress.unrecorded,
        warnings=tuple(progress.warnings),
        **more,
    )


def _attempt(
    request: Request,
    declared: Properties,
    deadline: Deadline,
    services: Services,
    progress: Progress,
    changed: threading.Event | None,
    owner: str,
    *,
    abandoned: bool = False,
) -> Answer:
    identity = request.identity
    releasing = request.kind == "release"
    physical = identity.failure_id() if releasing else declared.package.arn
    gateway = services.sagemaker(declared.package, declared.role, deadline, request)
    txn = Transaction(services.records(deadline), gateway, declared.package.arn, identity.resource,
                      identity.request_id, deadline, progress, changed, owner=owner,
                      answer_for=lambda error: _failed_answer(request, error))
    record = txn.read()
    info = record.ownership.resources.get(identity.resource)
    if info is not None and info.last is not None and info.last.request == identity.request_id:
        return info.last  # a redelivery: answered as the first delivery was
    if info is not None and info.last is not None and _superseded(request, info.last):
        raise Superseded(
            f"this resource's later event ({info.last.request}) was answered already; this one, signed before it, "
            "is a late delivery and is not carried out",
            "ModelPackageArn",
        )
    managing = record.ownership.managed_by(identity.resource) or any(
        entry.left is not None and entry.left.resource == identity.resource
        for entry in record.ownership.entries.values()
    )
    # The Delete of a Create that failed before it could write anything: what the
    # record holds under this resource's id is an earlier resource's (kept by
    # DeletionPolicy: Retain), forgotten as that Create would have, never released.
    earlier = releasing and managing and _earlier_incarnation(identity, info)
    if earlier and record.lease is None:
        txn.write(record, record.ownership.forget(identity.resource))
        return _answer(request, "SUCCESS", physical)
    if releasing and record.lease is None and record.legacy is None and not managing:
        if info is None and not abandoned and identity.physical_id == declared.package.arn:
            progress.unrecorded += 1
            progress.warnings.append("no record of this resource on the package: nothing released")
        answer = _answer(request, "SUCCESS", physical)
        if info is not None and info.gone_at is None:  # gone, with nothing to give back: a late event is known late
            gone = record.ownership.with_resource(identity.resource, replace(info, gone_at=time.time(), last=answer))
            _best_effort(txn, record, gone, progress)
        return answer
    live = gateway.describe() if releasing else gateway.describe_ready()
    now = time.time()
    if live is None or package_status(live) == "Deleting":
        answer = _answer(request, "SUCCESS", physical)  # nothing left to give back
        _forget(txn, record, identity.resource, answer, now, progress)
        return answer
    base = record.ownership
    if record.lease is not None:
        base = settle(base, record.lease, live)  # an earlier event's intent, never confirmed
    if earlier:  # another event's intent settled first: it is not this Delete's to drop
        txn.write(record, base.forget(identity.resource))
        return _answer(request, "SUCCESS", physical)
    if record.legacy is not None and request.kind != "create":
        owned = request.baseline if request.baseline is not None else declared
        base = fold(base, record.legacy, declared_items(owned), live)
    base = started(request, resolved(base, live).pruned(now - IDLE_KEPT_SECONDS))
    try:
        planned = plan(request, live, base, now)
    except ResourceError as error:  # refused before any call: the answer is kept, for a redelivery
        failed = _failed_answer(request, error)
        if failed is not None and identity.resource in base.resources:
            _best_effort(txn, record, answered(base, identity.resource, failed), progress)
        raise
    data = {} if releasing else resource_data(live, [call.request for call in planned.calls])
    answer = _answer(request, "SUCCESS", physical, data=data)
    if not planned.calls:
        if planned.intent != record.ownership or record.lease is not None or record.legacy is not None:
            txn.write(record, answered(planned.intent, identity.resource, answer))
    else:
        txn.begin(record, base, planned)
        txn.commit(txn.apply(live), answer)
    if record.legacy is not None:
        _remove_legacy(services, deadline, record, progress)
    # What the plan says, counted once: for the attempt that carried the event out.
    progress.warnings += planned.warnings
    progress.releases += planned.releases
    progress.left += len(planned.left)
    return answer


def _answer(request: Request, status: str, physical: str, reason: str = "",
            data: Mapping[str, str] | None = None) -> Answer:
    """The event's answer, dated by CloudFormation's signature of it."""
    return Answer(request.identity.request_id, status, physical, reason, dict(data or {}), request.signed_at)


def _superseded(request: Request, last: Answer) -> bool:
    """Signed before the last event its resource answered: CloudFormation sends a
    resource's events one after the other, each once the one before was answered, so
    this one is a late delivery of an event already done with (a Lambda redelivery).
    A Create whose failed-create id was deleted already is one too, in the same
    second as well."""
    if request.request_type == "Create" and last.physical == FAILED_CREATE_PREFIX + request.identity.request_id:
        return True
    return request.signed_at is not None and last.signed_at is not None and request.signed_at < last.signed_at


def _best_effort(txn: Transaction, record: Record, ownership: Ownership, progress: Progress) -> None:
    """A write of the record that the event's answer does not depend on."""
    try:
        txn.write(record, ownership)
    except ResourceError as error:
        progress.warnings.append(f"the record was not updated ({error})")


def _earlier_incarnation(identity: Identity, info: ResourceInfo | None) -> bool:
    """A Delete whose id is a failed Create's (failed-create/REQUEST_ID) while the
    record's resource was created by another request: that Create wrote nothing."""
    physical = identity.physical_id or ""
    if not physical.startswith(FAILED_CREATE_PREFIX):
        return False
    return info is None or info.created != physical.removeprefix(FAILED_CREATE_PREFIX)


def _failed_answer(request: Request, error: BaseException) -> Answer | None:
    """What a failed event answers (and its redelivery with it); None for a conflict,
    after which the event plans again."""
    if isinstance(error, ConcurrentUpdate):
        return None
    physical = request.identity.failure_id()
    if isinstance(error, RevertIncomplete) and request.request_type == "Create" and request.package is not None:
        physical = request.package.arn  # so that CloudFormation's Delete releases it
    return _answer(request, "FAILED", physical, reason_for(error))


def _forget(txn: Transaction, record: Any, resource: str, answer: Answer, now: float, progress: Progress) -> None:
    """A package that no longer exists: this resource's entries are forgotten, best
    effort (a Delete of a missing package succeeds, whatever the table says)."""
    if record.version == 0:
        return
    try:
        forgotten = record.ownership.forget(resource).with_resource(resource, ResourceInfo(gone_at=now, last=answer))
        txn.write(record, forgotten)
    except ResourceError as error:
        progress.warnings.append(f"the record of a missing package was left: {error}")


def _remove_legacy(services: Services, deadline: Deadline, record: Any, progress: Progress) -> None:
    """The folded record of the earlier format goes, best effort (folding is idempotent)."""
    try:
        remove = getattr(services.records(deadline), "remove_legacy", None)
        if remove is not None:
            remove(record.legacy, record.package)
    except ResourceError as error:
        progress.warnings.append(f"the record of the earlier format was left: {error}")


def _release_abandoned(
    request: Request,
    abandoned: Properties,
    deadline: Deadline,
    services: Services,
    progress: Progress,
    changed: threading.Event | None,
) -> None:
    """The rollback of a failed replacement: what the failed event left on the other
    package (the record shows) is released, best effort: a rollback must not fail
    on the other package."""
    releasing = replace(request, kind="release", declared=abandoned, baseline=None, abandoned=None)
    owner = uuid.uuid4().hex
    try:
        _replanning(lambda: _attempt(releasing, abandoned, deadline, services, progress, changed, owner,
                                     abandoned=True), deadline)
    except Exception as error:  # noqa: BLE001 - a rollback must not fail on the other package
        progress.warnings.append(f"{abandoned.package.arn} not released: {reason_for(error)}")


def _replanning(work: Callable[[], Answer], deadline: Deadline) -> Answer:
    """Plan again after SageMaker's ConflictException (the package changed under us;
    a few times), or a lost race for the package's record (another event leased it
    first; for as long as time allows): both start from a fresh read."""
    conflicts = 0
    while True:
        try:
            return work()
        except ConcurrentUpdate:
            conflicts += 1
            if conflicts >= timing.PLAN_ATTEMPTS:
                raise
        except RecordChanged:
            pause = random.random() * timing.LEASE_POLL_FIRST  # noqa: S311 - jitter, not a secret
            if deadline.work_remaining() - pause < deadline.attempt_seconds:
                raise TimedOut("the package's record kept changing under this event", "ModelPackageArn") from None
            time.sleep(pause)


def default_services(
    make_client: Callable[..., Any] | None = None, roles: RoleCredentials | None = None
) -> Services:
    """The real services: botocore clients (made on first use, cached) and the
    record table; `make_client` and `roles` replace them in tests."""
    from . import clients
    from .credentials import ROLES, session_name
    from .logs import audit_request
    from .sagemaker import SageMakerGateway

    make = make_client or clients.client
    assumed = roles or ROLES

    def sagemaker(package: PackageArn, role: RoleArn | None, deadline: Deadline, request: Caller) -> Gateway:
        credentials = None
        if role is not None:
            name = session_name(request.stack_name, request.identity.logical_id)
            credentials = assumed.for_role(role, package.region, name, deadline, make)
        return SageMakerGateway(
            make("sagemaker", package.region, deadline, credentials),
            deadline,
            request.identity.request_id,
            package,
            role,
            on_request=audit_request,
        )

    return Services(sagemaker=sagemaker, records=lambda deadline: RecordTable(deadline, make_client=make_client))


__all__ = ["Caller", "Outcome", "Services", "default_services", "run"]
