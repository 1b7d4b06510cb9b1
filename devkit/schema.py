"""The resource's schema, generated from the same source as the runtime checks:
botocore's model of UpdateModelPackage plus the resource's own properties and
rules (model_package_resource.properties). Written as a CloudFormation registry
schema; lint/rules/ModelPackageProperties.py checks Custom::ModelPackage
resources against it inside cfn-lint.

    python -m devkit schema          # rewrite lint/rules/schemas/custom-modelpackage.json
    python -m devkit schema --check  # exit 1 when the committed file is out of date
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TYPE_NAME = "Custom::ModelPackage"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "lint" / "rules" / "schemas" / "custom-modelpackage.json"


def resource_schema() -> dict[str, Any]:
    import botocore

    from model_package_resource import arns
    from model_package_resource import properties as rules
    from model_package_resource.shapes import json_schema, update_input_shape

    shape = update_input_shape()
    definitions: dict[str, Any] = {}
    members: dict[str, Any] = {}
    for name, member in shape.members.items():
        if name in rules.DERIVED_PARAMETERS:
            continue
        members[name] = json_schema(member, definitions, declared=name in rules.DECLARED_COLLECTIONS)
        documentation = _first_sentence(member.documentation)
        if documentation and "$ref" not in members[name]:
            members[name]["description"] = documentation
    members[rules.ARN_PROPERTY] = {
        "type": "string",
        "description": "The model package version to act on; a different ARN on update is a replacement.",
        "pattern": f"^{_plain(arns.PACKAGE_ARN_PATTERN)}$",
        "maxLength": arns.PACKAGE_ARN_MAX_LENGTH,
    }
    members[rules.ROLE_PROPERTY] = {
        "type": "string",
        "description": "An IAM role (same partition as the package) that the function assumes for this "
                       "resource's calls: a role in a central registry account.",
        "pattern": f"^{_plain(arns.ROLE_ARN_PATTERN)}$",
        "maxLength": arns.ROLE_ARN_MAX_LENGTH,
    }
    low, high = rules.SERVICE_TIMEOUT_RANGE
    members["ServiceToken"] = {"type": "string", "description": "The ARN of the function (the stack's export)."}
    members["ServiceTimeout"] = {"type": "integer", "minimum": low, "maximum": high,
                                 "description": "Seconds CloudFormation waits for the function's answer."}
    members["OverwriteExistingMetadata"] = {
        "type": "boolean",
        "description": "Take over metadata keys that already hold another value on the package.",
    }
    return {
        "typeName": TYPE_NAME,
        "description": "Governs an existing SageMaker model package version (generated from botocore "
                       f"{botocore.__version__}'s UpdateModelPackage; do not edit, run python -m devkit schema).",
        "sourceUrl": "https://github.com/OWNER/model-package-resource",
        "definitions": dict(sorted(definitions.items())),
        "properties": dict(sorted(members.items())),
        "required": ["ServiceToken", rules.ARN_PROPERTY],
        "additionalProperties": False,
        "primaryIdentifier": ["/properties/ModelPackageArn"],
    }


def _plain(pattern: str) -> str:
    """A Python pattern without its group names: JSON schema patterns are ECMA-262."""
    import re

    return re.sub(r"\?P<\w+>", "", pattern)


def _first_sentence(html: str) -> str:
    import re

    text = re.sub(r"<[^>]+>", "", html or "").strip()
    return text.split(". ")[0].rstrip(".")[:200]


def render() -> str:
    return json.dumps(resource_schema(), indent=2) + "\n"


def main(check: bool) -> int:
    from .generated import write_or_check

    return write_or_check(SCHEMA_FILE, render(), "schema", check)
