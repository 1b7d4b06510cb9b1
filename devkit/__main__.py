"""python -m devkit demo | scenario FILE | invoke EVENT.json | schema [--check] | models [--check]

demo      plays devkit/demo/scenario.yaml: the README's first command.
scenario  plays a scenario file (YAML or JSON) against a seeded local registry.
invoke    plays one event file, like `sam local invoke -e`, and prints the response (for
          SageMaker's state change event, events/model-package-state-change.json, the
          drift the function found: against the freshly seeded registry, none).
schema    regenerates lint/rules/schemas/custom-modelpackage.json from botocore's model,
          and the docs' property reference (docs/snippets/property-reference.md) from it.
models    regenerates the function's trimmed copy of botocore's SageMaker model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .receiver import ResponseReceiver
from .registry import LocalRegistry, SeedError, load_document
from .runner import (
    OPERATIONS,
    STACK_ID,
    Announced,
    Lifecycle,
    Played,
    ScenarioError,
    invoke,
    load_scenario,
    play_step,
)

DEMO = Path(__file__).resolve().parent / "demo"
# The stack of a scenario's steps that name none (its StackId's name, devkit.runner.STACK_ID).
DEFAULT_STACK = "local-demo"
DEFAULT_SEED = DEMO / "registry.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devkit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="play the demo lifecycle")
    scenario = commands.add_parser("scenario", help="play a scenario file")
    scenario.add_argument("file")
    schema = commands.add_parser("schema", help="regenerate lint/rules/schemas and the docs' property reference")
    schema.add_argument("--check", action="store_true", help="only check that the committed files are current")
    models = commands.add_parser("models", help="regenerate the function's trimmed SageMaker model")
    models.add_argument("--check", action="store_true", help="only check that the committed copy is current")
    one = commands.add_parser("invoke", help="play one event file")
    one.add_argument("file")
    for command in (scenario, one):
        command.add_argument("--seed", default=None, help="registry seed file (default: the demo's)")
    for command in (scenario, one, commands.choices["demo"]):
        command.add_argument("--port", type=int, default=0, help="registry port (default: a free one)")
        command.add_argument("--warm", action="store_true", help="invoke in this process, not a fresh one")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.command == "schema":
        from .schema import main as schema_main

        return schema_main(args.check)
    if args.command == "models":
        from .trim_model import main as models_main

        return models_main(args.check)
    try:
        if args.command == "invoke":
            return _invoke(Path(args.file), args.seed, args.port, not args.warm)
        path = DEMO / "scenario.yaml" if args.command == "demo" else Path(args.file)
        return _scenario(path, getattr(args, "seed", None), args.port, not args.warm)
    except (ScenarioError, SeedError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _scenario(path: Path, seed: str | None, port: int, cold: bool) -> int:
    scenario = load_scenario(path)
    seed_path = Path(seed) if seed else _seed_of(scenario, path)
    registry = LocalRegistry(port=port).start()
    receiver = ResponseReceiver().start()
    try:
        labels = registry.seed(seed_path)
        _check_packages(path, scenario, labels, registry)
        stacks = {DEFAULT_STACK: Lifecycle(registry, receiver, labels, cold=cold)}
        print(
            f"Scenario {scenario.get('name', path.name)}: {len(scenario['steps'])} steps, "
            f"registry {registry.endpoint} seeded from {seed_path}\n"
        )
        for number, step in enumerate(scenario["steps"], 1):
            name = str(step.get("stack", DEFAULT_STACK))
            if name not in stacks:  # another stack's resource (on the same packages, perhaps)
                stacks[name] = Lifecycle(registry, receiver, labels, cold=cold,
                                         stack_id=STACK_ID.replace(DEFAULT_STACK, name))
            lifecycle = stacks[name]
            before, announced, reports = len(lifecycle.played), len(lifecycle.announced), len(lifecycle.reports)
            title = step.get("title") or next(k for k in OPERATIONS if k in step)
            print(f"== Step {number}: {title}" + (f" [stack {name}]" if name != DEFAULT_STACK else ""))
            play_step(lifecycle, step)
            for played in lifecycle.played[before:]:
                _print_played(played)
            for event in lifecycle.announced[announced:]:
                _print_announced(event)
            for status, table in lifecycle.reports[reports:]:
                print(textwrap.indent(table, "   "))
                print(f"   (exit status {status})")
            if "pipeline" in step:
                print("   (the pipeline edited the package directly)")
            for arn in _packages_touched(lifecycle, before, step):
                _print_package(lifecycle, arn)
            print()
        # Keys no stack declared are the pipeline's: the first stack saw them all before any event.
        declared = set().union(*(stack.declared for stack in stacks.values()))
        stacks[DEFAULT_STACK].declared |= declared
        lost = stacks[DEFAULT_STACK].lost_keys()
        failures = [failure for stack in stacks.values() for failure in stack.failures]
        print("== Check: metadata no stack declared")
        print("   " + ("none lost or changed" if not lost else "LOST: " + "; ".join(lost)))
        for failure in failures:
            print(f"   FAILED CHECK: {failure}")
        ok = not lost and not failures
        print("\n" + ("All checks held." if ok else "Some checks failed."))
        return 0 if ok else 1
    finally:
        receiver.stop()
        registry.stop()


def _invoke(path: Path, seed: str | None, port: int, cold: bool) -> int:
    event = _load_event(path)
    registry = LocalRegistry(port=port).start()
    receiver = ResponseReceiver().start()
    try:
        registry.seed(Path(seed) if seed else DEFAULT_SEED)
        from model_package_resource.request import is_eventbridge

        if is_eventbridge(event):
            return _invoke_eventbridge(event, registry, receiver, cold)
        arn = _event_arn(event)
        if arn is not None and not registry_holds(registry, arn[1]):
            raise ScenarioError(f"{path}: {arn[0]}: {arn[1]} is not in the local registry")
        request_id = event.get("RequestId", "event")
        event["ResponseURL"] = receiver.url(f"/{event.get('LogicalResourceId', 'Resource')}/{request_id}")
        counted = dict(registry.requests)
        invoke(event, registry, receiver, cold=cold)
        calls = {op: n - counted.get(op, 0) for op, n in registry.requests.items() if n > counted.get(op, 0)}
        bodies = receiver.bodies()
        if not bodies:
            print("No response was sent.")
            return 1
        _print_played(Played(str(event.get("RequestType", "?")).lower(), event, bodies[-1], calls=calls))
        if arn is not None:
            _print_state(registry, arn[1])
        return 0 if bodies[-1].get("Status") == "SUCCESS" else 1
    finally:
        receiver.stop()
        registry.stop()


def _invoke_eventbridge(event: dict[str, Any], registry: LocalRegistry, receiver: ResponseReceiver,
                        cold: bool) -> int:
    """An EventBridge event: what the function found, and that it answered no one."""
    counted = dict(registry.requests)
    results: list[dict[str, Any]] = []
    invoke(event, registry, receiver, cold=cold, results=results)
    calls = {op: n - counted.get(op, 0) for op, n in registry.requests.items() if n > counted.get(op, 0)}
    result = results[-1] if results else {}
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        detail = {}
    _print_announced(Announced("eventbridge event", {"detail": {"ModelPackageArn": detail.get("ModelPackageArn")}},
                               result, calls=calls))
    if result.get("Ignored"):
        print(f"   {'Ignored':<20}{result['Ignored']}")
    return 0 if not receiver.bodies() and not calls.get("UpdateModelPackage") else 1


def _check_packages(path: Path, scenario: Mapping[str, Any], labels: Mapping[str, str],
                    registry: LocalRegistry) -> None:
    """Before anything is played: every package the scenario names is in the registry."""
    for i, step in enumerate(scenario["steps"]):
        for operation in ("create", "update"):
            arn = (step.get(operation) or {}).get("ModelPackageArn") if operation in step else None
            if isinstance(arn, str) and arn not in labels and not registry_holds(registry, arn):
                raise ScenarioError(f"{path}: field 'steps[{i}].{operation}.ModelPackageArn': {arn} is not in the "
                                    f"local registry (labels: {', '.join(sorted(labels))})")
        for operation in ("pipeline", "event"):
            package = (step.get(operation) or {}).get("package") if operation in step else None
            if isinstance(package, str) and package not in labels and not registry_holds(registry, package):
                raise ScenarioError(
                    f"{path}: field 'steps[{i}].{operation}.package': {package} is not in the local registry")


def _load_event(path: Path) -> dict[str, Any]:
    try:
        event = load_document(path)
    except SeedError as error:
        raise ScenarioError(str(error)) from None
    # The handler's own rule of what each request type carries (request.py), with the file named.
    from model_package_resource.request import REQUEST_TYPES, REQUIRED_FIELDS, is_eventbridge

    if is_eventbridge(event):
        return event  # the handler validates it, and logs what it ignores
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        raise ScenarioError(f"{path}: field 'RequestType' is missing or none of {', '.join(REQUEST_TYPES)}")
    for name in REQUIRED_FIELDS[str(request_type)]:
        value = event.get(name)
        if name.endswith("Properties") and not isinstance(value, Mapping):
            raise ScenarioError(f"{path}: field '{name}' is missing or not a map (a {request_type} needs it)")
        if not name.endswith("Properties") and (not isinstance(value, str) or not value):
            raise ScenarioError(f"{path}: field '{name}' is missing or not a string (a {request_type} needs it)")
    return event


def _event_arn(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """The package the event acts on, when it names one the handler would call."""
    physical = event.get("PhysicalResourceId")
    if event["RequestType"] == "Delete":
        return (
            ("PhysicalResourceId", physical)
            if isinstance(physical, str) and ":model-package/" in physical
            else None
        )
    arn = (event.get("ResourceProperties") or {}).get("ModelPackageArn")
    return (
        ("ResourceProperties.ModelPackageArn", arn)
        if isinstance(arn, str) and ":model-package/" in arn
        else None
    )


def registry_holds(registry: LocalRegistry, arn: str) -> bool:
    try:
        registry.client_of(arn).describe_model_package(ModelPackageName=arn)
    except Exception:  # noqa: BLE001 - any refusal means the registry lacks it
        return False
    return True


def _seed_of(scenario: Mapping[str, Any], path: Path) -> Path:
    seed = scenario.get("registry")
    return (path.parent / str(seed)) if seed else DEFAULT_SEED


def _packages_touched(lifecycle: Lifecycle, before: int, step: Mapping[str, Any]) -> list[str]:
    arns: list[str] = []
    if "event" in step:
        return []  # the event changes nothing: the package was shown after the edit
    if "report" in step:
        return []
    if "pipeline" in step:
        arns.append(
            lifecycle.labels.get(str(step["pipeline"].get("package")), str(step["pipeline"].get("package")))
        )
    for played in lifecycle.played[before:]:
        for candidate in (
            played.event.get("PhysicalResourceId"),
            played.event.get("ResourceProperties", {}).get("ModelPackageArn"),
        ):
            if isinstance(candidate, str) and ":model-package/" in candidate and candidate not in arns:
                arns.append(candidate)
    return arns


def _print_played(played: Played) -> None:
    response = played.response or {}
    rows = [
        ("Event", played.label),
        ("Status", played.status),
        ("PhysicalResourceId", response.get("PhysicalResourceId", "")),
        ("Reason", response.get("Reason") or "-"),
        ("SageMaker calls", _calls(played.calls, TABLE_OPERATIONS, keep=False)),
        ("Prior-state table", _calls(played.calls, TABLE_OPERATIONS, keep=True)),
        (
            "Data",
            ", ".join(
                f"{k}={v}"
                for k, v in (response.get("Data") or {}).items()
                if k in ("ModelApprovalStatus", "ModelPackageVersion", "ModelPackageStatus")
            )
            or "-",
        ),
    ]
    for name, value in rows:
        wrapped = textwrap.wrap(str(value), 90) or [""]
        print(f"   {name:<20}{wrapped[0]}")
        for line in wrapped[1:]:
            print(f"   {'':<20}{line}")


def _print_announced(announced: Announced) -> None:
    """SageMaker's event as the function took it: the drift it logged, and the calls."""
    print(f"   {'Event':<20}{announced.label} for {announced.event['detail']['ModelPackageArn']}")
    print(f"   {'SageMaker calls':<20}{_calls(announced.calls, TABLE_OPERATIONS, keep=False)}")
    print(f"   {'Prior-state table':<20}{_calls(announced.calls, TABLE_OPERATIONS, keep=True)}")
    print(f"   {'Response':<20}none (an EventBridge event is answered to no one)")
    for drifted in announced.drifted:
        print(f"   {'Drift':<20}{drifted['item']}: declared {json.dumps(drifted['declared'])}, "
              f"live {json.dumps(drifted['live'])} ({drifted['StackName']}, {drifted['LogicalResourceId']})")
    if not announced.drifted:
        print(f"   {'Drift':<20}none")


