"""make coldpath: what each candidate costs on the cold path, in the Lambda setting
(the built package zipped as SAM zips it, unpacked read-only, python3.13 -I -B,
bytecode shipped). Each step runs in a fresh process after its prelude; the step
alone is timed inside the process (perf_counter), median of N, steps interleaved.

- *alone*: the import in a process that has imported nothing else;
- *after a SageMaker client*: what the step adds once botocore has made the
  function's first client (what the handler pays on top of what it cannot avoid);
- the botocore steps: the session, its endpoint data, the SageMaker client, and
  the DynamoDB and STS clients with botocore's bundled model or a trimmed one
  (generated here for the measurement: GetItem/PutItem/DeleteItem, AssumeRole).

Then the handler's own cold Create under -X importtime: the cumulative import time
of the modules that matter, and who imports them first.

Only the public entry point (app.lambda_handler) of the handler is used.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from devkit.artifact import BUILD, LAMBDA_FLAGS, lambda_copy, remove  # noqa: E402
from devkit.receiver import ResponseReceiver  # noqa: E402
from devkit.registry import LocalRegistry  # noqa: E402

FLOOR_PYTHON = ROOT / ".local" / "py313-floor" / "bin" / "python"
TRIMMED = {"dynamodb": ("GetItem", "PutItem", "DeleteItem"), "sts": ("AssumeRole",)}

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
DATA, TRIMMED = sys.argv[2], sys.argv[3]
exec(sys.argv[4])
started = time.perf_counter()
exec(sys.argv[5])
print((time.perf_counter() - started) * 1000)
"""

SESSION = "import botocore.session\ns = botocore.session.get_session()\ns.set_config_variable('data_path', DATA)"
TRIMMED_SESSION = SESSION.replace("DATA)", "TRIMMED + ':' + DATA)")
CLIENT = "\nsm = s.create_client('sagemaker', region_name='eu-west-1')"
JSON_LINE = ("import json, logging\nh = logging.StreamHandler(sys.stdout)\nlog = logging.getLogger('m')\n"
             "log.addHandler(h)\nlog.setLevel('INFO')\nlog.info(json.dumps({'level': 'INFO', 'message': 'x'}))")
POWERTOOLS_LINE = "from aws_lambda_powertools import Logger\nLogger(service='m').info('x')"

# (group, label, prelude, step)
STEPS: list[tuple[str, str, str, str]] = [
    ("alone", "import boto3 (the floor's import)", "", "import boto3"),
    ("alone", "import botocore.session", "", "import botocore.session"),
    ("alone", "Powertools Logger: import, Logger(), one line", "", POWERTOOLS_LINE),
    ("alone", "import http.client", "", "import http.client"),
    ("alone", "import email.parser, email.message", "", "import email.parser, email.message"),
    ("alone", "import dataclasses", "", "import dataclasses"),
    ("after", "Powertools Logger: import, Logger(), one line", SESSION + CLIENT, POWERTOOLS_LINE),
    ("after", "stdlib logging, one JSON line (the alternative)", SESSION + CLIENT, JSON_LINE),
    ("after", "import http.client", SESSION + CLIENT, "import http.client"),
    ("after", "import email.parser, email.message", SESSION + CLIENT, "import email.parser, email.message"),
    ("after", "import dataclasses", SESSION + CLIENT, "import dataclasses"),
    ("after", "import dataclasses (after Powertools too)", SESSION + CLIENT + "\n" + POWERTOOLS_LINE,
     "import dataclasses"),
    ("botocore", "botocore.session.get_session()", "import botocore.session", "botocore.session.get_session()"),
    ("botocore", "loaders: endpoints.json (pruned), partitions", SESSION, "s.get_component('endpoint_resolver')"),
    ("botocore", "loaders: SageMaker endpoint rule set", SESSION,
     "s.get_component('data_loader').load_service_model('sagemaker', 'endpoint-rule-set-1')"),
    ("botocore", "SageMaker client (trimmed model), the first client", SESSION, CLIENT),
    ("botocore", "DynamoDB client, botocore's bundled model", SESSION + CLIENT,
     "s.create_client('dynamodb', region_name='eu-west-1')"),
    ("botocore", "DynamoDB client, trimmed to 3 operations", TRIMMED_SESSION + CLIENT,
     "s.create_client('dynamodb', region_name='eu-west-1')"),
    ("botocore", "STS client, botocore's bundled model", SESSION + CLIENT,
     "s.create_client('sts', region_name='eu-west-1')"),
    ("botocore", "STS client, trimmed to AssumeRole", TRIMMED_SESSION + CLIENT,
     "s.create_client('sts', region_name='eu-west-1')"),
]
GROUPS = {"alone": "Imports, alone (ms)", "after": "Marginal, after botocore has made the SageMaker client (ms)",
          "botocore": "botocore at run time (ms)"}
