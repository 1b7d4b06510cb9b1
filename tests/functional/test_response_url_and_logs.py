"""lambda_handler end to end. The ResponseURL rule, the logs, the client token and the time deadline.
SageMaker stubbed with the exact requests, a real HTTPS receiver for the response."""


from __future__ import annotations

import json
from typing import Any

import pytest

from app import handle, lambda_handler
from devkit.receiver import ResponseReceiver
from model_package_resource.sagemaker import client_token
from tests.functional.conftest import SageMakerStub, described
from tests.functional.invoke import APPROVED, invoke
from tests.helpers import ARN, Context, LogCapture, load_event


@pytest.mark.parametrize("url", ["https://attacker.example.com/cfn?X-Amz-Signature=abc",
                                 "http://bucket.s3.amazonaws.com/x", None])
def test_response_url_off_aws_gets_no_response_and_no_change(
    url: str | None, sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    event = load_event("create")
    event["ResponseURL"] = url
    result = lambda_handler(event, Context())
    assert result["Sent"] is False and receiver.attempts == 0
    logged = logs.text()
    assert "refusal" in logged and "X-Amz-Signature" not in logged and "abc" not in logged


def test_logs_carry_the_request_and_never_the_url_or_the_event(
    sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    sagemaker.describe(described())
    sagemaker.update(ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform",
                     CustomerMetadataProperties=APPROVED)
    event = load_event("create", receiver.url())
    invoke(event, receiver)
    lines = [json.loads(line) for line in logs.text().splitlines() if line.startswith("{")]
    assert lines and all(line["RequestId"] == event["RequestId"] for line in lines)
    assert all(line["LogicalResourceId"] == "ApproveModel" and line["RequestType"] == "Create" for line in lines)
    audit = [line for line in lines if line["message"] == "UpdateModelPackage"]
    assert audit[0]["request"]["CustomerMetadataProperties"] == APPROVED
    text = json.dumps(lines)
    assert "presigned-signature" not in text and "ResponseURL" not in text and "/cfn-response" not in text


def test_model_card_content_is_redacted_in_the_audit_log(
    sagemaker: SageMakerStub, receiver: ResponseReceiver, logs: LogCapture
) -> None:
    event = load_event("create", receiver.url())
    event["ResourceProperties"] = {"ModelPackageArn": ARN, "ModelCard": {"ModelCardContent": '{"secret": 1}'}}
    sagemaker.describe(described())
    sagemaker.update(ModelCard={"ModelCardContent": '{"secret": 1}'})
    invoke(event, receiver)
    assert '"secret' not in logs.text()


def test_client_token_is_derived_from_request_id_content_and_plan() -> None:
    request = {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"}
    token = client_token("req-1", request, "plan-1")
    assert token == client_token("req-1", dict(reversed(list(request.items()))), "plan-1")
    assert token != client_token("req-2", request, "plan-1")
    assert token != client_token("req-1", {**request, "ModelApprovalStatus": "Rejected"}, "plan-1")
    # The same call sent again by a new plan (after its revert) is no replay.
    assert token != client_token("req-1", request, "plan-2")
    assert len(token) <= 36 and token.isalnum()


def test_response_is_sent_before_the_deadline_when_sagemaker_hangs(
    receiver: ResponseReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    release = threading.Event()

    class Hanging:
        def __getattr__(self, name: str) -> Any:
            def call(**_: Any) -> Any:
                release.wait(30)
                raise RuntimeError("released")
            return call

    from model_package_resource.invocation import Services
    from model_package_resource.sagemaker import SageMakerGateway
    from tests.fakes import MemoryRecords

    services = Services(
        sagemaker=lambda package, role, deadline, request: SageMakerGateway(Hanging(), deadline, "r", package),
        records=lambda deadline: MemoryRecords(),
    )
    started = time.monotonic()
    handle(load_event("create", receiver.url()), Context(3_000), services)
    body = receiver.bodies()[0]
    elapsed = time.monotonic() - started
    release.set()
    assert body["Status"] == "FAILED" and body["Reason"].startswith("Timed out")
    assert elapsed < 3.0


def test_rollback_from_invalid_properties_restores_a_managed_key_changed_meanwhile(
    sagemaker: SageMakerStub, receiver: ResponseReceiver
) -> None:
    # Found by the lifecycle state machine: the failed (invalid) update changed nothing,
    # so the rollback diffs against the restored properties, not against the invalid ones.
    event = load_event("update-rollback", receiver.url())
    event["OldResourceProperties"] = {"ModelPackageArn": ARN, "ModelAprovalStatus": "Approved"}
    sagemaker.record(event["ResourceProperties"], priors={"ticket": None})
    sagemaker.describe(described(metadata={"ticket": "edited-by-pipeline", "approved-by": "ml-platform"},
                                 ModelApprovalStatus="Approved", ApprovalDescription="CAB-1234 approved by ml-platform"))
    sagemaker.update(CustomerMetadataProperties={"ticket": "CAB-1234"})
    assert invoke(event, receiver)["Status"] == "SUCCESS"


def test_no_request_leaves_after_the_deadline_not_even_a_botocore_retry() -> None:
    from model_package_resource import clients
    from model_package_resource.errors import TimedOut
    from model_package_resource.timing import Deadline

    deadline = Deadline.within(30)
    deadline.cancelled.set()  # the response was sent on the work's behalf
    client = clients.client("sagemaker", "eu-west-1", deadline)
    with pytest.raises(TimedOut, match="no time left for DescribeModelPackage"):
        client.describe_model_package(ModelPackageName=ARN, **{clients.DEADLINE: deadline})  # would go to AWS


def test_each_call_is_checked_against_its_own_invocations_budget() -> None:
    from model_package_resource import clients
    from model_package_resource.errors import TimedOut
    from model_package_resource.timing import Deadline

    answered, current = Deadline.within(30), Deadline.within(30)
    answered.cancelled.set()
    client = clients.client("sagemaker", "eu-west-1", current)
    assert clients.client("sagemaker", "eu-west-1", answered) is client  # one cached client for both
    with pytest.raises(TimedOut):
        client.describe_model_package(ModelPackageName=ARN, **{clients.DEADLINE: answered})


def test_a_changed_endpoint_setting_gets_a_fresh_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from model_package_resource import clients
    from model_package_resource.timing import Deadline

    deadline = Deadline.within(60)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:1111")
    first = clients.client("sagemaker", "eu-west-1", deadline)
    assert clients.client("sagemaker", "eu-west-1", deadline) is first
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:2222")
    second = clients.client("sagemaker", "eu-west-1", deadline)
    assert second is not first and second.meta.endpoint_url == "http://127.0.0.1:2222"


def test_the_collector_is_off_during_a_cold_start_and_on_after_the_first_event() -> None:
    import subprocess
    import sys

    script = ("import gc, app\n"
              "off = not gc.isenabled()\n"
              "app.lambda_handler({}, None)  # refused: no ResponseURL, no response\n"
              "print(off, gc.isenabled(), gc.get_freeze_count() > 0)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1].split() == ["True", "True", "True"]
