"""The resource's schema, generated from the same source as the runtime checks:
botocore's model of UpdateModelPackage plus the resource's own properties and
rules (model_package_resource.properties). Written as a CloudFormation registry
schema; lint/rules/ModelPackageProperties.py checks Custom::ModelPackage
resources against it inside cfn-lint.

    python -m devkit schema          # rewrite lint/schemas/custom-modelpackage.json
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

    from model_package_resource import properties as rules
    from model_package_resource.service_model import update_input_shape

    shape = update_input_shape()
    definitions: dict[str, Any] = {}
    members: dict[str, Any] = {}
    for name, member in shape.members.items():
        if name in rules.DERIVED_PARAMETERS:
            continue
        members[name] = _convert(member, definitions, declared=name in rules.DECLARED_COLLECTIONS)
        documentation = _first_sentence(member.documentation)
        if documentation and "$ref" not in members[name]:
            members[name]["description"] = documentation
    members[rules.ARN_PROPERTY] = {
        "type": "string",
        "description": "The model package version to act on; a different ARN on update is a replacement.",
        "pattern": f"^{rules.ARN_PATTERN}$",
        "maxLength": rules.ARN_MAX_LENGTH,
    }
    low, high = rules.SERVICE_TIMEOUT_RANGE
    members["ServiceToken"] = {"type": "string", "description": "The ARN of the function (the stack's export)."}
    members["ServiceTimeout"] = {"type": "integer", "minimum": low, "maximum": high,
                                 "description": "Seconds CloudFormation waits for the function's answer."}
    members["RoleArn"] = {
        "type": "string",
        "description": "An IAM role the function assumes for this resource's calls (same partition as the package).",
        "pattern": r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$",
    }
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


def _convert(shape: Any, definitions: dict[str, Any], declared: bool = False) -> dict[str, Any]:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if shape.name not in definitions:
            definitions[shape.name] = {}  # reserve the name first: shapes may nest
            definitions[shape.name] = {
                "type": "object",
                "properties": {n: _convert(m, definitions) for n, m in shape.members.items()},
                "additionalProperties": False,
                **({"required": list(shape.required_members)} if shape.required_members else {}),
            }
        return {"$ref": f"#/definitions/{shape.name}"}
    if kind == "list":
        schema: dict[str, Any] = {"type": "array", "items": _convert(shape.member, definitions)}
        _bounds(schema, meta, "minItems", "maxItems", declared)
        return schema
    if kind == "map":
        schema = {"type": "object", "additionalProperties": _convert(shape.value, definitions),
                  "propertyNames": _convert(shape.key, definitions)}
        _bounds(schema, meta, "minProperties", "maxProperties", declared)
        return schema
    if kind == "boolean":
        return {"type": "boolean"}
    if kind in ("integer", "long"):
        schema = {"type": "integer"}
        _bounds(schema, meta, "minimum", "maximum", False)
        return schema
    if kind in ("float", "double"):
        schema = {"type": "number"}
        _bounds(schema, meta, "minimum", "maximum", False)
        return schema
    schema = {"type": "string"}
    if shape.enum:
        schema["enum"] = list(shape.enum)
    _bounds(schema, meta, "minLength", "maxLength", False)
    if meta.get("pattern") and meta["pattern"] != ".*":
        schema["pattern"] = f"^{meta['pattern']}$"
    return schema


def _bounds(schema: dict[str, Any], meta: dict[str, Any], low: str, high: str, declared: bool) -> None:
    if "min" in meta and meta["min"] > 0 and not declared:
        schema[low] = meta["min"]
    if "max" in meta:
        schema[high] = meta["max"]


def _first_sentence(html: str) -> str:
    import re

    text = re.sub(r"<[^>]+>", "", html or "").strip()
    return text.split(". ")[0].rstrip(".")[:200]


def render() -> str:
    return json.dumps(resource_schema(), indent=2) + "\n"


def main(check: bool) -> int:
    from .generated import write_or_check

    return write_or_check(SCHEMA_FILE, render(), "schema", check)
