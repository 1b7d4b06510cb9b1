"""The resource's schema, generated from the same source as the runtime checks:
botocore's model of UpdateModelPackage plus the resource's own properties and
rules (model_package_resource.properties). Written as a CloudFormation registry
schema; lint/rules/ModelPackageProperties.py checks Custom::ModelPackage
resources against it inside cfn-lint. The documentation's property reference
(docs/snippets/property-reference.md) is rendered from the same schema.

    python -m devkit schema          # rewrite the schema and the property reference
    python -m devkit schema --check  # exit 1 when a committed file is out of date
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

TYPE_NAME = "Custom::ModelPackage"
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "lint" / "rules" / "schemas" / "custom-modelpackage.json"
REFERENCE_FILE = ROOT / "docs" / "snippets" / "property-reference.md"
RULES_FILE = ROOT / "docs" / "snippets" / "sagemaker-rules.md"


def repository_url() -> str:
    """The repository's address, defined once: pyproject.toml's [project.urls] Repository."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return str(project["urls"]["Repository"])


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
        "sourceUrl": repository_url(),
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


def render_reference(schema: dict[str, Any]) -> str:
    """The property reference of the documentation: one row per property of the
    schema, its type, its constraints and the first sentence of its description;
    an object's fields one level down."""
    required = set(schema["required"])
    rows = [
        "<!-- Generated from lint/rules/schemas/custom-modelpackage.json by `python -m devkit schema`: "
        "do not edit. -->",
        "",
        "| property | type | constraints | description |",
        "|---|---|---|---|",
    ]
    for name, member in schema["properties"].items():
        resolved = _resolve(schema, member)
        constraints = (["**required**"] if name in required else []) + _constraints(schema, resolved)
        description = str(member.get("description") or resolved.get("description") or "see the API reference")
        rows.append(f"| `{name}` | {_type(schema, resolved)} | {'; '.join(constraints)} | "
                    f"{description.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    reference = node.get("$ref")
    return dict(schema["definitions"][reference.rsplit("/", 1)[1]]) if reference else node


def _type(schema: dict[str, Any], node: dict[str, Any]) -> str:
    kind = node.get("type", "object")
    if kind == "array":
        return f"list of {_type(schema, _resolve(schema, node.get('items', {})))}s"
    if kind == "object" and "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        return f"map of {node['additionalProperties'].get('type', 'value')}s"
    return str(kind)


def _constraints(schema: dict[str, Any], node: dict[str, Any]) -> list[str]:
    found = []
    if "enum" in node:
        found.append("one of " + ", ".join(f"`{value}`" for value in node["enum"]))
    low, high = node.get("minLength"), node.get("maxLength")
    if high is not None:
        found.append(f"{low}–{high} characters" if low else f"at most {high} characters")
    if "minimum" in node or "maximum" in node:
        found.append(f"{node.get('minimum', '')}–{node.get('maximum', '')}")
    if "maxItems" in node:
        low = node.get("minItems")
        found.append(f"{low}–{node['maxItems']} items" if low else f"at most {node['maxItems']} items")
    if "maxProperties" in node:
        found.append(f"at most {node['maxProperties']} keys")
    if isinstance(node.get("propertyNames"), dict) and "maxLength" in node["propertyNames"]:
        names = node["propertyNames"]
        found.append(f"keys {names.get('minLength', 0)}–{names['maxLength']} characters")
    if isinstance(node.get("additionalProperties"), dict) and "maxLength" in node["additionalProperties"]:
        values = node["additionalProperties"]
        found.append(f"values {values.get('minLength', 0)}–{values['maxLength']} characters")
    if "pattern" in node and node.get("type") == "string" and "arn" in node["pattern"]:
        found.append(f"an ARN matching `{node['pattern']}`")
    items = _resolve(schema, node.get("items", {})) if node.get("type") == "array" else node
    fields = items.get("properties")
    if isinstance(fields, dict):
        needed = set(items.get("required", []))
        found.append("fields " + ", ".join(f"`{field}`" + (" (required)" if field in needed else "")
                                           for field in fields))
    return found


def render_reference_file() -> str:
    return render_reference(json.loads(render()))


def render_rules() -> str:
    """The table of SageMaker's rules for the docs, from model_package_resource/rules.py:
    each rule the product relies on, its source, whether it is confirmed, and how the
    local registry enforces it (tests/integration/test_sagemaker_rules.py, a case per rule)."""
    from model_package_resource import rules

    lines = [
        "| rule | source | confirmed | the local registry |",
        "|---|---|---|---|",
    ]
    for rule in rules.RULES:
        confirmed = "yes" if rule.confirmed else "unknown"
        if rule.strict_only:
            registry = "refuses it (the stricter answer); the product tries, and is safe either way"
        elif rule.confirmed:
            registry = "as SageMaker"
        else:
            registry = "as stated (the stricter answer); the product never relies on the opposite"
        cells = [f"`{rule.name}`: {rule.statement}", rule.source, confirmed, registry]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main(check: bool) -> int:
    from .generated import write_or_check

    schema = write_or_check(SCHEMA_FILE, render(), "schema", check)
    reference = write_or_check(REFERENCE_FILE, render_reference_file(), "schema", check)
    return schema or reference or write_or_check(RULES_FILE, render_rules(), "schema", check)