WATCHED = ["app", "aws_lambda_powertools", "aws_lambda_powertools.logging", "botocore.session", "botocore.client",
           "botocore.waiter", "botocore.docs", "botocore.endpoint", "botocore.httpsession", "urllib3",
           "http.client", "email.parser", "ssl", "dataclasses", "difflib", "json", "dateutil.parser", "jmespath"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    python = Path(os.environ.get("FLOOR_PYTHON") or FLOOR_PYTHON).absolute()
    if not BUILD.is_dir() or not python.exists():
        raise SystemExit("coldpath needs the build and the floor's venv: run `make coldpath`")
    work = Path(tempfile.mkdtemp(prefix="coldpath-"))
    try:
        # The package ships trimmed DynamoDB and STS models and drops botocore's bundled
        # ones: put those back (from the floor's botocore, the same pin) to compare.
        source = work / "source"
        shutil.copytree(BUILD, source)
        bundled_data = python.parent.parent / "lib" / "python3.13" / "site-packages" / "botocore" / "data"
        for service in TRIMMED:
            for model in (bundled_data / service).glob("*/service-2.json.gz"):
                destination = source / "botocore" / "data" / service / model.parent.name
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy(model, destination / model.name)
        task, _ = lambda_copy(source, work / "lambda")
        trimmed = _trimmed_models(work / "trimmed", task)
        _steps(python, task, trimmed, args.runs)
        _importtime(python, task, args.runs)
    finally:
        remove(work)
    return 0


def _trimmed_models(directory: Path, task: Path) -> Path:
    for service, operations in TRIMMED.items():
        [bundled] = (task / "botocore" / "data" / service).glob("*/service-2.json.gz")
        model = json.loads(gzip.decompress(bundled.read_bytes()))
        wanted: set[str] = set()
        pending = [ref["shape"] for name in operations for ref in _refs(model["operations"][name])]
        while pending:
            name = pending.pop()
            if name not in wanted:
                wanted.add(name)
                shape = model["shapes"][name]
                pending += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
                pending += [m["shape"] for m in shape.get("members", {}).values()]
        trimmed = {**model, "operations": {n: model["operations"][n] for n in operations},
                   "shapes": {n: model["shapes"][n] for n in sorted(wanted)}}
        target = directory / service / bundled.parent.name / "service-2.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(trimmed))
    return directory


def _refs(operation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (operation[k] for k in ("input", "output") if k in operation)
    yield from operation.get("errors", [])


def _steps(python: Path, task: Path, trimmed: Path, runs: int) -> None:
    data = str(task / "model_package_resource" / "botocore_data")
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
           "AWS_DEFAULT_REGION": "eu-west-1", "POWERTOOLS_LOG_LEVEL": "INFO"}
    times: dict[int, list[float]] = {i: [] for i in range(len(STEPS))}
    for _ in range(runs):
        for i, (_, label, prelude, step) in enumerate(STEPS):
            completed = subprocess.run([str(python), *LAMBDA_FLAGS, "-c", CHILD, str(task), data, str(trimmed),
                                        prelude, step], capture_output=True, text=True, env=env, check=False)
            if completed.returncode != 0:
                raise SystemExit(f"{label}: {completed.stderr[-600:]}")
            times[i].append(float(completed.stdout.splitlines()[-1]))
    print(f"Cold path in the Lambda setting (python3.13 {' '.join(LAMBDA_FLAGS)}, the built package read-only, "
          f"bytecode shipped), median of {runs}")
    group = None
    for i, (step_group, label, _, _) in enumerate(STEPS):
        if step_group != group:
            group = step_group
            print(f"  {GROUPS[group]}")
        print(f"    {label:<58}{statistics.median(times[i]):7.1f}")
    print()


def _importtime(python: Path, task: Path, runs: int) -> None:
    """The handler's own cold Create under -X importtime."""
    registry, receiver = LocalRegistry().start(), ResponseReceiver().start()
    try:
        seed = Path(tempfile.mkdtemp()) / "seed.json"
        seed.write_text(json.dumps({"groups": [{"name": "coldpath", "versions": [{} for _ in range(runs)]}]}))
        arns = list(registry.seed(seed).values())
        env = {"PATH": os.environ.get("PATH", ""), **registry.environment(), **receiver.environment(),
               "POWERTOOLS_LOG_LEVEL": "INFO", "HANDLER_DIR": str(task)}
        cumulative: dict[str, list[float]] = {}
        totals, parents = [], {}
        for arn in arns:
            request_id = str(uuid.uuid4())
            event = Path(seed.parent, f"{request_id}.json")
            event.write_text(json.dumps({
                "RequestType": "Create", "RequestId": request_id, "ResponseURL": receiver.url(f"/c/{request_id}"),
                "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/coldpath/1",
                "LogicalResourceId": "Approve", "ResourceType": "Custom::ModelPackage",
                "ResourceProperties": {"ServiceToken": "x", "ModelPackageArn": arn, "ModelApprovalStatus": "Approved",
                                       "CustomerMetadataProperties": {"ticket": "CAB-1234"}}}))
            completed = subprocess.run([str(python), *LAMBDA_FLAGS, "-X", "importtime",
                                        str(ROOT / "bench" / "cold_start.py"), "ours", str(event)],
                                       capture_output=True, text=True, env=env, check=False)
            if completed.returncode != 0:
                raise SystemExit(f"importtime run: {completed.stderr[-600:]}")
            rows = [(int(m[1]), int(m[2]), len(m[3]) // 2, m[4]) for m in
                    re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", completed.stderr)]
            totals.append(sum(row[0] for row in rows) / 1000)
            for i, (_, total, depth, name) in enumerate(rows):
                cumulative.setdefault(name, []).append(total / 1000)
                parent = next((r[3] for r in rows[i + 1:] if r[2] < depth), "(top level)")
                parents.setdefault(name, parent)
    finally:
        receiver.stop()
        registry.stop()
    print(f"The handler's cold Create under -X importtime, median of {runs}: "
          f"all imports {statistics.median(totals):.0f} ms (importtime's own overhead included)")
    print(f"  {'module':<32}{'cumulative ms':>14}  first imported by")
    for name in WATCHED:
        if name in cumulative:
            print(f"  {name:<32}{statistics.median(cumulative[name]):14.1f}  {parents[name]}")
        else:
            print(f"  {name:<32}{'not imported':>14}")


if __name__ == "__main__":
    sys.exit(main())
