"""`make stackset`: the template for service-managed StackSets, and its code.

Service-managed StackSets refuse templates with a Transform, so the SAM transform
is applied here, with the pinned aws-sam-translator (the one `sam` uses), to
template.yaml with the function's code taken from S3: the parameters
CodeBucketPrefix (the bucket is CodeBucketPrefix-REGION, one per region, since
Lambda reads its code from its own region) and CodeKey. The code is the package
that `sam build` made, zipped deterministically: entries sorted, every date
1980-01-01, permissions 0644; its name carries its SHA-256, so a new build is a new
key and CloudFormation updates the function.

The zip ships the build's python3.13 bytecode, as `sam deploy` does: without it
every cold start compiles the whole package again (`make bench` measures both
artifacts as Lambda runs them). handler/Makefile compiles it hash-based (unchecked-hash,
/var/task paths, one process), so the same sources give the same bytes and the
zip stays deterministic; a build whose bytecode is missing or timestamp-based (it
would be stale: every entry is dated 1980) is refused. Other interpreters' caches
and orphaned .pyc files are left out.

    .venv-sam/bin/python tools/stackset.py [--build .aws-sam/build] [--out dist/stackset]

Runs with .venv-sam's interpreter (aws-sam-translator and SAM CLI's YAML loader).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = "ModelPackageResourceFunction"
DATE = (1980, 1, 1, 0, 0, 0)
# The Lambda's interpreter (the template's Runtime, python3.13): its bytecode is shipped.
BYTECODE_TAG = "cpython-313"
# A .pyc's flags word (PEP 552): bit 0 hash-based, bit 1 check the source; unchecked-hash is 0b01.
UNCHECKED_HASH = 0b01
CODE_PARAMETERS: dict[str, Any] = {
    "CodeBucketPrefix": {
        "Type": "String",
        "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,40}[a-z0-9]$",
        "Description": "The code is read from the bucket CodeBucketPrefix-REGION (one bucket per region, "
                       "readable by the organization).",
    },
    "CodeKey": {
        "Type": "String",
        "Description": "The key of the code's zip in that bucket (make stackset names it by its SHA-256).",
    },
}


def bytecode_of(source: Path) -> Path:
    """Where the Lambda's interpreter finds a module's bytecode (importlib's cache_from_source)."""
    return source.parent / "__pycache__" / f"{source.stem}.{BYTECODE_TAG}.pyc"


def shipped_files(folder: Path) -> list[Path]:
    """The folder's files as the zip ships them: every file outside __pycache__, and the
    python3.13 bytecode of each module; other .pyc files are left out."""
    sources = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    bytecode = [bytecode_of(p) for p in sources if p.suffix == ".py" and bytecode_of(p).is_file()]
    return sorted([*sources, *bytecode], key=lambda p: p.relative_to(folder).as_posix())


def bytecode_problems(folder: Path) -> list[str]:
    """Modules whose python3.13 bytecode is missing or not unchecked-hash."""
    problems = []
    for source in sorted(folder.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        cached = bytecode_of(source)
        name = source.relative_to(folder).as_posix()
        if not cached.is_file():
            problems.append(f"{name}: no {cached.name}")
        elif int.from_bytes(cached.read_bytes()[4:8], "little") != UNCHECKED_HASH:
            problems.append(f"{name}: {cached.name} is not unchecked-hash bytecode")
    return problems


def deterministic_zip(folder: Path) -> bytes:
    """The folder's shipped files, zipped so that the same files give the same bytes."""
    files = shipped_files(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 << 16)
            info.create_system = 3  # unix, whatever the host: the attributes above are unix modes
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


class _NoManagedPolicies:
    """The template names no managed policy by name: nothing to look up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def processed_template(sam_template: dict[str, Any], code_key: str) -> dict[str, Any]:
    import boto3  # type: ignore[import-untyped]
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    template = copy.deepcopy(sam_template)
    template.get("Metadata", {}).pop("AWS::ServerlessRepo::Application", None)
    if not template.get("Metadata"):
        template.pop("Metadata", None)
    function = template["Resources"][FUNCTION]
    function.get("Metadata", {}).pop("BuildMethod", None)
    function["Properties"]["CodeUri"] = {
        "Bucket": {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"},
        "Key": {"Ref": "CodeKey"},
    }
    parameters = {**template.get("Parameters", {}), **copy.deepcopy(CODE_PARAMETERS)}
    parameters["CodeKey"]["Default"] = code_key
    template["Parameters"] = parameters
    # The translator wants a region for its pseudo parameters; a fixed one keeps the
    # output the same wherever it runs. The one value it writes from it, the
    # partition of the basic execution policy's ARN, is given back to
    # ${AWS::Partition} below, so the template deploys in any partition.
    session = boto3.session.Session(region_name="us-east-1")
    to_py27_compatible_template(template, {})
    translator = Translator(None, Parser(), boto_session=session)
    processed: dict[str, Any] = undo_mark_unicode_str_in_template(
        translator.translate(template, parameter_values={}, get_managed_policy_map=_NoManagedPolicies().load))
    if "Transform" in processed:
        raise SystemExit("the SAM transform left a Transform in the template")
    for resource in processed["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            arns = resource["Properties"].get("ManagedPolicyArns", [])
            resource["Properties"]["ManagedPolicyArns"] = [
                {"Fn::Sub": "arn:${AWS::Partition}:" + arn.removeprefix("arn:aws:")}
                if isinstance(arn, str) and arn.startswith("arn:aws:") else arn for arn in arns]
    return processed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "stackset")
    args = parser.parse_args(argv)
    from samcli.yamlhelper import yaml_parse

    code = args.build / FUNCTION
    if not code.is_dir():
        print(f"{code} is missing: run make build first", file=sys.stderr)
        return 2
    problems = bytecode_problems(code)
    if problems:
        print(f"{code} lacks the hash-based python3.13 bytecode that handler/Makefile compiles (run make build):\n  "
              + "\n  ".join(problems[:10]), file=sys.stderr)
        return 2
    data = deterministic_zip(code)
    key = f"model-package-resource-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    template = processed_template(yaml_parse(args.template.read_text()), key)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("model-package-resource-*.zip"):
        old.unlink()
    (args.out / key).write_bytes(data)
    (args.out / "template.json").write_text(json.dumps(template, indent=2) + "\n")
    print(f"wrote {args.out / 'template.json'} and {args.out / key} ({len(data):,} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
