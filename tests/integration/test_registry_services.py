"""The local registry also serves DynamoDB (the prior-state table, as template.yaml
declares it) and STS in the same in-process server: counted, and faulted in each
protocol's own error shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from devkit.registry import Fault, LocalRegistry

ROOT = Path(__file__).resolve().parents[2]
GOVERNOR = "arn:aws:iam::111122223333:role/model-registry-governor"
KEY = {"ResourceKey": {"S": "stack|ApproveModel"}, "ModelPackageArn": {"S": "arn:p"}}


def client(registry: LocalRegistry, service: str) -> Any:
    return botocore.session.get_session().create_client(
        service, region_name=registry.region, endpoint_url=registry.endpoint,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5),
        aws_access_key_id="testing", aws_secret_access_key="testing")


def template_table() -> dict[str, Any]:
    """The declaration, read by cfn-lint's own decoder (not the registry's reader)."""
    from cfnlint.decode import decode

    template, matches = decode(str(ROOT / "template.yaml"))
    assert template is not None, matches
    return dict(template["Resources"]["PriorStateTable"]["Properties"])


def test_the_table_has_the_templates_declaration_after_start_and_after_reset(registry: LocalRegistry) -> None:
    declared = template_table()
    dynamodb = client(registry, "dynamodb")
    for _ in range(2):
        table = dynamodb.describe_table(TableName=registry.table_name)["Table"]
        assert table["KeySchema"] == declared["KeySchema"]
        assert table["AttributeDefinitions"] == declared["AttributeDefinitions"]
        assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
        assert table["TableArn"].split(":")[3:5] == [registry.region, "123456789012"]
        dynamodb.put_item(TableName=registry.table_name, Item={**KEY, "Version": {"N": "1"}})
        registry.reset()
        assert "Item" not in dynamodb.get_item(TableName=registry.table_name, Key=KEY)


def test_the_environment_points_every_service_at_the_registry(registry: LocalRegistry,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in registry.environment().items():
        monkeypatch.setenv(name, value)
    session = botocore.session.get_session()  # endpoints from AWS_ENDPOINT_URL_<SERVICE>, as the function's
    table = session.create_client("dynamodb").describe_table(TableName=registry.environment()["PRIOR_STATE_TABLE"])
    assert table["Table"]["TableStatus"] == "ACTIVE"
    assert session.create_client("sts").get_caller_identity()["Account"] == "123456789012"
    assert {"DescribeTable", "GetCallerIdentity"} <= set(registry.requests)


def test_counts_include_dynamodb_and_sts_operations(registry: LocalRegistry) -> None:
    registry.seed(ROOT / "devkit" / "demo" / "central-registry.yaml")
    registry.reset_counts()
    dynamodb = client(registry, "dynamodb")
    dynamodb.put_item(TableName=registry.table_name, Item=KEY)
    dynamodb.get_item(TableName=registry.table_name, Key=KEY)
    dynamodb.delete_item(TableName=registry.table_name, Key=KEY)
    client(registry, "sts").assume_role(RoleArn=GOVERNOR, RoleSessionName="counted")
    assert dict(registry.requests) == {"PutItem": 1, "GetItem": 1, "DeleteItem": 1, "AssumeRole": 1}


def put_item(registry: LocalRegistry) -> Any:
    return client(registry, "dynamodb").put_item(TableName=registry.table_name, Item=KEY)


def get_item(registry: LocalRegistry) -> Any:
    return client(registry, "dynamodb").get_item(TableName=registry.table_name, Key=KEY)


def assume_role(registry: LocalRegistry) -> Any:
    return client(registry, "sts").assume_role(RoleArn=GOVERNOR, RoleSessionName="faulted")


@pytest.mark.parametrize(("fault", "call", "status", "code"), [
    (Fault("http500", "PutItem"), put_item, 500, "InternalServerError"),
    (Fault("throttle", "PutItem"), put_item, 400, "ProvisionedThroughputExceededException"),
    (Fault("conflict", "PutItem"), put_item, 400, "ConditionalCheckFailedException"),
    (Fault("throttle", "GetItem"), get_item, 400, "ProvisionedThroughputExceededException"),
    (Fault("denied", "dynamodb:*"), get_item, 400, "AccessDeniedException"),
    (Fault("http503", "GetItem"), get_item, 503, "ServiceUnavailable"),
    (Fault("throttle", "AssumeRole"), assume_role, 400, "Throttling"),
    (Fault("denied", "AssumeRole"), assume_role, 403, "AccessDenied"),
    (Fault("http500", "sts:*"), assume_role, 500, "InternalFailure"),
])
def test_faults_answer_in_each_protocols_error_shape(registry: LocalRegistry, fault: Fault,
                                                     call: Callable[[LocalRegistry], Any], status: int,
                                                     code: str) -> None:
    registry.seed(ROOT / "devkit" / "demo" / "central-registry.yaml")
    registry.inject(fault)
    with pytest.raises(ClientError) as failed:
        call(registry)
    response = failed.value.response
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (status, code)
    call(registry)  # the fault was used up


def test_a_conflict_fault_does_not_apply_to_sts(registry: LocalRegistry) -> None:
    registry.seed(ROOT / "devkit" / "demo" / "central-registry.yaml")
    registry.inject(Fault("conflict", "*"))
    assume_role(registry)  # STS has no conflict: the fault waits for a request it applies to
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        put_item(registry)


def test_down_fails_the_dynamodb_call_as_unreachable_and_it_is_not_counted(registry: LocalRegistry) -> None:
    registry.inject(Fault("down", "dynamodb:*", times=2))
    for call in (put_item, get_item):
        with pytest.raises(ConnectionClosedError):
            call(registry)
    assert registry.requests == {}
    put_item(registry)  # back up
    assert dict(registry.requests) == {"PutItem": 1}


def test_an_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="fault kind 'outage'"):
        Fault("outage", "PutItem")


def test_a_denied_fault_names_the_caller_the_action_and_the_resource(registry: LocalRegistry) -> None:
    registry.inject(Fault("denied", "GetItem"))
    with pytest.raises(ClientError) as refused:
        get_item(registry)
    assert refused.value.response["Error"]["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/model-package-resource/local is not authorized to perform: "
        f"dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/{registry.table_name} "
        "because no identity-based policy allows the dynamodb:GetItem action")
