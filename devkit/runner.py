"""Play CloudFormation's events through the real handler, as CloudFormation would
send them, against the local registry and a real HTTPS ResponseURL receiver.

A scenario is a sequence of stack operations on one resource's properties; the
runner plays the events CloudFormation sends for each (a failed Update is followed
by its rollback, a replacement by the Delete of the old package, a failed Create
by the Delete of its id), prints the response and the package after each step,
and checks that no metadata key the stack never declared was lost or changed.
Two steps look for drift after an out-of-band edit: `event` plays SageMaker's
"Model Package State Change" event through the handler, as EventBridge delivers
it, and `report` runs tools/drift_report.py against the registry.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .receiver import ResponseReceiver
from .registry import LocalRegistry, SeedError, load_document

ROOT = Path(__file__).resolve().parent.parent
SERVICE_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:model-package-resource"
STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/local-demo/00000000-0000-4000-8000-000000000000"
)
OPERATIONS = ("create", "update", "delete", "pipeline", "event", "report")
STATE_CHANGE_EVENT = ROOT / "events" / "model-package-state-change.json"


class ScenarioError(ValueError):
    """A scenario or event that cannot be played; one line naming file and field."""


@dataclass
class Played:
    """One event and what came of it."""

    label: str
    event: dict[str, Any]
    response: dict[str, Any] | None
    logs: str = ""
    calls: dict[str, int] = field(default_factory=dict)  # requests that reached the registry

    @property
    def status(self) -> str:
        return str(self.response.get("Status")) if self.response else "NO RESPONSE"


@dataclass
class Announced:
    """SageMaker's state change event for a package, played through the handler
    (EventBridge's delivery: no response is expected), and what came of it."""

    label: str
    event: dict[str, Any]
    result: dict[str, Any]  # what the handler returned: the drift it found
    logs: str = ""
    calls: dict[str, int] = field(default_factory=dict)  # requests that reached the registry

    @property
    def drifted(self) -> list[dict[str, Any]]:
        return list(self.result.get("Drift") or [])


@dataclass
class Lifecycle:
    """CloudFormation's view of one custom resource, and the runner's record."""

    registry: LocalRegistry
    receiver: ResponseReceiver
    labels: Mapping[str, str] = field(default_factory=dict)
    cold: bool = True
    timeout_ms: int = 60_000
    # Cold invocations only: the interpreter command (e.g. python3.13 -I -B) and the
    # code directory (e.g. the built package); by default this interpreter and handler/.
    python: tuple[str, ...] = ()
    code_dir: Path | None = None
    logical_id: str = "ApproveModel"
    stack_id: str = STACK_ID
    properties: dict[str, Any] | None = None
    physical_id: str | None = None
    declared: set[str] = field(default_factory=set)
    played: list[Played] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # rollbacks refused to protect others' keys
    # Undeclared metadata as the pipeline left it: ARN -> key -> value.
    others: dict[str, dict[str, str]] = field(default_factory=dict)
    announced: list[Announced] = field(default_factory=list)  # SageMaker's events played
    reports: list[tuple[int, str]] = field(default_factory=list)  # drift reports: exit status, table

    def __post_init__(self) -> None:
        for arn in self.labels.values():
            self.others[arn] = dict(self.metadata(arn))

    # --- CloudFormation's events ---------------------------------------------

    def create(
        self, properties: Mapping[str, Any], expect: str = "SUCCESS", redeliver: bool = False
    ) -> Played:
        props = self._resolve(properties)
        played = self._send("Create", props, redeliver=redeliver)
        self._expect(played, expect)
        if played.status == "SUCCESS":
            self.properties, self.physical_id = props, str(played.response["PhysicalResourceId"])  # type: ignore[index]
        else:
            failed_id = str((played.response or {}).get("PhysicalResourceId", "")) or None
            self._send("Delete", props, physical_id=failed_id, label="delete (after the failed create)")
        return played

    def update(
        self, properties: Mapping[str, Any], expect: str = "SUCCESS", redeliver: bool = False
    ) -> Played:
        if self.properties is None:
            raise ScenarioError("update: the resource has not been created")
        old, new = self.properties, self._resolve(properties)
        played = self._send("Update", new, old=old, physical_id=self.physical_id, redeliver=redeliver)
        self._expect(played, expect)
        if played.status == "SUCCESS":
            new_id = str(played.response["PhysicalResourceId"])  # type: ignore[index]
            old_id, self.properties, self.physical_id = self.physical_id, new, new_id
            if new_id != old_id:
                self._send("Delete", old, physical_id=old_id, label="delete (old package, after replacement)")
        else:
            rollback = self._send(
                "Update", old, old=new, physical_id=self.physical_id, label="update (rollback)"
            )
            if rollback.status == "FAILED" and str((rollback.response or {}).get("Reason", "")).startswith(
                "Metadata conflict"
            ):
                # The rollback would take back a key that someone else changed meanwhile:
                # refused before any change, as any Update that starts managing it.
                self.refusals.append(f"{rollback.label}: {rollback.response['Reason']}")  # type: ignore[index]
            else:
                self._expect(rollback, "SUCCESS")
        return played

    def delete(self, expect: str | None = "SUCCESS", redeliver: bool = False) -> Played:
        if self.properties is None:
            raise ScenarioError("delete: the resource has not been created")
        played = self._send("Delete", self.properties, physical_id=self.physical_id, redeliver=redeliver)
        self._expect(played, expect)
        self.properties = None
        return played

    def pipeline(
        self,
        package: str,
        set_: Mapping[str, str] | None = None,
        remove: list[str] | None = None,
        approval: str | None = None,
    ) -> None:
        """Someone else (the pipeline) edits the package directly."""
        arn = self.labels.get(package, package)
        request: dict[str, Any] = {"ModelPackageArn": arn}
        if set_:
            request["CustomerMetadataProperties"] = {str(k): str(v) for k, v in set_.items()}
        if remove:
            request["CustomerMetadataPropertiesToRemove"] = list(remove)
        if approval:
            request["ModelApprovalStatus"] = approval
        self.registry.client_of(arn).update_model_package(**request)
        others = self.others.setdefault(arn, {})
        for key, value in (set_ or {}).items():
            others[str(key)] = str(value)
        for key in remove or []:
            others.pop(key, None)

    def announce(self, package: str, expect_drift: int | None = None) -> Announced:
        """SageMaker announces the package's state (EventBridge): the handler checks
        it for drift. It must change nothing and answer no one."""
        arn = self.labels.get(package, package)
        event = state_change_event(arn, self.describe(arn))
        before, counted = len(self.receiver.received), dict(self.registry.requests)
        results: list[dict[str, Any]] = []
        logs = invoke(event, self.registry, self.receiver, cold=self.cold, timeout_ms=self.timeout_ms,
                      python=self.python, code_dir=self.code_dir, results=results)
        calls = {op: n - counted.get(op, 0) for op, n in self.registry.requests.items() if n > counted.get(op, 0)}
        announced = Announced("sagemaker event", event, results[-1] if results else {}, logs, calls)
        self.announced.append(announced)
        if len(self.receiver.received) != before:
            self.failures.append(f"{announced.label}: the handler sent a response")
        if calls.get("UpdateModelPackage"):
            self.failures.append(f"{announced.label}: the handler changed the package")
        if expect_drift is not None and len(announced.drifted) != expect_drift:
            self.failures.append(f"{announced.label}: expected {expect_drift} drifted items, "
                                 f"found {len(announced.drifted)}")
        return announced

    def report(self, expect_drift: int | None = None) -> tuple[int, str]:
        """tools/drift_report.py against the registry, as an operator runs it (with
        the function's account's credentials): its exit status and its table."""
        from tools.drift_report import as_text, check

        environment = self.registry.environment()
        with environment_set(environment):
            found = check(self.registry.table_name, self.registry.region, endpoint_url=self.registry.endpoint)
        if expect_drift is not None and (len(found.drifts), found.errors) != (expect_drift, []):
            self.failures.append(f"drift report: expected {expect_drift} drifted items, found "
                                 f"{len(found.drifts)}" + (f" and errors: {'; '.join(found.errors)}"
                                                            if found.errors else ""))
        self.reports.append((found.status, as_text(found)))
        return self.reports[-1]

    # --- checks ----------------------------------------------------------------

    def metadata(self, arn: str) -> dict[str, str]:
        return dict(self.describe(arn).get("CustomerMetadataProperties") or {})

    def describe(self, arn: str) -> dict[str, Any]:
        try:
            return dict(self.registry.client_of(arn).describe_model_package(ModelPackageName=arn))
        except Exception:  # noqa: BLE001 - a package the registry lacks has no state
            return {}

    def lost_keys(self) -> list[str]:
        """Keys the stack never declared whose value is no longer the one that
        others left."""
        lost = []
        for arn, others in self.others.items():
            live = self.metadata(arn)
            for key, value in others.items():
                if key not in self.declared and live.get(key) != value:
                    lost.append(f"{arn.rpartition(':')[2]}: {key} (was {value!r}, now {live.get(key)!r})")
        return lost

    def _expect(self, played: Played, expect: str | None) -> None:
        """Record a failed check; expect None accepts either outcome, but never none."""
        if played.status != (expect or played.status) or played.response is None:
            reason = (played.response or {}).get("Reason", "")
            self.failures.append(f"{played.label}: expected {expect}, got {played.status} {reason}".strip())

    # --- events ------------------------------------------------------------------

    def _resolve(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        props = {"ServiceToken": SERVICE_TOKEN, "ServiceTimeout": "300", **properties}
        arn = props.get("ModelPackageArn")
        if isinstance(arn, str):
            props["ModelPackageArn"] = self.labels.get(arn, arn)
        for name in ("CustomerMetadataProperties", "CustomerMetadataPropertiesToRemove"):
            value = props.get(name)
            if isinstance(value, (dict, list)):
                self.declared.update(str(k) for k in value)
        return props

    def _send(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        old: Mapping[str, Any] | None = None,
        physical_id: str | None = None,
        label: str | None = None,
        redeliver: bool = False,
    ) -> Played:
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": SERVICE_TOKEN,
            "ResponseURL": self.receiver.url(f"/{self.logical_id}/{request_id}"),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": self.logical_id,
            "ResourceType": "Custom::ModelPackage",
            "ResourceProperties": dict(properties),
        }
        if old is not None:
            event["OldResourceProperties"] = dict(old)
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        played = self.play(event, label or request_type.lower())
        if redeliver:
            again = self.play(event, f"{played.label} (redelivered)")
            if again.status != played.status:
                self.failures.append(f"{again.label}: {again.status}, first delivery {played.status}")
        return played

    def play(self, event: dict[str, Any], label: str) -> Played:
        """One invocation; the response is what reached the receiver."""
        before = len(self.receiver.received)
        counted = dict(self.registry.requests)
        logs = invoke(event, self.registry, self.receiver, cold=self.cold, timeout_ms=self.timeout_ms,
                      python=self.python, code_dir=self.code_dir)
        calls = {op: n - counted.get(op, 0) for op, n in self.registry.requests.items() if n > counted.get(op, 0)}
        bodies = self.receiver.bodies()[before:]
        if len(bodies) > 1:
            self.failures.append(f"{label}: {len(bodies)} responses for one invocation")
        played = Played(label, event, bodies[-1] if bodies else None, logs, calls)
        if "X-Amz-Signature" in logs or str(event.get("ResponseURL")) in logs:
            self.failures.append(f"{label}: the handler logged the ResponseURL")
        self.played.append(played)
        return played


def invoke(
    event: Mapping[str, Any],
    registry: LocalRegistry,
    receiver: ResponseReceiver,
    *,
    cold: bool = True,
    timeout_ms: int = 60_000,
    python: tuple[str, ...] = (),
    code_dir: Path | None = None,
    results: list[dict[str, Any]] | None = None,
) -> str:
    """Invoke the handler: in a fresh process (cold start) or in this one. Returns
    what the handler logged (a warm invocation logs to this process's log), and
    appends what it returned to `results`. A cold invocation runs on `python` (a
    command, flags included; this interpreter by default) with the code of
    `code_dir` (handler/ by default): devkit/lambda_process.py is run by its path, so
    that an isolated interpreter (-I) needs nothing of this checkout but that file."""
    environment = {**registry.environment(), **receiver.environment(), "POWERTOOLS_DEV": "false"}
    if not cold:
        return _invoke_warm(event, environment, timeout_ms, results)
    if python or code_dir is not None:
        command = [*(python or (sys.executable,)), str(ROOT / "devkit" / "lambda_process.py")]
        if code_dir is not None:
            command += ["--code-dir", str(code_dir)]
    else:
        command = [sys.executable, "-m", "devkit.lambda_process"]
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and module
            [*command, "--timeout-ms", str(timeout_ms), "--result", result.name],
            input=json.dumps(event),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, **environment},
            timeout=timeout_ms / 1000 + 30,
            check=False,
        )
        if completed.returncode == 0 and results is not None:
            results.append(json.loads(Path(result.name).read_text() or "{}"))
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the handler's process exited {completed.returncode}: {tail[0]}")
    return completed.stdout + completed.stderr


