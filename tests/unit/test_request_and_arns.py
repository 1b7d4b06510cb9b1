"""The event parsed once: kinds of change, ServiceTimeout's clock, ARNs and
partitions from botocore's data, role session names and the credentials cache."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from model_package_resource.arns import parse_package_arn, parse_role_arn
from model_package_resource.credentials import RoleCredentials, session_name
from model_package_resource.errors import InvalidProperty, RoleError
from model_package_resource.request import parse_request, signed_time
from model_package_resource.response_url import response_url_refusal
from model_package_resource.timing import Deadline
from tests.helpers import ARN, OTHER_ARN

URL = "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/r?X-Amz-Date=20261129T120000Z"


def event(request_type: str = "Update", new: str = ARN, old: str = ARN, physical: str = ARN) -> dict[str, Any]:
    return {"RequestType": request_type, "RequestId": "r", "LogicalResourceId": "Approve",
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/deploy-churn/1",
            "PhysicalResourceId": physical, "ResourceProperties": {"ModelPackageArn": new, "ServiceTimeout": "300"},
            "OldResourceProperties": {"ModelPackageArn": old}}


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"request_type": "Create"}, "create"),
        ({}, "update"),
        ({"new": OTHER_ARN}, "replacement"),  # CloudFormation holds the old package
        ({"old": OTHER_ARN}, "replacement-rollback"),  # it holds the new properties' package
        ({"request_type": "Delete"}, "release"),
        # A Delete releases the properties' package, whatever the id (a failed Create's)
        ({"request_type": "Delete", "physical": "failed-create/r"}, "release"),
        ({"request_type": "Delete", "physical": "failed-create/r", "new": "not-an-arn"}, "nothing"),
    ],
)
def test_each_event_is_parsed_once_into_its_kind_of_change(change: dict[str, str], kind: str) -> None:
    request = parse_request(event(**change), URL)
    assert request.kind == kind
    assert request.service_timeout == 300 and request.stack_name == "deploy-churn"
    assert request.signed_at == datetime.datetime(2026, 11, 29, 12, tzinfo=datetime.UTC).timestamp()


def test_a_url_without_x_amz_date_gives_no_bound() -> None:
    assert signed_time("https://x.amazonaws.com/r?Expires=1") is None
    assert signed_time("https://x.amazonaws.com/r?X-Amz-Date=yesterday") is None


@pytest.mark.parametrize(
    ("arn", "partition"),
    [
        ("arn:aws-iso-f:sagemaker:us-isof-south-1:123456789012:model-package/churn/1", "aws-iso-f"),
        ("arn:aws-eusc:sagemaker:eusc-de-east-1:123456789012:model-package/churn/1", "aws-eusc"),
        ("arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/churn/1", "aws-us-gov"),
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/churn/1", "aws-cn"),
    ],
)
def test_partitions_come_from_botocores_data(arn: str, partition: str) -> None:
    assert parse_package_arn(arn).partition == partition


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("arn:aws:sagemaker:us-isof-south-1:123456789012:model-package/churn/1", "belongs to partition aws-iso-f"),
        ("arn:aws:sagemaker:xx-nowhere-1:123456789012:model-package/churn/1", "in no AWS partition"),
    ],
)
def test_a_region_outside_the_arns_partition_is_refused(arn: str, message: str) -> None:
    with pytest.raises(InvalidProperty, match=message):
        parse_package_arn(arn)


@pytest.mark.parametrize("host", ["bucket.s3.us-isof-south-1.csp.hci.ic.gov", "b.s3.us-iso-east-1.c2s.ic.gov",
                                  "b.s3.cn-north-1.amazonaws.com.cn", "b.s3.eusc-de-east-1.amazonaws.eu"])
def test_response_hosts_of_every_partition_are_aws_hosts(host: str) -> None:
    assert response_url_refusal(f"https://{host}/r?X-Amz-Signature=s", frozenset()) is None


@pytest.mark.parametrize("url", ["https://bucket.s3.amazonaws.com/r/é?X-Amz-Signature=s",
                                 "https://bücket.s3.amazonaws.com/r", "https://b.s3.amazonaws.com/a b"])
def test_a_url_no_presigned_url_could_be_is_refused(url: str) -> None:
    assert response_url_refusal(url, frozenset()) == "the ResponseURL has characters no presigned URL has"


def test_role_arn_is_parsed_and_must_share_the_packages_partition() -> None:
    package = parse_package_arn(ARN)
    role = parse_role_arn("arn:aws:iam::111122223333:role/ml/model-registry-governor", package)
    assert (role.account, role.name) == ("111122223333", "model-registry-governor")
    with pytest.raises(InvalidProperty, match="partition aws-cn, the package in aws"):
        parse_role_arn("arn:aws-cn:iam::111122223333:role/r", package)
    with pytest.raises(InvalidProperty, match="is not an IAM role ARN"):
        parse_role_arn("arn:aws:iam::111122223333:user/r", package)


def test_session_name_uses_valid_characters_and_at_most_64() -> None:
    assert session_name("deploy-churn", "ApproveModel") == "deploy-churn.ApproveModel"
    assert session_name("a" * 80, "B") == "a" * 64
    assert session_name("st/ack", "L!d") == "st-ack.L-d"


class FakeSts:
    """An STS client: answers AssumeRole with numbered credentials, or refuses."""

    class exceptions:  # noqa: N801 - botocore's attribute name
        from botocore.exceptions import ClientError

    def __init__(self, expires_in: float, refuse: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.expires_in, self.refuse = expires_in, refuse

    def assume_role(self, **params: Any) -> dict[str, Any]:
        params.pop("__deadline", None)
        self.calls.append(params)
        if self.refuse:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole")
        n = len(self.calls)
        return {"Credentials": {"AccessKeyId": f"AKIA{n}", "SecretAccessKey": "s", "SessionToken": "t",
                                "Expiration": 1_000.0 + self.expires_in}}


def test_credentials_are_cached_per_role_until_shortly_before_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    sts = FakeSts(expires_in=900)
    monkeypatch.setattr("model_package_resource.clients.client", lambda *a, **k: sts)
    now = [1_000.0]
    roles = RoleCredentials(clock=lambda: now[0])
    role = parse_role_arn("arn:aws:iam::111122223333:role/governor", parse_package_arn(ARN))
    first = roles.for_role(role, "eu-west-1", "s.L", Deadline.within(30))
    assert [{k: v for k, v in call.items() if k != "__deadline"} for call in sts.calls] == [
        {"RoleArn": role.arn, "RoleSessionName": "s.L", "DurationSeconds": 900}]
    now[0] += 500  # 400 s left: still more than the 300 s margin
    assert roles.for_role(role, "eu-west-1", "s.L", Deadline.within(30)) is first
    now[0] += 150  # 250 s left: asked again
    assert roles.for_role(role, "eu-west-1", "s.L", Deadline.within(30))["aws_access_key_id"] == "AKIA2"
    # Another resource using the same role gets its own session (its name in CloudTrail).
    assert roles.for_role(role, "eu-west-1", "s.Other", Deadline.within(30))["aws_access_key_id"] == "AKIA3"


def test_sts_refusal_is_a_role_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("model_package_resource.clients.client", lambda *a, **k: FakeSts(900, refuse=True))
    role = parse_role_arn("arn:aws:iam::111122223333:role/governor", parse_package_arn(ARN))
    with pytest.raises(RoleError, match="AccessDenied: not trusted") as raised:
        RoleCredentials().for_role(role, "eu-west-1", "s.L", Deadline.within(30))
    assert str(raised.value).startswith("Cannot assume role at RoleArn: STS AssumeRole")


def test_old_properties_that_cannot_be_parsed_still_name_their_package() -> None:
    # An Update after an upgrade that checks more strictly: the old properties fail to
    # parse, but they name another package, so this is still a replacement.
    changed = event(new=OTHER_ARN)
    changed["OldResourceProperties"] = {"ModelPackageArn": ARN, "Legacy": "x",
                                        "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    assert parse_request(changed, URL).kind == "replacement"
    rollback = event(old=OTHER_ARN)
    rollback["OldResourceProperties"] = {"ModelPackageArn": OTHER_ARN, "Legacy": "x",
                                         "CustomerMetadataProperties": {"ticket": "CAB-1"}}
    request = parse_request(rollback, URL)
    assert request.kind == "replacement-rollback"
    assert request.abandoned is not None and dict(request.abandoned.metadata) == {"ticket": "CAB-1"}
    # The same package: the rollback of a refused, invalid Update diffs against the restored ones.
    same = event()
    same["OldResourceProperties"] = {"ModelPackageArn": ARN, "Legacy": "x"}
    assert parse_request(same, URL).baseline == parse_request(same, URL).declared
