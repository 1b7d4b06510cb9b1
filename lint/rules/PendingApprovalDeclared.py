"""W9002: a Custom::ModelPackage declaring ModelApprovalStatus PendingManualApproval.

SageMaker has no way back to PendingManualApproval (its documented transitions are
PendingManualApproval -> Approved or Rejected, and between Approved and Rejected).
The resource refuses such a Create before any call when the package is already
decided, and an Update leaves a decided package as it is. Lint cannot see the live
package, so this is a warning: leave ModelApprovalStatus out to make no decision, or
declare Approved or Rejected. A keyword rule of cfn-lint v1, like W9001, checking
`Custom::ModelPackage` unless configured (`resource_types`); it imports nothing
relative.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from cfnlint.jsonschema import ValidationError, ValidationResult, Validator
from cfnlint.rules.jsonschema.CfnLintJsonSchema import CfnLintJsonSchema

TYPE_NAME = "Custom::ModelPackage"
PENDING = "PendingManualApproval"
# The repository's address: pyproject.toml's [project.urls] Repository, copied here
# because this package is installed on its own; OWNER is a placeholder until it is
# filled in there (tests/deploy/test_project_url.py keeps the copies equal).
REPOSITORY = "https://github.com/OWNER/model-package-resource"


class PendingApprovalDeclared(CfnLintJsonSchema):
    """PendingManualApproval cannot be set once a package is Approved or Rejected."""

    id = "W9002"
    shortdesc = "Custom::ModelPackage declares ModelApprovalStatus PendingManualApproval"
    description = (
        "SageMaker has no way back to PendingManualApproval: a Create on a package already Approved or "
        "Rejected is refused, and an Update leaves it as it is; leave ModelApprovalStatus out to decide "
        "nothing, or declare Approved or Rejected"
    )
    source_url = f"{REPOSITORY}/blob/main/docs/sagemaker-rules.md#what-the-product-does-with-them"
    tags = ["resources", "custom", "modelpackage"]

    def __init__(self) -> None:
        super().__init__(keywords=["Resources/*"], all_matches=True)
        self.config_definition = {"resource_types": {"default": [TYPE_NAME], "type": "list", "itemtype": "string"}}
        self.configure()

    def validate(self, validator: Validator, keywords: Any, instance: Any, schema: Any) -> ValidationResult:
        if not validator.is_type(instance, "object") or instance.get("Type") not in self.config["resource_types"]:
            return
        properties = instance.get("Properties")
        if validator.is_type(properties, "object") and properties.get("ModelApprovalStatus") == PENDING:
            name = validator.context.path.path[-1] if validator.context.path.path else "resource"
            yield ValidationError(
                f"{name}: {self.description}", path=deque(["Properties", "ModelApprovalStatus"]), rule=self
            )
