"""template.yaml and examples/: cfn-lint finds nothing, the IAM policy is least
privilege, and the package that `sam build` made imports on python3.13 with the
pinned dependencies."""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "template.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
BUILD = ROOT / ".aws-sam" / "build" / "ModelPackageResourceFunction"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_finds_no_error_and_no_warning(path: Path) -> None:
    findings = lint_file(path)
    assert [str(f) for f in findings] == []


@functools.cache
def _decoded() -> dict[str, Any]:
    decoded, problems = decode(str(ROOT / "template.yaml"))
    assert not problems
    return dict(decoded)


def template() -> dict[str, Any]:
    return copy.deepcopy(_decoded())


PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1",
          "AWS::StackName": "model-package-resource", "AWS::URLSuffix": "amazonaws.com"}
URL_SUFFIXES = {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com"}
NO_VALUE = object()


def evaluate(node: Any, parameters: dict[str, Any], pseudo: dict[str, str] | None = None,
             conditions: dict[str, Any] | None = None) -> Any:
    """Just enough of CloudFormation's intrinsics to resolve the policies and the alarm:
    Ref (parameters, pseudo parameters, AWS::NoValue), Join, Split, Select, Sub, If, Not,
    Equals, with the template's Conditions. A CommaDelimitedList is a Python list
    (CloudFormation makes [""] of an empty one)."""
    pseudo = {**PSEUDO, **(pseudo or {})}
    conditions = template().get("Conditions", {}) if conditions is None else conditions

    def value(n: Any) -> Any:
        if isinstance(n, list):
            return [v for v in (value(item) for item in n) if v is not NO_VALUE]
        if isinstance(n, dict) and len(n) == 1:
            (name, argument), = n.items()
            if name == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                return parameters[argument] if argument in parameters else pseudo[argument]
            if name == "Fn::Join":
                return argument[0].join(value(argument[1]))
            if name == "Fn::Split":
                return value(argument[1]).split(argument[0])
            if name == "Fn::Select":
                return value(argument[1])[int(argument[0])]
            if name == "Fn::Sub":
                text, variables = argument if isinstance(argument, list) else (argument, {})
                values = {**pseudo, **parameters, **{k: value(v) for k, v in variables.items()}}
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(values[m.group(1)]), text)
            if name == "Fn::If":
                return value(argument[1] if condition(argument[0]) else argument[2])
            if name == "Fn::Not":
                return not value(argument[0])
            if name == "Fn::Equals":
                return value(argument[0]) == value(argument[1])
            if name == "Condition":
                return condition(argument)
        if isinstance(n, dict):
            return {k: v for k, v in ((k, value(v)) for k, v in n.items()) if v is not NO_VALUE}
        return n

    def condition(name: str) -> bool:
        return bool(value(conditions[name]))

    return value(node)


DEFAULTS = {"ProviderName": "", "AllowedModelPackageGroups": ["*"], "RegistryAccountIds": [""], "AssumableRoleArns": [""],
            "KmsKeyArns": [""], "LogLevel": "INFO", "LogRetentionInDays": "365", "AlarmTopicArn": ""}


def policy_statements(partition: str = "aws", **parameters: Any) -> list[dict[str, Any]]:
    """The function's policy statements, intrinsics evaluated for these parameter values."""
    function = template()["Resources"]["ModelPackageResourceFunction"]["Properties"]
    raw = [s for policy in function["Policies"] for s in policy["Statement"]]
    pseudo = {"AWS::Partition": partition, "AWS::URLSuffix": URL_SUFFIXES[partition]}
    return list(evaluate(raw, {**DEFAULTS, **parameters}, pseudo))


def sagemaker_statement(statements: list[dict[str, Any]]) -> dict[str, Any]:
    [statement] = [s for s in statements if any(a.startswith("sagemaker:") for a in s["Action"])]
    return statement


def allowed(statement: dict[str, Any], arn: str) -> bool:
    """IAM's decision for one package ARN: a Resource pattern matches and the
    StringEquals conditions hold (aws:ResourceAccount is the account in the ARN)."""
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources):
        return False
    account = arn.split(":")[4]
    for key, expected in statement.get("Condition", {}).get("StringEquals", {}).items():
        assert key == "aws:ResourceAccount", key
        if account not in (expected if isinstance(expected, list) else [expected]):
            return False
    return True


