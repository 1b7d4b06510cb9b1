"""Per-event metrics: the embedded-metric-format lines a whole lifecycle writes to
the log (no client, no call), in the namespace and dimension the alarm watches."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devkit.runner import Lifecycle


def metric_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in (json.loads(raw) for raw in text.splitlines() if raw.startswith("{\"_aws\""))]


def test_a_lifecycle_writes_one_metrics_line_per_event(lifecycle: Lifecycle, capsys: pytest.CaptureFixture[str]) -> None:
    lifecycle.create({"ModelPackageArn": "churn/2", "ModelApprovalStatus": "Approved",
                      "CustomerMetadataProperties": {"ticket": "CAB-1"}})
    lifecycle.update({"ModelPackageArn": "churn/2", "CustomerMetadataProperties": {"owner": "x"}},
                     expect="FAILED")  # "owner" holds the pipeline's value: refused, then rolled back
    lifecycle.delete()
    lines = metric_lines(capsys.readouterr().out)
    assert [(m["RequestType"], m["Outcome"]) for m in lines] == [
        ("Create", "SUCCESS"), ("Update", "FAILED"), ("Update", "SUCCESS"), ("Delete", "SUCCESS")]
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "ModelPackageResource" and directive["Dimensions"] == [["service"]]
        assert {m["Name"] for m in directive["Metrics"]} == {"Events", "FailedEvents", "SageMakerCalls", "Reverts",
                                                              "Releases", "LeftUnreleased", "UnrecordedReleases"}
        assert line["service"] == "model-package-resource" and line["Events"] == [1.0]
    assert [line["FailedEvents"] for line in lines] == [[0.0], [1.0], [0.0], [0.0]]
    assert lines[0]["SageMakerCalls"] == [1.0]
    # The Delete gives back the approval and removes the key: two releases in one call.
    assert lines[-1]["Releases"] == [2.0] and lines[-1]["SageMakerCalls"] == [1.0]

