"""The local registry is multi-account: each account owns its packages, the caller's
account comes from its credentials, a group's resource policy decides what other
accounts may do, and STS AssumeRole hands out credentials of the role's account.
Plain botocore clients, as the function's would be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devkit import access
from devkit.registry import Call, LocalRegistry, SeedError

ROOT = Path(__file__).resolve().parents[2]
CENTRAL = ROOT / "devkit" / "demo" / "central-registry.yaml"
FUNCTION, REGISTRY = "123456789012", "111122223333"
GOVERNOR = f"arn:aws:iam::{REGISTRY}:role/model-registry-governor"
DEFAULT = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(registry: LocalRegistry, service: str = "sagemaker", **credentials: str) -> Any:
    """A client as the function makes one: its credentials (default: the function's), no retries."""
    return botocore.session.get_session().create_client(
        service, region_name="eu-west-1", endpoint_url=registry.endpoint,
        config=Config(retries={"total_max_attempts": 1}), **(credentials or DEFAULT))


@pytest.fixture
def central(registry: LocalRegistry) -> dict[str, str]:
    labels = registry.seed(CENTRAL)
    registry.reset_counts()
    return labels


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = excinfo.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"].get("Message", ""))


def test_a_package_of_another_account_is_refused_without_a_grant(registry: LocalRegistry,
                                                                 central: dict[str, str]) -> None:
    arn = central["fraud/1"]
    sagemaker = client(registry)
    with pytest.raises(ClientError) as refused:
        sagemaker.describe_model_package(ModelPackageName=arn)
    status, code, message = error_of(refused)
    assert (status, code) == (400, "AccessDeniedException")
    assert message == (f"User: arn:aws:sts::{FUNCTION}:assumed-role/model-package-resource/local is not authorized "
                       f"to perform: sagemaker:DescribeModelPackage on resource: {arn} because no resource-based "
                       "policy allows the sagemaker:DescribeModelPackage action")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert [c[:4] for c in registry.calls] == [("DescribeModelPackage", FUNCTION, REGISTRY, False),
                                               ("UpdateModelPackage", FUNCTION, REGISTRY, False)]
    assert registry.client_of(arn).describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == \
        "PendingManualApproval"


def test_the_groups_policy_grants_describe_and_update(registry: LocalRegistry, central: dict[str, str]) -> None:
    arn = central["churn/2"]
    sagemaker = client(registry)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                                   CustomerMetadataProperties={"ticket": "CAB-1"})
    live = sagemaker.describe_model_package(ModelPackageName=arn)
    assert live["ModelApprovalStatus"] == "Approved" and live["CustomerMetadataProperties"]["ticket"] == "CAB-1"
    assert registry.calls == [Call("UpdateModelPackage", FUNCTION, REGISTRY, True, registry.calls[0].principal, arn),
                              Call("DescribeModelPackage", FUNCTION, REGISTRY, True, registry.calls[1].principal, arn)]


def test_an_explicit_deny_wins_over_an_allow(registry: LocalRegistry, central: dict[str, str]) -> None:
    arn = central["churn/1"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FUNCTION}:root"}, "Action": "sagemaker:*",
         "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "sagemaker:Update*",
         "Resource": f"arn:aws:sagemaker:*:{REGISTRY}:model-package/churn/*"}]}
    registry.client_of(arn).put_model_package_group_policy(ModelPackageGroupName="churn",
                                                           ResourcePolicy=json.dumps(policy))
    sagemaker = client(registry)
    sagemaker.describe_model_package(ModelPackageName=arn)
    with pytest.raises(ClientError) as refused:
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    assert error_of(refused)[2].endswith("with an explicit deny in a resource-based policy")