def _print_package(lifecycle: Lifecycle, arn: str) -> None:
    managed = set((lifecycle.properties or {}).get("CustomerMetadataProperties") or {})
    if lifecycle.properties and lifecycle.properties.get("ModelPackageArn") != arn:
        managed = set()
    _print_state(lifecycle.registry, arn, managed)


def _print_state(registry: LocalRegistry, arn: str, managed: set[str] | None = None) -> None:
    try:
        live = registry.client_of(arn).describe_model_package(ModelPackageName=arn)
    except Exception:  # noqa: BLE001
        print(f"   package {arn}: not in the registry")
        return
    if managed is None:
        managed = set()
    name = arn.rpartition(":model-package/")[2]
    print(
        f"   package {name:<13}approval {live.get('ModelApprovalStatus', '-')}, "
        f"status {live.get('ModelPackageStatus', '-')}"
    )
    metadata = live.get("CustomerMetadataProperties") or {}
    for key in sorted(metadata):
        mark = "*" if key in managed else " "
        print(f"     {mark} {key} = {json.dumps(metadata[key])}")
    extras = [k for k in ("ModelCard", "ModelLifeCycle", "AdditionalInferenceSpecifications") if k in live]
    if extras:
        print(f"       also: {', '.join(extras)}")
    if managed:
        print("     (* managed by the stack)")


# DynamoDB's operations on the prior-state table, shown apart from SageMaker's.
TABLE_OPERATIONS = ("GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan")


def _calls(counts: Mapping[str, int], operations: tuple[str, ...], *, keep: bool) -> str:
    shown = [f"{op} {n}" for op, n in sorted(counts.items()) if (op in operations) == keep]
    return ", ".join(shown) or "none"


if __name__ == "__main__":
    sys.exit(main())

