"""A deployment account governs a central registry's packages, against the local
registry that enforces group resource policies and attributes every call to its
caller's account: the resource-policy path calls as the function's account, the
RoleArn path makes every call as the role's account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devkit.receiver import ResponseReceiver
from devkit.registry import Fault, LocalRegistry
from devkit.runner import Lifecycle

SEED = Path(__file__).resolve().parents[2] / "devkit" / "demo" / "central-registry.yaml"
FUNCTION, REGISTRY = "123456789012", "111122223333"
ROLE = "arn:aws:iam::111122223333:role/model-registry-governor"


@pytest.fixture
def central(registry: LocalRegistry, receiver: ResponseReceiver) -> Lifecycle:
    labels = registry.seed(SEED)
    registry.reset_counts()
    return Lifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000)


def sagemaker_calls(registry: LocalRegistry) -> list[tuple[str, str, str, bool]]:
    return [tuple(c[:4]) for c in registry.calls if c[0].endswith("ModelPackage")]  # type: ignore[misc]


def approve(package: str, **more: Any) -> dict[str, Any]:
    return {"ModelPackageArn": package, "ModelApprovalStatus": "Approved",
            "CustomerMetadataProperties": {"ticket": "CAB-2001"}, **more}


def test_the_resource_policy_path_calls_as_the_functions_account(central: Lifecycle,
                                                                 registry: LocalRegistry) -> None:
    central.create(approve("churn/2"))
    assert central.describe(central.labels["churn/2"])["ModelApprovalStatus"] == "Approved"
    calls = sagemaker_calls(registry)
    assert calls and all(call[1:] == (FUNCTION, REGISTRY, True) for call in calls)


def test_without_a_grant_the_event_fails_saying_how_to_fix_it(central: Lifecycle, registry: LocalRegistry) -> None:
    played = central.create(approve("fraud/1"), expect="FAILED")
    reason = played.response["Reason"]  # type: ignore[index]
    assert reason.startswith("Access denied at ModelPackageArn")
    assert "RegistryAccountIds" in reason and "RoleArn" in reason
    assert central.describe(central.labels["fraud/1"])["ModelApprovalStatus"] == "PendingManualApproval"


def test_the_role_path_makes_every_call_as_the_roles_account(central: Lifecycle, registry: LocalRegistry) -> None:
    central.create(approve("fraud/1", RoleArn=ROLE))
    assert central.describe(central.labels["fraud/1"])["ModelApprovalStatus"] == "Approved"
    calls = sagemaker_calls(registry)
    assert calls and all(call[1:] == (REGISTRY, REGISTRY, True) for call in calls)
    assert [c[0] for c in registry.calls if c[0] == "AssumeRole"]


def test_delete_after_a_replacement_uses_the_old_properties_role(central: Lifecycle, registry: LocalRegistry) -> None:
    central.create(approve("fraud/1", RoleArn=ROLE))
    registry.reset_counts()
    # Replacement onto churn/2 through the policy: the Delete of fraud/1 (no grant) needs the role.
    central.update(approve("churn/2"))
    # Released as close as SageMaker allows: no way back to PendingManualApproval.
    assert central.describe(central.labels["fraud/1"])["ModelApprovalStatus"] == "Rejected"
    fraud = [c for c in sagemaker_calls(registry) if c[0] == "UpdateModelPackage" and c[2] == REGISTRY]
    assert (("UpdateModelPackage", REGISTRY, REGISTRY, True)) in fraud
    assert central.failures == []


def test_sts_refusing_the_role_fails_naming_role_arn_with_no_sagemaker_call(central: Lifecycle,
                                                                          registry: LocalRegistry) -> None:
    registry.inject(Fault("denied", "AssumeRole", 99))
    played = central.create(approve("fraud/1", RoleArn=ROLE), expect="FAILED")
    assert played.response["Reason"].startswith("Cannot assume role at RoleArn")  # type: ignore[index]
    assert sagemaker_calls(registry) == []