def test_assumed_role_credentials_act_as_the_roles_account(registry: LocalRegistry,
                                                           central: dict[str, str]) -> None:
    own = registry.seed(ROOT / "devkit" / "demo" / "registry.yaml")  # the function's account's churn group
    credentials = registry.assume(GOVERNOR, session="ApproveModel")
    identity = client(registry, "sts", **credentials).get_caller_identity()
    assert identity["Account"] == REGISTRY
    as_role = client(registry, **credentials)
    arn = central["fraud/1"]  # no grant: the role's own account needs none
    as_role.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert as_role.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
    with pytest.raises(ClientError, match="AccessDeniedException"):  # the function's account grants nothing
        as_role.describe_model_package(ModelPackageName=own["churn/1"])
    principal = f"arn:aws:sts::{REGISTRY}:assumed-role/model-registry-governor/ApproveModel"
    assert [c[:4] for c in registry.calls] == [("AssumeRole", FUNCTION, REGISTRY, True),
                                               ("UpdateModelPackage", REGISTRY, REGISTRY, True),
                                               ("DescribeModelPackage", REGISTRY, REGISTRY, True),
                                               ("DescribeModelPackage", REGISTRY, FUNCTION, False)]
    assert {c.principal for c in registry.calls[1:]} == {principal}


@pytest.mark.parametrize("role", [f"arn:aws:iam::{REGISTRY}:role/no-such-role",
                                  f"arn:aws:iam::{REGISTRY}:role/trusts-another-account"])
def test_assume_role_needs_the_role_and_its_trust(registry: LocalRegistry, central: dict[str, str],
                                                  role: str) -> None:
    registry.client(account=REGISTRY, service="iam").create_role(
        RoleName="trusts-another-account", AssumeRolePolicyDocument=json.dumps({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]}))
    registry.reset_counts()
    with pytest.raises(ClientError) as refused:
        client(registry, "sts").assume_role(RoleArn=role, RoleSessionName="s1")
    assert error_of(refused) == (403, "AccessDenied", f"User: arn:aws:sts::{FUNCTION}:assumed-role/"
                                 f"model-package-resource/local is not authorized to perform: sts:AssumeRole on "
                                 f"resource: {role}")
    assert [c[:4] for c in registry.calls] == [("AssumeRole", FUNCTION, REGISTRY, False)]


def test_the_registrys_own_clients_act_as_the_owner_and_are_not_recorded(registry: LocalRegistry,
                                                                         central: dict[str, str]) -> None:
    arn = central["fraud/1"]
    registry.client_of(arn).update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"drift": "ok"})
    assert registry.calls == [] and registry.requests["UpdateModelPackage"] == 1


def test_group_policies_are_stored_read_and_deleted(registry: LocalRegistry, central: dict[str, str]) -> None:
    sagemaker = registry.client(account=REGISTRY)
    policy = json.loads(sagemaker.get_model_package_group_policy(ModelPackageGroupName="churn")["ResourcePolicy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": [FUNCTION]}
    group_arn = f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package-group/churn"
    sagemaker.delete_model_package_group_policy(ModelPackageGroupName=group_arn)
    with pytest.raises(ClientError, match="Cannot find resource policy"):
        sagemaker.get_model_package_group_policy(ModelPackageGroupName="churn")
    with pytest.raises(ClientError, match="AccessDeniedException"):  # the grant went with it
        client(registry).describe_model_package(ModelPackageName=central["churn/1"])
    bad = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sagemaker:*",
                          "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]}
    with pytest.raises(ClientError, match="does not evaluate Condition"):
        sagemaker.put_model_package_group_policy(ModelPackageGroupName="churn", ResourcePolicy=json.dumps(bad))
    with pytest.raises(ClientError, match="does not exist"):
        sagemaker.put_model_package_group_policy(ModelPackageGroupName="nope", ResourcePolicy=json.dumps(policy))


MINE = access.Caller(FUNCTION, f"arn:aws:sts::{FUNCTION}:assumed-role/model-package-resource/local")
ROLE = access.Caller(REGISTRY, f"arn:aws:sts::{REGISTRY}:assumed-role/governor/s1", role="governor")
PACKAGE = f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/churn/3"


@pytest.mark.parametrize(("principal", "caller", "verdict"), [
    ("*", MINE, "allow"),
    ({"AWS": FUNCTION}, MINE, "allow"),
    ({"AWS": [f"arn:aws:iam::{FUNCTION}:root"]}, MINE, "allow"),
    ({"AWS": f"arn:aws:iam::{FUNCTION}:role/any-role"}, MINE, "allow"),  # default credentials: any role of it
    ({"AWS": "444455556666"}, MINE, "implicit"),
    ({"AWS": f"arn:aws:iam::{REGISTRY}:role/path/governor"}, ROLE, "allow"),
    ({"AWS": f"arn:aws:iam::{REGISTRY}:role/other"}, ROLE, "implicit"),  # assumed role: that role only
    ({"AWS": f"arn:aws:sts::{REGISTRY}:assumed-role/governor/s1"}, ROLE, "allow"),
    ({"AWS": f"arn:aws:sts::{REGISTRY}:assumed-role/governor/s2"}, ROLE, "implicit"),
])
def test_principals(principal: Any, caller: access.Caller, verdict: str) -> None:
    policy = {"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sagemaker:DescribeModelPackage",
                             "Resource": PACKAGE}]}
    assert access.decide(policy, caller, "sagemaker:DescribeModelPackage", PACKAGE) == verdict


