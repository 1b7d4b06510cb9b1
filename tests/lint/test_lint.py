"""cfn-lint support for consumers' templates, in cfn-lint's own style: good and bad
fixture templates, the expected findings as snapshots, run through cfnlint.api with
the one setting a user adds (append_rules)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint, lint_file

from devkit.schema import REFERENCE_FILE, RULES_FILE, SCHEMA_FILE, render, render_reference, render_rules
from model_package_resource.errors import ResourceError
from model_package_resource.properties import parse_properties

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RULES = str(ROOT / "lint" / "rules")
CONFIG = ManualArgs(append_rules=[RULES], regions=["eu-west-1"])
GOOD = sorted((HERE / "fixtures" / "good").glob("*.yaml"))
BAD = sorted((HERE / "fixtures" / "bad").glob("*.yaml"))


def findings(path: Path) -> list[dict[str, Any]]:
    found = [{"rule": m.rule.id, "line": m.linenumber, "column": m.columnnumber, "message": m.message}
             for m in lint_file(path, config=CONFIG)]
    return sorted(found, key=lambda f: (f["line"], f["column"], f["rule"], f["message"]))


@pytest.mark.parametrize("path", [*GOOD, *sorted((ROOT / "examples").glob("*.yaml"))], ids=lambda p: p.name)
def test_good_templates_give_no_finding(path: Path) -> None:
    assert findings(path) == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_templates_match_their_snapshot(path: Path) -> None:
    snapshot = HERE / "snapshots" / f"{path.stem}.json"
    found = findings(path)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(json.dumps(found, indent=2) + "\n")
    assert found == json.loads(snapshot.read_text())


def test_every_planted_mistake_is_reported_at_its_line() -> None:
    path = HERE / "fixtures" / "bad" / "planted_mistakes.yaml"
    lines = path.read_text().splitlines()
    reported = {f["line"] for f in findings(path)}
    planted = {i + 1 for i, line in enumerate(lines) if re.search(
        r"ModelAprovalStatus|: approved$|: maybe$|churn/x|\"\": empty|: perhaps$|^      ModelLifeCycle:", line)}
    assert planted <= reported, (planted, reported)


def test_missing_service_timeout_is_a_warning() -> None:
    [finding] = [f for f in findings(HERE / "fixtures" / "bad" / "planted_mistakes.yaml") if f["rule"] == "W9001"]
    assert finding["line"] == 9


def test_committed_schema_is_generated_from_the_pinned_botocore() -> None:
    assert SCHEMA_FILE.read_text() == render(), "run: python -m devkit schema"


def test_docs_property_reference_is_generated_from_the_committed_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    reference = REFERENCE_FILE.read_text()
    assert reference == render_reference(schema), "run: python -m devkit schema"
    # The table of SageMaker's rules on the docs' page is rules.py's own.
    assert RULES_FILE.read_text() == render_rules(), "run: python -m devkit schema"
    assert '--8<-- "docs/snippets/sagemaker-rules.md"' in (ROOT / "docs" / "sagemaker-rules.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \|", reference, re.M)
    assert rows == list(schema["properties"])
    assert '--8<-- "docs/snippets/property-reference.md"' in (ROOT / "docs" / "declaring.md").read_text()


# The runtime check and the schema come from one model: they agree.
AGREEMENT = [
    {"ModelApprovalStatus": "Approved"},
    {"ModelApprovalStatus": "approved"},
    {"ModelAprovalStatus": "Approved"},
    {"OverwriteExistingMetadata": "true"},
    {"OverwriteExistingMetadata": "yes"},
    {"ServiceTimeout": "300"},
    {"ServiceTimeout": "7200"},
    {"CustomerMetadataProperties": {"ticket": "CAB-1"}},
    {"CustomerMetadataProperties": {f"k{i}": "v" for i in range(51)}},
    {"AdditionalInferenceSpecificationsToAdd": [{"Name": "neo", "Containers": [{"Image": "i"}]}]},
    {"AdditionalInferenceSpecificationsToAdd": [{"Name": "neo"}]},
    {"AdditionalInferenceSpecificationsToAdd": [{"Name": "bad name", "Containers": [{"Image": "i"}]}]},
    {"ModelLifeCycle": {"Stage": "Staging", "StageStatus": "Approved"}},
    {"ModelLifeCycle": {"Stage": "Staging"}},
    {"ModelCard": {"ModelCardStatus": "Final"}},
    {"ApprovalDescription": "x" * 1025},
    {"ModelPackageArn": "arn:aws:s3:::bucket"},
]


@pytest.mark.parametrize("change", AGREEMENT, ids=lambda c: next(iter(c)))
def test_runtime_validation_and_lint_agree(change: dict[str, Any]) -> None:
    properties = {"ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:f", "ServiceTimeout": "300",
                  "ModelPackageArn": "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/7", **change}
    try:
        parse_properties(properties)
        runtime_ok = True
    except ResourceError:
        runtime_ok = False
    template = yaml.safe_dump({"Resources": {"R": {"Type": "Custom::ModelPackage", "Properties": properties}}})
    lint_ok = not [m for m in lint(template, config=CONFIG) if m.rule.id == "E9000"]
    assert runtime_ok == lint_ok


def test_docs_properties_table_names_every_schema_property() -> None:
    # The hand-written table of what each property does on Create, Update and Delete.
    schema = json.loads(SCHEMA_FILE.read_text())
    page = (ROOT / "docs" / "declaring.md").read_text()
    table = page.split("\n## Properties\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| (.*?) \|", table, re.M))
    in_table = {n for cell in named for n in re.findall(r"`([A-Za-z]+)`", cell)}
    assert set(schema["properties"]) <= in_table
    assert in_table - set(schema["properties"]) <= {"ClientToken"}