GROUPS = [["*"], [""], ["churn"], ["churn", "fraud"], ["churn", "fraud", "team-a.b"]]  # [""]: grants nothing
REGISTRIES = [[""], ["444455556666"], ["444455556666", "777788889999"]]
PARTITIONS = ["aws", "aws-cn", "aws-us-gov"]


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize("registries", REGISTRIES, ids=lambda r: f"{len([a for a in r if a])}-registries")
@pytest.mark.parametrize("groups", GROUPS, ids=lambda g: ",".join(g) or "empty")
def test_sagemaker_statement_grants_exactly_the_groups_in_the_listed_accounts(
        groups: list[str], registries: list[str], partition: str) -> None:
    statement = sagemaker_statement(policy_statements(
        partition, AllowedModelPackageGroups=groups, RegistryAccountIds=registries))
    accounts = ["111122223333", *[a for a in registries if a]]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"]
    # The condition lists exactly this account and the registry accounts, no empty value.
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceAccount": accounts}}
    # Every Resource is a model package ARN of this partition, one per allowed group,
    # never a partition wildcard; the account is left open only because the
    # condition above pins it (see the template's comment).
    assert len(statement["Resource"]) == len(groups)
    for resource, group in zip(statement["Resource"], groups, strict=True):
        assert resource == f"arn:{partition}:sagemaker:*:*:model-package/{group}/*"
    # The decision, probed: allowed exactly for groups x accounts in this partition.
    for probe_partition in PARTITIONS:
        for account in [*accounts, "999999999999"]:
            for group in ["churn", "fraud", "team-a.b", "other"]:
                arn = f"arn:{probe_partition}:sagemaker:eu-west-1:{account}:model-package/{group}/3"
                expected = (probe_partition == partition and account in accounts
                            and (groups == ["*"] or group in groups))
                assert allowed(statement, arn) == expected, arn
    # The group is matched whole: churn's grant is no grant on churn2 or churn/x's parent.
    if groups == ["churn"]:
        assert not allowed(statement, f"arn:{partition}:sagemaker:eu-west-1:111122223333:model-package/churn2/1")


@pytest.mark.parametrize("roles", [[""], ["arn:aws:iam::444455556666:role/model-registry-governor"],
                                   ["arn:aws:iam::444455556666:role/a", "arn:aws:iam::777788889999:role/ml/b"]],
                         ids=["no-roles", "one-role", "two-roles"])
@pytest.mark.parametrize("registries", REGISTRIES, ids=lambda r: f"{len([a for a in r if a])}-registries")
def test_statements_are_exactly_sagemaker_prior_state_and_the_assumable_roles(
        roles: list[str], registries: list[str]) -> None:
    statements = policy_statements(RegistryAccountIds=registries, AssumableRoleArns=roles)
    by_sid = {s["Sid"]: s for s in statements}
    assert len(by_sid) == len(statements)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    expected = {"sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage",
                "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    if roles == [""]:
        assert set(by_sid) == {"GovernModelPackageVersions", "RememberPriorState"}
        assert actions == expected  # no sts:AssumeRole statement at all
    else:
        assert set(by_sid) == {"GovernModelPackageVersions", "RememberPriorState", "AssumeRegistryRoles"}
        assert actions == {*expected, "sts:AssumeRole"}
        assert by_sid["AssumeRegistryRoles"] == {"Sid": "AssumeRegistryRoles", "Effect": "Allow",
                                                 "Action": "sts:AssumeRole", "Resource": roles}
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" and "*" not in s.get("Resource", [])
               for s in statements)


def test_prior_state_statement_is_the_table_only() -> None:
    [statement] = [s for s in policy_statements() if s["Sid"] == "RememberPriorState"]
    assert statement == {"Sid": "RememberPriorState", "Effect": "Allow",
                         "Action": ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem",
                                    "dynamodb:DeleteItem"],
                         "Resource": {"Fn::GetAtt": ["PriorStateTable", "Arn"]}}