@pytest.mark.parametrize(("action", "resource", "verdict"), [
    ("sagemaker:*", "*", "allow"),
    (["sagemaker:describemodelpackage"], PACKAGE, "allow"),  # actions are case-insensitive
    ("sagemaker:Describe*", f"arn:aws:sagemaker:*:{REGISTRY}:model-package/churn/*", "allow"),
    ("sagemaker:UpdateModelPackage", "*", "implicit"),
    ("sagemaker:*", f"arn:aws:sagemaker:*:{REGISTRY}:model-package/fraud/*", "implicit"),
    ("sagemaker:*", f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/churn/?", "allow"),
])
def test_actions_and_resources(action: Any, resource: str, verdict: str) -> None:
    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource}]}
    assert access.decide(policy, MINE, "sagemaker:DescribeModelPackage", PACKAGE) == verdict


def test_multi_account_seed_labels_and_errors(registry: LocalRegistry, tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text('accounts:\n  - account: "111122223333"\n    groups: [{name: churn, versions: [{}]}]\n'
                    '  - groups: [{name: churn, versions: [{}]}, {name: solo, versions: [{}]}]\n')
    labels = registry.seed(seed)
    assert labels == {
        f"{REGISTRY}/churn/1": f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/churn/1",
        f"{FUNCTION}/churn/1": f"arn:aws:sagemaker:eu-west-1:{FUNCTION}:model-package/churn/1",
        f"{FUNCTION}/solo/1": f"arn:aws:sagemaker:eu-west-1:{FUNCTION}:model-package/solo/1",
        "solo/1": f"arn:aws:sagemaker:eu-west-1:{FUNCTION}:model-package/solo/1",
    }  # churn/1 names two packages: only the long labels
    seed.write_text('accounts:\n  - account: "111122223333"\n    groups:\n      - name: g\n'
                    '        policy: {Statement: [{Effect: Allow, Principal: "*"}]}\n')
    with pytest.raises(SeedError, match=r"field 'accounts\[0\]\.groups\[0\]\.policy': Statement\[0\] has no Action"):
        registry.seed(seed)


def test_a_single_account_seed_of_another_account_grants_the_function(registry: LocalRegistry,
                                                                      tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(f'region: us-east-1\naccount: "{REGISTRY}"\ngroups: [{{name: churn, versions: [{{}}]}}]\n')
    arn = registry.seed(seed)["churn/1"]
    sagemaker = botocore.session.get_session().create_client(
        "sagemaker", region_name="us-east-1", endpoint_url=registry.endpoint, **DEFAULT)
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelPackageArn"] == arn
    assert registry.calls[-1][:4] == ("DescribeModelPackage", FUNCTION, REGISTRY, True)


def test_the_central_registry_scenario_names_what_its_seed_holds(registry: LocalRegistry) -> None:
    from devkit.runner import load_scenario

    path = ROOT / "devkit" / "demo" / "central-registry-scenario.yaml"
    scenario = load_scenario(path)
    labels = registry.seed(path.parent / scenario["registry"])
    declared = [step.get("create") or step.get("update") for step in scenario["steps"]]
    assert {p["ModelPackageArn"] for p in declared if p} <= set(labels)
    for role in {p["RoleArn"] for p in declared if p and "RoleArn" in p}:
        registry.assume(role)
    assert {c[:4] for c in registry.calls} == {("AssumeRole", FUNCTION, REGISTRY, True)}
