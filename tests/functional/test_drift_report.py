"""tools/drift_report.py's report, with the table and SageMaker in memory: what it
lists, by stack and resource, and its exit status (0 clean, 1 drift, 2 incomplete)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from model_package_resource.errors import AccessDenied, PriorStateError
from model_package_resource.ownership import Entry, Left, Manager, Ownership, resource_key
from model_package_resource.record import Record
from tests.helpers import ARN, OTHER_ARN
from tools.drift_report import DRIFT, ERROR, NO_DRIFT, as_json, as_text, main, report

CAB = resource_key("arn:aws:cloudformation:eu-west-1:123456789012:stack/cab/1", "ApproveChurn")
PROD = resource_key("arn:aws:cloudformation:eu-west-1:123456789012:stack/prod/2", "RecordEvaluation")


class Table:
    table = "model-package-resource-PriorStateTable"

    def __init__(self, *records: Record, down: bool = False) -> None:
        self.held, self.down = records, down

    def records(self) -> Iterator[Record]:
        if self.down:
            raise PriorStateError(f"{self.table}: Scan failed: AccessDeniedException", "PRIOR_STATE_TABLE")
        yield from self.held


def record(arn: str, **entries: Entry) -> Record:
    items: dict[Any, Entry] = {("metadata", k[2:]) if k.startswith("m_") else ("field", k): v
                               for k, v in entries.items()}
    return Record(arn, 1, Ownership(items))


def package(approval: str = "Approved", **metadata: str) -> dict[str, Any]:
    return {"ModelApprovalStatus": approval, "CustomerMetadataProperties": metadata}


def test_no_drift_is_exit_status_0() -> None:
    found = report(Table(record(ARN, ModelApprovalStatus=Entry((Manager(CAB, "Approved"),)))),
                   lambda arn: package("Approved"))
    assert (found.packages, found.drifts, found.status) == (1, [], NO_DRIFT)
    assert "No drift" in as_text(found)


def test_drift_is_listed_by_the_stack_and_resource_that_set_it_and_exits_1() -> None:
    # GIVEN two packages: CAB approved both; PROD recorded a key on one, and left one release
    held = Table(
        record(ARN, ModelApprovalStatus=Entry((Manager(CAB, "Approved"),)),
               m_evaluation=Entry((Manager(CAB, "s3://a"), Manager(PROD, "s3://b")))),
        record(OTHER_ARN, ModelApprovalStatus=Entry((Manager(CAB, "Approved"),)),
               m_stage=Entry(left=Left(PROD, "qa", None))),
        Record("arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/9", 4, Ownership()),  # idle
    )
    live = {ARN: package("Rejected", evaluation="s3://a"), OTHER_ARN: package("Approved", stage="qa")}
    found = report(held, live.get)
    assert found.status == DRIFT and found.packages == 2
    text = as_text(found)
    # THEN each stack and resource has its own table of the items it set that drifted
    cab, prod = text.index("stack cab, resource ApproveChurn"), text.index("stack prod, resource RecordEvaluation")
    assert cab < prod
    assert "ModelApprovalStatus  changed  Approved" in text[cab:prod] and "Rejected" in text[cab:prod]
    assert "metadata evaluation" in text[prod:] and "metadata stage       left     (absent)" in text[prod:]
    assert "also managed by: stack cab, resource ApproveChurn" in text[prod:]
    assert [(d["ModelPackageArn"], d["item"], d["kind"]) for d in json.loads(as_json(found))["drift"]] == [
        (ARN, "ModelApprovalStatus", "changed"), (ARN, "metadata evaluation", "changed"),
        (OTHER_ARN, "metadata stage", "left")]


def test_a_package_that_cannot_be_described_makes_the_report_incomplete_exit_2() -> None:
    def describe(arn: str) -> dict[str, Any] | None:
        raise AccessDenied("DescribeModelPackage on 111122223333's package refused", "ModelPackageArn")

    found = report(Table(record(ARN, ModelApprovalStatus=Entry((Manager(CAB, "Approved"),)))), describe)
    assert found.status == ERROR and found.errors[0].startswith(ARN)
    assert "Not checked (the report is incomplete)" in as_text(found)


def test_an_unreadable_table_exits_2() -> None:
    found = report(Table(down=True), lambda arn: None)
    assert found.status == ERROR and "the table cannot be read" in found.errors[0]


def test_a_missing_table_argument_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PRIOR_STATE_TABLE", raising=False)
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == ERROR and "--table is required" in capsys.readouterr().err