KEY = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "arn:aws:kms:us-east-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab"
KEY_SETS = {"aws": [KEY, MRK], "aws-cn": ["arn:aws-cn:kms:cn-north-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
            "aws-us-gov": ["arn:aws-us-gov:kms:us-gov-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"]}


def kms_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    actions = (s["Action"] if isinstance(s["Action"], list) else [s["Action"]] for s in statements)
    return [s for s, a in zip(statements, actions, strict=True) if any(x.startswith("kms:") for x in a)]


def via_service_allows(statement: dict[str, Any], key: str, via: str | None) -> bool:
    """IAM's decision for kms:Decrypt on one key, called through `via` (None: directly):
    a Resource matches exactly and StringLike kms:ViaService holds (a missing key fails)."""
    if key not in statement["Resource"]:
        return False
    [(operator, conditions)] = statement["Condition"].items()
    assert operator == "StringLike" and list(conditions) == ["kms:ViaService"]
    return via is not None and fnmatch.fnmatchcase(via, conditions["kms:ViaService"])


@pytest.mark.parametrize("roles", [[""], ["arn:aws:iam::444455556666:role/model-registry-governor"]],
                         ids=["no-roles", "one-role"])
def test_no_kms_statement_without_kms_key_arns(roles: list[str]) -> None:
    for partition in PARTITIONS:
        statements = policy_statements(partition, AssumableRoleArns=roles)  # KmsKeyArns: the default, [""]
        assert kms_statements(statements) == []
        assert "DecryptModelPackagesThroughSageMaker" not in {s["Sid"] for s in statements}
        assert not any(a.startswith("kms:") for s in statements
                       for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize("count", [1, 2])
def test_kms_statement_decrypts_exactly_the_listed_keys_through_sagemaker(partition: str, count: int) -> None:
    keys = (KEY_SETS[partition] * 2)[:count]
    statements = policy_statements(partition, KmsKeyArns=keys)
    [statement] = kms_statements(statements)
    suffix = URL_SUFFIXES[partition]
    assert statement == {"Sid": "DecryptModelPackagesThroughSageMaker", "Effect": "Allow",
                         "Action": "kms:Decrypt", "Resource": keys,
                         "Condition": {"StringLike": {"kms:ViaService": f"sagemaker.*.{suffix}"}}}
    # The other statements are unchanged by the keys.
    assert [s for s in statements if s is not statement] == policy_statements(partition)
    # The decision, probed: SageMaker in any region of this partition, for a listed key only.
    region = keys[0].split(":")[3]
    for key in [*keys, keys[0].replace("444455556666", "999999999999")]:
        for via in [f"sagemaker.{region}.{suffix}", f"sagemaker.ap-south-1.{suffix}"]:
            assert via_service_allows(statement, key, via) == (key in keys), (key, via)
        for via in [None, f"s3.{region}.{suffix}", f"dynamodb.{region}.{suffix}", f"sagemaker-geospatial.{region}.{suffix}"]:
            assert not via_service_allows(statement, key, via), (key, via)
    other = "amazonaws.com" if partition == "aws-cn" else "amazonaws.com.cn"
    assert not via_service_allows(statement, keys[0], f"sagemaker.{region}.{other}")


def test_kms_keys_and_assumable_roles_add_one_statement_each() -> None:
    roles = ["arn:aws:iam::444455556666:role/model-registry-governor"]
    statements = policy_statements(AssumableRoleArns=roles, KmsKeyArns=[KEY])
    assert [s["Sid"] for s in statements] == [
        "GovernModelPackageVersions", "RememberPriorState", "AssumeRegistryRoles", "DecryptModelPackagesThroughSageMaker"]
    assert all(s["Resource"] != "*" and "*" not in s["Resource"] for s in statements)


@pytest.mark.parametrize(("parameter", "good", "bad"), [
    ("RegistryAccountIds", ["", "111122223333"], ["11112222333", "1111222233334", "abcdabcdabcd", "*"]),
    ("AssumableRoleArns", ["", "arn:aws:iam::111122223333:role/model-registry-governor",
                           "arn:aws-cn:iam::111122223333:role/path/to/r"],
     ["arn:aws:iam::111122223333:user/u", "arn:aws:iam::*:role/r", "arn:aws:iam::111122223333:role/*", "r"]),
    ("KmsKeyArns", ["", KEY, MRK, *KEY_SETS["aws-cn"], *KEY_SETS["aws-us-gov"],
                    "arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
     ["*", "arn:aws:kms:eu-west-1:111122223333:key/*", "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "arn:aws:kms:eu-west-1:111122223333:alias/models", "1234abcd-12ab-34cd-56ef-1234567890ab", "alias/models",
      "arn:aws:kms:eu-west-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab ",
      "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234", "arn:aws:s3:::bucket"]),
    ("AlarmTopicArn", ["", "arn:aws:sns:eu-west-1:111122223333:alerts"], ["alerts", "arn:aws:sqs:eu-west-1:1:q"]),
    ("ProviderName", ["", "model-package-resource", "a" * 64], ["a" * 65, "has space", "x:y"]),
])
def test_parameters_refuse_malformed_values(parameter: str, good: list[str], bad: list[str]) -> None:
    # CloudFormation matches AllowedPattern against each value of a CommaDelimitedList.
    pattern = template()["Parameters"][parameter]["AllowedPattern"]
    assert all(re.fullmatch(pattern, v) for v in good), pattern
    assert not any(re.fullmatch(pattern, v) for v in bad), pattern


def alarm(**parameters: Any) -> dict[str, Any]:
    resource = template()["Resources"]["FailedEventsAlarm"]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    return dict(evaluate(resource["Properties"], {**DEFAULTS, **parameters}))


def test_alarm_watches_the_failed_events_metric_the_function_emits() -> None:
    properties = alarm()
    environment = template()["Resources"]["ModelPackageResourceFunction"]["Properties"]["Environment"]["Variables"]
    assert (properties["Namespace"], properties["MetricName"]) == ("ModelPackageResource", "FailedEvents")
    assert properties["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert properties["Dimensions"] == [{"Name": "service", "Value": "model-package-resource"}]
    assert properties["Dimensions"][0]["Value"] == environment["POWERTOOLS_SERVICE_NAME"]
    assert (properties["Statistic"], properties["Period"], properties["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert properties["TreatMissingData"] == "notBreaching"


def test_alarm_notifies_the_topic_only_when_one_is_given() -> None:
    assert "AlarmActions" not in alarm() and "OKActions" not in alarm()
    topic = "arn:aws:sns:eu-west-1:111122223333:alerts"
    properties = alarm(AlarmTopicArn=topic)
    assert properties["AlarmActions"] == properties["OKActions"] == [topic]


def test_function_is_what_the_contract_names() -> None:
    function = template()["Resources"]["ModelPackageResourceFunction"]["Properties"]
    assert (function["CodeUri"], function["Handler"], function["Runtime"], function["Architectures"]) == (
        "handler/", "app.lambda_handler", "python3.13", ["arm64"])
    export = template()["Outputs"]["ServiceToken"]["Export"]["Name"]
    log_group = template()["Resources"]["FunctionLogGroup"]["Properties"]["LogGroupName"]
    # Default: named after the stack, as before; with ProviderName (StackSets), after it.
    assert evaluate([function["FunctionName"], export, log_group], DEFAULTS | {"ProviderName": ""}) == [
        "model-package-resource-model-package-resource", "model-package-resource-ServiceToken",
        "/aws/lambda/model-package-resource-model-package-resource"]
    assert evaluate([function["FunctionName"], export, log_group], DEFAULTS | {"ProviderName": "governor"}) == [
        "governor", "governor-ServiceToken", "/aws/lambda/governor"]


def test_the_function_has_no_reserved_concurrency() -> None:
    # An invocation over a cap waits in Lambda's asynchronous queue, past its ServiceTimeout
    # under a fleet (measured with make fleet): SageMaker's throttle is the handler's retries' to absorb.
    assert "ReservedConcurrentExecutions" not in template()["Resources"]["ModelPackageResourceFunction"]["Properties"]


def test_consumer_example_uses_every_kind_of_property() -> None:
    decoded, _ = decode(str(ROOT / "examples" / "consumer.yaml"))
    properties: dict[str, Any] = {}
    for resource in decoded["Resources"].values():
        assert resource["Type"] == "Custom::ModelPackage"
        assert resource["Properties"]["ServiceTimeout"] == 300
        properties.update(resource["Properties"])
    assert {"ModelApprovalStatus", "CustomerMetadataProperties", "AdditionalInferenceSpecificationsToAdd",
            "ModelCard", "ModelLifeCycle"} <= set(properties)


def python313() -> str | None:
    found = subprocess.run(["pyenv", "which", "python3.13"], capture_output=True, text=True, check=False,
                           env={**os.environ, "PYENV_VERSION": "3.13.0"}) if shutil.which("pyenv") else None
    if found is not None and found.returncode == 0:
        return found.stdout.strip()
    return shutil.which("python3.13")


def test_built_package_imports_on_python313_with_the_pinned_dependencies() -> None:
    # `make test` runs `make build` (sam build) first; the build folder must be there.
    assert BUILD.is_dir(), "run `make build` (sam build) first"
    interpreter = python313()
    assert interpreter, "python3.13 is needed (pyenv install 3.13.0)"
    pins = dict(line.split("==") for line in (ROOT / "handler" / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    script = (
        "import json, sys, importlib.metadata as md\n"
        f"sys.path.insert(0, {str(BUILD)!r})\n"
        "import app, botocore, botocore.session\n"
        "assert app.lambda_handler and botocore.__file__.startswith(sys.path[0]), botocore.__file__\n"
        "session = botocore.session.get_session()\n"
        f"session.set_config_variable('data_path', {str(BUILD / 'model_package_resource' / 'botocore_data')!r})\n"
        "for region in ('eu-west-1', 'cn-north-1', 'us-gov-west-1'):\n"
        "    client = session.create_client('sagemaker', region_name=region)\n"
        "    shape = client.meta.service_model.operation_model('UpdateModelPackage').input_shape\n"
        "    assert 'ModelLifeCycle' in shape.members, region\n"
        "dists = {d.metadata['Name'].lower().replace('_', '-'): d.version\n"
        f"         for d in md.distributions(path=[{str(BUILD)!r}])}}\n"
        "print(json.dumps({'python': sys.version.split()[0], 'dists': dists}))\n"
    )
    completed = subprocess.run([interpreter, "-I", "-B", "-c", script], capture_output=True, text=True, check=False,
                               env={"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "eu-west-1",
                                    "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["python"].startswith("3.13")
    for name, version in pins.items():
        assert result["dists"].get(name.lower().replace("_", "-")) == version, name


def test_built_package_carries_botocore_data_for_its_three_services_only() -> None:
    assert BUILD.is_dir(), "run `make build` (sam build) first"
    services = sorted(p.name for p in (BUILD / "botocore" / "data").iterdir() if p.is_dir())
    assert services == ["dynamodb", "sagemaker", "sts"]
    assert (BUILD / "model_package_resource" / "botocore_data" / "sagemaker").is_dir()
    assert not (BUILD / "Makefile").exists()


# --- drift: SageMaker's events to the function, the alarm, registry accounts' events ---

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
FUNCTION = "ModelPackageResourceFunction"
STATE_CHANGE = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}


@functools.cache
def _processed() -> dict[str, Any]:
    """template.yaml as CloudFormation gets it: the SAM transform applied by the pinned
    aws-sam-translator (the .venv-sam that `make templates` sets up), as make stackset does."""
    assert SAM_PYTHON.exists(), "run `make templates` first (it sets up .venv-sam)"
    script = ("import json, sys\n"
              f"sys.path.insert(0, {str(ROOT)!r})\n"
              "from samcli.yamlhelper import yaml_parse\n"
              "from tools.stackset import processed_template\n"
              f"print(json.dumps(processed_template(yaml_parse(open({str(ROOT / 'template.yaml')!r}).read()), 'c.zip')))\n")
    completed = subprocess.run([str(SAM_PYTHON), "-c", script], capture_output=True, text=True, check=False,
                               env={**os.environ, "AWS_DEFAULT_REGION": "eu-west-1"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    return dict(json.loads(completed.stdout))


def processed_resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: copy.deepcopy(r) for name, r in _processed()["Resources"].items() if r["Type"] == kind}


def test_sagemakers_model_package_state_changes_invoke_the_function() -> None:
    # One rule: SageMaker's model package state changes on the default bus, to the function.
    [(name, rule)] = processed_resources("AWS::Events::Rule").items()
    properties = rule["Properties"]
    assert properties["EventPattern"] == STATE_CHANGE
    assert "EventBusName" not in properties  # the default bus, where SageMaker sends them
    [target] = properties["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [FUNCTION, "Arn"]}
    assert properties.get("State", "ENABLED") == "ENABLED"
    # The permission lets EventBridge invoke the function for this rule only.
    [permission] = processed_resources("AWS::Lambda::Permission").values()
    assert permission["Properties"] == {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": FUNCTION},
                                        "Principal": "events.amazonaws.com",
                                        "SourceArn": {"Fn::GetAtt": [name, "Arn"]}}


def test_the_drift_check_needs_no_new_permission() -> None:
    # The transform adds the rule and its permission, and not one statement to the
    # function's role: the statements are the template's own, which the tests above
    # hold to exactly DescribeModelPackage/UpdateModelPackage, the table and the roles.
    [role] = processed_resources("AWS::IAM::Role").values()
    function = template()["Resources"][FUNCTION]["Properties"]
    assert [p["PolicyDocument"]["Statement"] for p in role["Properties"]["Policies"]] == [
        p["Statement"] for p in function["Policies"]]
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}]


def drift_alarm(**parameters: Any) -> dict[str, Any]:
    resource = template()["Resources"]["DriftAlarm"]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    return dict(evaluate(resource["Properties"], {**DEFAULTS, **parameters}))


def test_drift_alarm_watches_the_drifted_items_the_function_counts() -> None:
    from model_package_resource.metrics import NAMESPACE, SERVICE

    properties = drift_alarm()
    assert (properties["Namespace"], properties["MetricName"]) == (NAMESPACE, "DriftedItems")
    assert properties["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    assert (properties["Statistic"], properties["Period"], properties["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert properties["TreatMissingData"] == "notBreaching"
    assert "AlarmActions" not in properties and "OKActions" not in properties
    topic = "arn:aws:sns:eu-west-1:111122223333:alerts"
    properties = drift_alarm(AlarmTopicArn=topic)
    assert properties["AlarmActions"] == properties["OKActions"] == [topic]
    assert template()["Outputs"]["DriftAlarmName"]["Value"] == {"Ref": "DriftAlarm"}


def test_registry_accounts_may_put_only_sagemakers_model_package_events_on_the_default_bus() -> None:
    resource = template()["Resources"]["RegistryEventsPolicy"]
    assert resource["Type"] == "AWS::Events::EventBusPolicy"
    assert resource["Condition"] == "HasRegistryAccounts"  # no registry account: no policy at all
    registries = ["444455556666", "777788889999"]
    properties = resource["Properties"]
    assert properties["EventBusName"] == "default"
    statement = properties["Statement"]
    # The principals are exactly the registry accounts.
    assert evaluate(statement["Principal"], {**DEFAULTS, "RegistryAccountIds": registries}) == {"AWS": registries}
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert evaluate(statement["Resource"], DEFAULTS) == "arn:aws:events:eu-west-1:111122223333:event-bus/default"
    assert statement["Condition"] == {"ForAllValues:StringEquals": {"events:source": "aws.sagemaker"},
                                      "StringEquals": {"events:detail-type": STATE_CHANGE["detail-type"][0]}}
    # The StatementId is the stack's own, and fits EventBridge's 64 characters of [A-Za-z0-9_-].
    longest = "arn:aws:cloudformation:eu-west-1:111122223333:stack/" + "s" * 128 + "/5b6ef1c0-8d5a-11ef-9c3a-0a1b2c3d4e5f"
    statement_id = evaluate(properties["StatementId"], DEFAULTS, {"AWS::StackId": longest})
    assert statement_id == "model-package-events-5b6ef1c0-8d5a-11ef-9c3a-0a1b2c3d4e5f"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", statement_id), statement_id


def test_registry_forwarding_example_forwards_the_same_events_to_the_providers_default_bus() -> None:
    example, problems = decode(str(ROOT / "examples" / "registry-forwarding.yaml"))
    assert not problems
    rule = example["Resources"]["ForwardModelPackageEvents"]["Properties"]
    assert rule["EventPattern"] == STATE_CHANGE == template()["Resources"][FUNCTION]["Properties"]["Events"][
        "ModelPackageStateChange"]["Properties"]["Pattern"]
    [target] = rule["Targets"]
    parameters = {"ProviderAccountId": "111122223333", "ProviderRegion": ""}
    conditions = example["Conditions"]
    bus = "arn:aws:events:eu-west-1:111122223333:event-bus/default"
    assert evaluate(target["Arn"], parameters, conditions=conditions) == bus
    assert evaluate(target["Arn"], {**parameters, "ProviderRegion": "us-east-1"}, conditions=conditions) == (
        bus.replace("eu-west-1", "us-east-1"))
    assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardingRole", "Arn"]}
    role = example["Resources"]["ForwardingRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    [policy] = role["Policies"]
    [allowed] = policy["PolicyDocument"]["Statement"]
    assert allowed["Action"] == "events:PutEvents"
    assert evaluate(allowed["Resource"], parameters, conditions=conditions) == bus
    assert "examples/registry-forwarding.yaml" in " ".join(
        decode(str(ROOT / "examples" / "central-registry.yaml"))[0]["Description"].split())
