"""W9001: a Custom::ModelPackage without ServiceTimeout."""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

TYPE_NAME = "Custom::ModelPackage"


class ServiceTimeoutMissing(CloudFormationLintRule):
    """Without ServiceTimeout, CloudFormation waits up to an hour for a custom
    resource whose function never answers."""

    id = "W9001"
    shortdesc = "Custom::ModelPackage should set ServiceTimeout"
    description = (
        "Without ServiceTimeout CloudFormation waits up to an hour for an answer; "
        "300 seconds suits the model package resource's function"
    )
    source_url = "https://github.com/OWNER/model-package-resource#use"
    tags = ["resources", "custom", "modelpackage"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for name, resource in cfn.get_resources([TYPE_NAME]).items():
            properties = resource.get("Properties")
            if isinstance(properties, dict) and "ServiceTimeout" not in properties:
                matches.append(RuleMatch(["Resources", name, "Properties"], f"{name}: {self.description}"))
        return matches
