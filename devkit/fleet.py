"""A fleet of Custom::ModelPackage resources deployed at once, against the local
registry with a throttle (devkit/throttle.py): what `make fleet` (bench/fleet.py)
measures, and what a short profile in the tests checks.

N resources over several stacks, each on its own package version (and a few
packages governed by two stacks at once, each declaring its own metadata key), go
through four phases, each launched all together: Creates, Updates, a replacement
wave (each resource's Update points at another version; once a stack's Updates have
all answered, CloudFormation's Deletes of the old packages), and Deletes. Each event
runs in its own cold process as Lambda runs it (devkit/lambda_process.py, on the
interpreter and code given: the built package on python3.13 -I -B, or the dev
venv), started by devkit/spawner.py, which may also hold them to a concurrency
limit as Lambda's reserved concurrency does.

Per phase: the responses' statuses, the wall time from launch to the last response,
the floor (the time the throttle itself imposes: for each throttled operation, the
calls needed less its burst, divided by its rate; the largest), the requests
admitted and throttled per operation, and peak memory. Afterwards every package
must be as it was before the fleet, and no record name a resource."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .receiver import ResponseReceiver
from .registry import FUNCTION_ACCOUNT, LocalRegistry
from .throttle import TABLE, Throttle

ROOT = Path(__file__).resolve().parent.parent
SPAWNER = ROOT / "devkit" / "spawner.py"
LAMBDA_PROCESS = ROOT / "devkit" / "lambda_process.py"
SERVICE_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:model-package-resource"
DESCRIBE, UPDATE = "DescribeModelPackage", "UpdateModelPackage"
BUCKETS = (DESCRIBE, UPDATE, TABLE)
# What the contract compares of a package (ApprovalDescription and SourceUri "" are
# absent: SageMaker cannot unset them).
FIELDS = ("ModelApprovalStatus", "ApprovalDescription", "SourceUri", "InferenceSpecification", "ModelLifeCycle",
          "ModelCard", "AdditionalInferenceSpecifications")
EMPTIABLE = ("ApprovalDescription", "SourceUri")


@dataclass(frozen=True)
class Limit:
    rate: float  # per second
    burst: float


@dataclass(frozen=True)
class FleetConfig:
    resources: int = 100
    stacks: int = 5
    shared: int = 4  # packages governed by two stacks: that many of the resources are a second governor
    describe: Limit = Limit(5.0, 10.0)
    update: Limit = Limit(2.0, 5.0)
    # The template's table is on-demand: a new one sustains 4,000 writes and 12,000
    # reads a second, one partition 1,000 writes (DynamoDB developer guide, "Initial
    # throughput and scaling properties", "warm throughput"). Its bucket is one
    # partition's writes, the least such a table serves. At 20/s (a provisioned table
    # of 20 units) a fleet of 100 fails a quarter of its events (Prior-state table error).
    table: Limit = Limit(1000.0, 1000.0)
    concurrency: int = 0  # Lambda's reserved concurrency, simulated; 0: none
    retry_cap: float | None = None  # None: the handler's timing.RETRY_CAP
    timeout_ms: int = 240_000  # template.yaml's Timeout
    service_timeout: int = 300  # what the consumer stacks declare
    python: tuple[str, ...] = ()  # each event's interpreter command; default: this one
    code_dir: Path | None = None  # the function's code; default: handler/

    def limits(self) -> dict[str, tuple[float, float]]:
        return {DESCRIBE: (self.describe.rate, self.describe.burst), UPDATE: (self.update.rate, self.update.burst),
                TABLE: (self.table.rate, self.table.burst)}


@dataclass(frozen=True)
class Resource:
    stack: str
    stack_id: str
    logical_id: str
    arns: tuple[str, str]  # its package, and the one the replacement wave moves it to
    key_only: bool = False  # a second governor of a package: only its own metadata key

    def properties(self, release: str, package: int) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "ServiceToken": SERVICE_TOKEN, "ModelPackageArn": self.arns[package],
            "CustomerMetadataProperties": {f"{self.stack}-release": release},
        }
        if not self.key_only:
            properties["ModelApprovalStatus"] = "Approved"
            properties["ApprovalDescription"] = f"{release}, approved by the release train"
        return properties


@dataclass
class Event:
    resource: Resource
    body: dict[str, Any]

    @property
    def request_id(self) -> str:
        return str(self.body["RequestId"])


@dataclass
class PhaseResult:
    name: str
    events: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)  # of FAILED events, a few
    wall: float = 0.0  # launch to the last response, seconds
    floor: float = 0.0
    binding: str = ""  # the operation whose throttle sets the floor
    minimum: dict[str, int] = field(default_factory=dict)
    admitted: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    event_rss_mb: float = 0.0  # the largest per-event process
    registry_rss_mb: float = 0.0  # this process's high-water mark (it hosts the registry)
    queue_retries: int = 0  # tries that found no free slot (concurrency limit)
    # When, from the launch, the binding operation's first and last calls were admitted:
    # before the first, the fleet was starting (cold starts share this machine's cores).
    first_call: float = 0.0
    last_call: float = 0.0
    leaks: int = 0  # event outputs carrying the ResponseURL's signature

    @property
    def ratio(self) -> float:
        return self.wall / self.floor if self.floor > 0 else float("inf")

    @property
    def succeeded(self) -> bool:
        return self.statuses.get("SUCCESS", 0) == self.events


@dataclass
class FleetResult:
    config: FleetConfig
    phases: list[PhaseResult] = field(default_factory=list)
    packages: int = 0
    changed: list[str] = field(default_factory=list)  # packages not as before the fleet
    records_left: int = 0

    @property
    def all_succeeded(self) -> bool:
        return all(phase.succeeded for phase in self.phases)

    @property
    def restored(self) -> bool:
        return not self.changed and self.records_left == 0


def run_fleet(config: FleetConfig, registry: LocalRegistry, receiver: ResponseReceiver,
              progress: Callable[[str], None] = lambda line: None) -> FleetResult:
    """Seed the registry, play the four phases, check what is left. The registry is
    reset first, and its throttle removed at the end."""
    resources, packages = _seed(config, registry)
    before = {arn: image(registry, arn) for arn in packages}
    result = FleetResult(config, packages=len(packages))
    registry.throttle = Throttle(config.limits())
    work = Path(tempfile.mkdtemp(prefix="fleet-"))
    try:
        fleet = _Fleet(config, registry, receiver, work)
        creates = [fleet.event("Create", r, r.properties("r1", 0)) for r in resources]
        result.phases.append(fleet.phase("create", creates))
        progress(_line(result.phases[-1]))
        result.phases.append(fleet.phase("update", [
            fleet.event("Update", r, r.properties("r2", 0), old=r.properties("r1", 0), physical=r.arns[0])
            for r in resources]))
        progress(_line(result.phases[-1]))
        result.phases.append(fleet.replacement(resources))
        progress(_line(result.phases[-1]))
        result.phases.append(fleet.phase("delete", [
            fleet.event("Delete", r, r.properties("r2", 1), physical=r.arns[1]) for r in resources]))
        progress(_line(result.phases[-1]))
    finally:
        registry.throttle = None
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    for arn, was in before.items():
        now = image(registry, arn)
        if now != was:
            changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            result.changed.append(f"{arn.rpartition(':')[2]}: {', '.join(changed)}")
    result.records_left = len(records(registry))
    return result


def _line(phase: PhaseResult) -> str:
    return (f"{phase.name}: {dict(phase.statuses)} in {phase.wall:.1f} s, floor {phase.floor:.1f} s "
            f"(x{phase.ratio:.2f}), throttled {phase.throttled}")


class _Fleet:
    def __init__(self, config: FleetConfig, registry: LocalRegistry, receiver: ResponseReceiver, work: Path) -> None:
        self.config, self.registry, self.receiver, self.work = config, registry, receiver, work
        self.seen = 0  # responses of earlier phases already read
        code_dir = config.code_dir or ROOT / "handler"
        self.command = [*(config.python or (sys.executable,)), str(LAMBDA_PROCESS), "--code-dir", str(code_dir),
                        "--timeout-ms", str(config.timeout_ms)]
        if config.retry_cap is not None:
            self.command += ["--retry-cap", str(config.retry_cap)]
        self.env = {
            "PATH": os.environ.get("PATH", ""), **registry.environment(), **receiver.environment(),
            "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_DEV": "false", "LAMBDA_TASK_ROOT": str(code_dir),
            "AWS_LAMBDA_FUNCTION_NAME": "model-package-resource", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        }

    def event(self, request_type: str, resource: Resource, properties: dict[str, Any], *,
              old: dict[str, Any] | None = None, physical: str | None = None) -> Event:
        """The event CloudFormation sends, its ResponseURL signed now."""
        request_id = str(uuid.uuid4())
        body: dict[str, Any] = {
            "RequestType": request_type, "ServiceToken": SERVICE_TOKEN,
            "ResponseURL": self.receiver.url(f"/{resource.stack}/{resource.logical_id}/{request_id}"),
            "StackId": resource.stack_id, "RequestId": request_id, "LogicalResourceId": resource.logical_id,
            "ResourceType": "Custom::ModelPackage",
            "ResourceProperties": {**properties, "ServiceTimeout": str(self.config.service_timeout)},
        }
        if old is not None:
            body["OldResourceProperties"] = {**old, "ServiceTimeout": str(self.config.service_timeout)}
        if physical is not None:
            body["PhysicalResourceId"] = physical
        return Event(resource, body)

    def phase(self, name: str, events: list[Event],
              follow: Callable[[Event, dict[str, Any] | None], list[Event]] = lambda event, body: []) -> PhaseResult:
        """Launch `events` together; `follow` gives the events to launch once one has
        answered (CloudFormation's next step). Waits for every event to end."""
        throttle = self.registry.throttle
        assert throttle is not None
        throttle.refill()  # as after an idle time: each bucket holds its burst
        result = PhaseResult(name)
        played: dict[str, Event] = {}
        bodies: dict[str, dict[str, Any]] = {}
        spawner = subprocess.Popen(  # noqa: S603 - our own script, on this interpreter
            [sys.executable, "-I", "-S", str(SPAWNER), str(self.config.concurrency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert spawner.stdin is not None and spawner.stdout is not None
        started = time.monotonic()
        waiting = self._launch(spawner.stdin, events, played)
        rss: list[float] = []
        for line in spawner.stdout:
            done = json.loads(line)
            waiting -= 1
            rss.append(done["rss_kb"] / 1024)
            result.queue_retries += int(done["tries"]) - 1
            event = played[done["id"]]
            if done["code"] != 0:
                tail = (self.work / f"{event.request_id}.out").read_text(errors="replace").strip()[-300:]
                result.reasons.append(f"{event.resource.logical_id}: process exited {done['code']}: {tail}")
            self._read_responses(bodies)
            waiting += self._launch(spawner.stdin, follow(event, bodies.get(event.request_id)), played)
            if waiting == 0:
                spawner.stdin.close()
        spawner.wait()
        self._read_responses(bodies)
        answered = [r.at for r in self.receiver.received if r.json().get("RequestId") in played]
        result.wall = (max(answered) if answered else time.monotonic()) - started
        result.events = len(played)
        for request_id, event in played.items():
            body = bodies.get(request_id)
            status = str(body.get("Status")) if body else "NO RESPONSE"
            result.statuses[status] += 1
            output = (self.work / f"{request_id}.out").read_text(errors="replace")
            if status != "SUCCESS" and len(result.reasons) < 5:
                reason = str((body or {}).get("Reason", "")) or _last_error(output)
                result.reasons.append(f"{event.resource.logical_id} {event.body['RequestType']}: {status} {reason}")
            if "X-Amz-Signature" in output:
                result.leaks += 1
        # One describe and one update per event (two events racing for one package's
        # record may describe again: the one that lost plans again).
        result.minimum = {DESCRIBE: len(played), UPDATE: len(played)}
        for bucket in BUCKETS:
            result.admitted[bucket], result.throttled[bucket] = throttle.counts(bucket)
        needed = {**result.minimum, TABLE: result.admitted[TABLE]}  # the table's: as many as it took
        floors = {b: max(needed[b] - limit[1], 0) / limit[0] for b, limit in self.config.limits().items()}
        result.binding = max(floors, key=lambda b: floors[b])
        result.floor = floors[result.binding]
        admitted_at = throttle.admitted_at.get(result.binding) or [started]
        result.first_call, result.last_call = admitted_at[0] - started, admitted_at[-1] - started
        result.event_rss_mb = max(rss, default=0.0)
        result.registry_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result

    def replacement(self, resources: list[Resource]) -> PhaseResult:
        """Each resource's Update to its other package; once all of a stack's Updates
        answered SUCCESS, CloudFormation deletes the old packages (the stack's cleanup)."""
        updates = [self.event("Update", r, r.properties("r2", 1), old=r.properties("r2", 0), physical=r.arns[0])
                   for r in resources]
        pending = Counter(r.stack for r in resources)
        failed: set[str] = set()

        def follow(event: Event, body: dict[str, Any] | None) -> list[Event]:
            if event.body["RequestType"] != "Update":
                return []
            stack = event.resource.stack
            pending[stack] -= 1
            if (body or {}).get("Status") != "SUCCESS":
                failed.add(stack)  # the stack rolls back instead: no cleanup
            if pending[stack] or stack in failed:
                return []
            return [self.event("Delete", r, r.properties("r2", 0), physical=r.arns[0])
                    for r in resources if r.stack == stack]

        return self.phase("replacement", updates, follow)

    def _launch(self, stdin: Any, events: Iterable[Event], played: dict[str, Event]) -> int:
        count = 0
        for event in events:
            source, out = self.work / f"{event.request_id}.json", self.work / f"{event.request_id}.out"
            source.write_text(json.dumps(event.body))
            job = {"id": event.request_id, "stdin": str(source), "out": str(out), "env": self.env,
                   "argv": [*self.command, "--result", str(self.work / f"{event.request_id}.result")]}
            played[event.request_id] = event
            stdin.write(json.dumps(job) + "\n")
            count += 1
        stdin.flush()
        return count

    def _read_responses(self, bodies: dict[str, dict[str, Any]]) -> None:
        received = self.receiver.received
        for answer in received[self.seen:]:
            body = answer.json()
            bodies[str(body.get("RequestId"))] = body
        self.seen = len(received)


def _last_error(output: str) -> str:
    """The last error the event's process logged (JSON lines), for an event with no response."""
    for line in reversed(output.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") == "ERROR":
            return f"{entry.get('message')}: {entry.get('detail') or entry.get('reason') or ''}"
    return output.strip()[-200:]


def _seed(config: FleetConfig, registry: LocalRegistry) -> tuple[list[Resource], list[str]]:
    """Two package versions per primary resource (its own and the replacement's),
    as a pipeline leaves them: Rejected (so that an approval given back returns to
    exactly what it was), with the pipeline's own metadata."""
    primaries = config.resources - config.shared
    if primaries < 1 or config.shared > primaries or config.stacks < 1:
        raise ValueError("need at least one resource per shared package, and a stack")
    registry.reset()
    per_group = 50
    versions = 2 * primaries
    groups = [{"name": f"fleet-{g}", "versions": [
        {"approval": "Rejected", "metadata": {"pipeline-execution": f"exec-{v}"}}
        for v in range(g * per_group, min((g + 1) * per_group, versions))]}
        for g in range((versions + per_group - 1) // per_group)]
    seed = Path(tempfile.mkstemp(suffix=".json")[1])
    try:
        seed.write_text(json.dumps({"groups": groups}))
        arns = list(registry.seed(seed).values())
    finally:
        seed.unlink()
    stacks = [(f"release-train-{s}", f"arn:aws:cloudformation:eu-west-1:{FUNCTION_ACCOUNT}:stack/release-train-{s}/"
               f"{uuid.uuid4()}") for s in range(config.stacks)]
    resources = [Resource(*stacks[i % config.stacks], f"Approve{i}", (arns[2 * i], arns[2 * i + 1]))
                 for i in range(primaries)]
    # The second governors: a package of another stack, and its own metadata key.
    resources += [Resource(*stacks[(i + 1) % config.stacks], f"Record{i}", resources[i].arns, key_only=True)
                  for i in range(config.shared)]
    return resources, arns


def image(registry: LocalRegistry, arn: str) -> dict[str, Any]:
    """What the contract compares of a package: its metadata and fields."""
    live = registry.client_of(arn).describe_model_package(ModelPackageName=arn)
    state: dict[str, Any] = {"metadata": dict(live.get("CustomerMetadataProperties") or {})}
    for name in FIELDS:
        value = live.get(name)
        state[name] = None if (name in EMPTIABLE and value == "") else value
    return state


def records(registry: LocalRegistry) -> list[str]:
    """What the packages' records still name a resource as managing (or leasing):
    none, once every resource of the fleet is deleted."""
    import json

    from model_package_resource.record import decode_ownership
    from model_package_resource.table import PACKAGE_RECORD

    items = registry.table_items()
    named = []
    for item in items:
        if item["ResourceKey"]["S"] != PACKAGE_RECORD:
            named.append(f"{item['ModelPackageArn']['S']}: a record of the earlier format")
            continue
        ownership = decode_ownership(json.loads(item["Ownership"]["S"]))
        named += [f"{item['ModelPackageArn']['S']}: {key[1]}" for key, entry in ownership.entries.items()
                  if entry.managers]
        if "Lease" in item:
            named.append(f"{item['ModelPackageArn']['S']}: leased")
    return named
