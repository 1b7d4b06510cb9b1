"""W9001: a Custom::ModelPackage without ServiceTimeout.

A keyword rule of cfn-lint v1 (on each resource, like E9000). The resource types
checked are `Custom::ModelPackage` unless configured:
`configure_rules: {W9001: {resource_types: [Custom::ApproveModel]}}`.
Loaded as a module of cfn_lint_model_package or on its own by the directory
loader, so it imports nothing relative.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from cfnlint.jsonschema import ValidationError, ValidationResult, Validator
from cfnlint.rules.jsonschema.CfnLintJsonSchema import CfnLintJsonSchema

TYPE_NAME = "Custom::ModelPackage"
# The repository's address: pyproject.toml's [project.urls] Repository, copied here
# because this package is installed on its own; OWNER is a placeholder until it is
# filled in there (tests/deploy/test_project_url.py keeps the copies equal).
REPOSITORY = "https://github.com/OWNER/model-package-resource"


class ServiceTimeoutMissing(CfnLintJsonSchema):
    """Without ServiceTimeout, CloudFormation waits up to an hour for a custom
    resource whose function never answers."""

    id = "W9001"
    shortdesc = "Custom::ModelPackage should set ServiceTimeout"
    description = (
        "Without ServiceTimeout CloudFormation waits up to an hour for an answer; "
        "300 seconds suits the model package resource's function"
    )
    source_url = f"{REPOSITORY}/blob/main/docs/declaring.md#use-in-a-stack"
    tags = ["resources", "custom", "modelpackage"]

    def __init__(self) -> None:
        super().__init__(keywords=["Resources/*"], all_matches=True)
        self.config_definition = {"resource_types": {"default": [TYPE_NAME], "type": "list", "itemtype": "string"}}
        self.configure()

    def validate(self, validator: Validator, keywords: Any, instance: Any, schema: Any) -> ValidationResult:
        if not validator.is_type(instance, "object") or instance.get("Type") not in self.config["resource_types"]:
            return
        properties = instance.get("Properties")
        if validator.is_type(properties, "object") and "ServiceTimeout" not in properties:
            name = validator.context.path.path[-1] if validator.context.path.path else "resource"
            yield ValidationError(f"{name}: {self.description}", path=deque(["Properties"]), rule=self)
