"""The functional tier: `app.handle` with the services it talks to passed in. SageMaker
is botocore's Stubber on a client of the gateway (exact requests, nothing left
unmade); the prior-state table is an in-memory one with the same conditional
versioning as DynamoDB's."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from botocore.stub import ANY, Stubber

from model_package_resource.clients import session
from model_package_resource.invocation import Services
from model_package_resource.logs import audit_request
from model_package_resource.properties import FIELDS
from model_package_resource.sagemaker import SageMakerGateway
from tests.fakes import MemoryRecords
from tests.helpers import ARN

STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/model-approval/5b6ef1c0-8d5a-11ef-9c3a-0a1b2c3d4e5f"


def described(arn: str = ARN, metadata: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """A DescribeModelPackage response, as SageMaker gives it."""
    group, _, version = arn.rpartition(":model-package/")[2].partition("/")
    response: dict[str, Any] = {
        "ModelPackageName": group,
        "ModelPackageGroupName": group,
        "ModelPackageVersion": int(version or 1),
        "ModelPackageArn": arn,
        "CreationTime": datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": "PendingManualApproval",
        **fields,
    }
    if metadata is not None:
        response["CustomerMetadataProperties"] = metadata
    return response


class SageMakerStub:
    """botocore's Stubber on the gateway's client, one per region."""

    current: ClassVar[SageMakerStub | None] = None

    def __init__(self) -> None:
        self._stubbers: dict[str, Stubber] = {}
        self.table = MemoryRecords()
        self.gateways: list[SageMakerGateway] = []

    def client(self, region: str) -> Any:
        if region not in self._stubbers:
            client = session().create_client("sagemaker", region_name=region, aws_access_key_id="testing",
                                             aws_secret_access_key="testing")
            from model_package_resource.clients import watch_deadline

            watch_deadline(client)
            stubber = Stubber(client)
            stubber.activate()
            self._stubbers[region] = stubber
        return self._stubbers[region].client

    def services(self) -> Services:
        def gateway(package: Any, role: Any, deadline: Any, request: Any) -> SageMakerGateway:
            made = SageMakerGateway(self.client(package.region), deadline, request.identity.request_id, package, role,
                                    on_request=audit_request)
            self.gateways.append(made)
            return made

        return Services(sagemaker=gateway, records=lambda deadline: self.table)

    def _for(self, arn: str) -> Stubber:
        self.client(arn.split(":")[3])
        return self._stubbers[arn.split(":")[3]]

    def describe(self, response: dict[str, Any]) -> None:
        arn = response["ModelPackageArn"]
        self._for(arn).add_response("describe_model_package", response, {"ModelPackageName": arn})

    def describe_error(self, arn: str, code: str, message: str) -> None:
        self._for(arn).add_client_error("describe_model_package", code, message,
                                        expected_params={"ModelPackageName": arn})

    def update(self, arn: str = ARN, **params: Any) -> None:
        self._for(arn).add_response("update_model_package", {"ModelPackageArn": arn},
                                    {"ModelPackageArn": arn, **params, "ClientToken": ANY})

    def update_error(self, arn: str, code: str, message: str) -> None:
        self._for(arn).add_client_error("update_model_package", code, message)

    def record(self, properties: dict[str, Any], priors: dict[str, Any] | None = None,
               stack_id: str = STACK_ID, logical_id: str = "ApproveModel", created: str = "c") -> None:
        """GIVEN the package's record: the events' resource manages what `properties`
        declare (raw, as an event carries them); `priors` name the items it changed
        (the value before; None: absent); `created`: the RequestId of its Create."""
        from model_package_resource.ownership import NO_PRIOR, Entry, Manager, Ownership, ResourceInfo, resource_key
        from model_package_resource.record import Record

        me, priors = resource_key(stack_id, logical_id), priors or {}
        items: dict[Any, Any] = {("field", k): v for k, v in properties.items() if k in FIELDS}
        items.update({("metadata", k): v for k, v in (properties.get("CustomerMetadataProperties") or {}).items()})
        entries = {item: Entry((Manager(me, value),), priors.get(item[1], NO_PRIOR)) for item, value in items.items()}
        arn = str(properties.get("ModelPackageArn", ARN))
        self.table.records[arn] = Record(arn, 1, Ownership(entries, {me: ResourceInfo(created=created)}))

    def verify(self) -> None:
        for stubber in self._stubbers.values():
            stubber.assert_no_pending_responses()
            stubber.deactivate()


@pytest.fixture
def sagemaker() -> Iterator[SageMakerStub]:
    """GIVEN a SageMaker that answers exactly the queued calls; the test fails if
    the handler makes a call not queued or leaves one unmade."""
    stub = SageMakerStub()
    SageMakerStub.current = stub
    yield stub
    SageMakerStub.current = None
    stub.verify()


@pytest.fixture
def describe_response() -> Callable[..., dict[str, Any]]:
    return described
