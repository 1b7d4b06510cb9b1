"""E9000: a Custom::ModelPackage's properties against the resource's schema.

The schema (schemas/custom-modelpackage.json beside this file) is generated from
botocore's model of UpdateModelPackage, the same model the function validates with
at run time. Checked with cfn-lint's own validator, as E3002 checks AWS resources:
wrong types, enums, lengths, counts, required properties and unknown names (with a
suggestion) are reported at their line, and intrinsic functions (Ref, Sub,
ImportValue, If, ...) are accepted wherever a value may come from one.

The resource types checked are `Custom::ModelPackage` unless configured:
`configure_rules: {E9000: {resource_types: [Custom::ApproveModel]}}`.

This file is loaded both as a module of the package cfn_lint_model_package and on
its own by cfn-lint's directory loader (append_rules: [path/to/lint/rules]), so it
imports nothing relative.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from cfnlint.helpers import FUNCTIONS
from cfnlint.jsonschema import ValidationError, ValidationResult, Validator
from cfnlint.rules.jsonschema.CfnLintJsonSchema import CfnLintJsonSchema

TYPE_NAME = "Custom::ModelPackage"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "custom-modelpackage.json"
# The repository's address: pyproject.toml's [project.urls] Repository, copied here
# because this package is installed on its own; OWNER is a placeholder until it is
# filled in there (tests/deploy/test_project_url.py keeps the copies equal).
REPOSITORY = "https://github.com/OWNER/model-package-resource"


class ModelPackageProperties(CfnLintJsonSchema):
    id = "E9000"
    shortdesc = "Custom::ModelPackage properties are invalid"
    description = "Checks the model package resource's properties against its schema (from botocore's model)"
    source_url = f"{REPOSITORY}/blob/main/docs/declaring.md#properties"
    tags = ["resources", "custom", "modelpackage"]

    def __init__(self) -> None:
        super().__init__(keywords=["Resources/*"], all_matches=True)
        self.config_definition = {"resource_types": {"default": [TYPE_NAME], "type": "list", "itemtype": "string"}}
        self.configure()
        self._schema = json.loads(SCHEMA.read_text())

    def message(self, instance: Any, err: Any) -> str:
        return str(err.message)

    def validate(self, validator: Validator, keywords: Any, instance: Any, schema: Any) -> ValidationResult:
        if not validator.is_type(instance, "object") or instance.get("Type") not in self.config["resource_types"]:
            return
        properties = instance.get("Properties", {})
        if not validator.is_type(properties, "object"):
            return
        validator = validator.evolve(
            context=validator.context.evolve(functions=list(FUNCTIONS), strict_types=False),
            function_filter=validator.function_filter.evolve(add_cfn_lint_keyword=True),
        )
        resource_validator = self.extend_validator(
            validator.evolve(
                context=validator.context.evolve(
                    path=validator.context.path.descend(path="Properties"),
                ),
            ),
            self._schema,
            validator.context.evolve(path=validator.context.path.descend(path="Properties")),
        )
        for err in resource_validator.iter_errors(properties):
            err.path = deque(["Properties", *err.path])
            err.rule = self
            yield err
        mismatch = _partition_mismatch(properties)
        if mismatch:
            yield ValidationError(mismatch, path=deque(["Properties", "RoleArn"]), rule=self)


def _partition_mismatch(properties: dict[str, Any]) -> str | None:
    """A RoleArn in another partition than the package: the function refuses it
    (STS cannot give credentials across partitions). Only literal ARNs are compared."""
    package, role = properties.get("ModelPackageArn"), properties.get("RoleArn")
    if not isinstance(package, str) or not isinstance(role, str):
        return None
    package_partition, role_partition = package.split(":")[1:2], role.split(":")[1:2]
    if package.startswith("arn:") and role.startswith("arn:") and package_partition != role_partition:
        return (f"RoleArn is in partition {role_partition[0]}, the package in {package_partition[0]}: "
                "the role must be in the package's partition")
    return None