def state_change_event(arn: str, live: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SageMaker's "Model Package State Change" event for a package, as EventBridge
    delivers it (events/model-package-state-change.json), with the package's ARN,
    account, region, group, version and approval status."""
    event: dict[str, Any] = json.loads(STATE_CHANGE_EVENT.read_text())
    parts = arn.split(":")
    group, _, version = arn.partition(":model-package/")[2].partition("/")
    event.update(id=str(uuid.uuid4()), account=parts[4] if len(parts) > 4 else "", resources=[arn],
                 region=parts[3] if len(parts) > 3 else "")
    detail = event["detail"]
    detail.update(ModelPackageArn=arn, ModelPackageGroupName=group)
    if version.isdigit():
        detail["ModelPackageVersion"] = int(version)
    if live and live.get("ModelApprovalStatus"):
        detail["ModelApprovalStatus"] = live["ModelApprovalStatus"]
    return event


def _invoke_warm(event: Mapping[str, Any], environment: Mapping[str, str], timeout_ms: int,
                 results: list[dict[str, Any]] | None = None) -> str:
    """In this process, as a warm Lambda would: the environment is the registry's
    for the call only, and the cached SageMaker clients are made for it."""
    from app import lambda_handler
    from model_package_resource import clients
    from model_package_resource.credentials import ROLES

    from .lambda_process import LambdaContext

    clients.clear()
    ROLES.clear()
    try:
        with environment_set(environment):
            returned = lambda_handler(dict(event), LambdaContext(timeout_ms).typed())
        if results is not None:
            results.append(returned)
    finally:
        clients.clear()
        ROLES.clear()
    return ""


@contextlib.contextmanager
def environment_set(environment: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `environment` set, as it was again afterwards."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_scenario(path: str | Path) -> dict[str, Any]:
    try:
        scenario = load_document(path)
    except SeedError as error:
        raise ScenarioError(str(error)) from None
    steps = scenario.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioError(f"{path}: field 'steps' must be a non-empty list")
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise ScenarioError(f"{path}: field 'steps[{i}]' must be a map")
        operations = [op for op in OPERATIONS if op in step]
        if len(operations) != 1:
            raise ScenarioError(f"{path}: field 'steps[{i}]' needs exactly one of {', '.join(OPERATIONS)}")
        body = step[operations[0]]
        if operations[0] in ("create", "update") and not isinstance(body, Mapping):
            raise ScenarioError(f"{path}: field 'steps[{i}].{operations[0]}' must be a map of properties")
        if operations[0] in ("event", "report") and not isinstance(body, Mapping):
            raise ScenarioError(f"{path}: field 'steps[{i}].{operations[0]}' must be a map")
        if operations[0] == "event" and not isinstance(body.get("package"), str):
            raise ScenarioError(f"{path}: field 'steps[{i}].event.package' must name a package")
        drift = body.get("drift") if operations[0] in ("event", "report") else None
        if drift is not None and (not isinstance(drift, int) or isinstance(drift, bool) or drift < 0):
            raise ScenarioError(f"{path}: field 'steps[{i}].{operations[0]}.drift' must be a count of items")
        if step.get("expect", "SUCCESS") not in ("SUCCESS", "FAILED"):
            raise ScenarioError(f"{path}: field 'steps[{i}].expect' must be SUCCESS or FAILED")
        stack = step.get("stack")
        if stack is not None and (not isinstance(stack, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,63}", stack)):
            raise ScenarioError(f"{path}: field 'steps[{i}].stack' must be a stack name (letters, digits, -)")
    return scenario


def play_step(lifecycle: Lifecycle, step: Mapping[str, Any]) -> None:
    expect, redeliver = str(step.get("expect", "SUCCESS")), bool(step.get("redeliver", False))
    fault = step.get("fault")
    if isinstance(fault, Mapping):
        # SageMaker (or the table, or STS) refuses a call of this step's first event.
        from .registry import Fault

        lifecycle.registry.inject(Fault(str(fault.get("kind", "denied")), str(fault.get("operation", "*")),
                                        int(fault.get("times", 1)), after=int(fault.get("after", 0))))
    if "create" in step:
        lifecycle.create(step["create"], expect, redeliver)
    elif "update" in step:
        lifecycle.update(step["update"], expect, redeliver)
    elif "delete" in step:
        lifecycle.delete(expect, redeliver)
    elif "event" in step:
        lifecycle.announce(str(step["event"]["package"]), step["event"].get("drift"))
    elif "report" in step:
        lifecycle.report(step["report"].get("drift"))
    else:
        edit = step["pipeline"]
        lifecycle.pipeline(
            str(edit.get("package")), edit.get("set"), edit.get("remove"), edit.get("approval")
        )
