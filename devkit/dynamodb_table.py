"""The prior-state table as template.yaml declares it, for the local registry to
create: the table's key schema is read from the template, never written here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
LOGICAL_ID = "PriorStateTable"
DEFAULT_NAME = "model-package-resource-PriorStateTable"  # what !Ref would name it, minus the suffix
# The CreateTable parameters an AWS::DynamoDB::Table shares with the API, by name.
PASSED = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


@lru_cache(maxsize=4)
def declaration(template: Path = TEMPLATE, logical_id: str = LOGICAL_ID) -> tuple[str, dict[str, Any]]:
    """(table name, CreateTable parameters) from the template's declaration."""
    import yaml

    class CfnLoader(yaml.SafeLoader):
        """YAML that keeps CloudFormation's short forms (!Ref, !Sub...) as their long form."""

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            return {name: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {name: loader.construct_sequence(node, deep=True)}
        return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]

    CfnLoader.add_multi_constructor("!", intrinsic)
    document = yaml.load(template.read_text(), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    try:
        properties = document["Resources"][logical_id]["Properties"]
    except (KeyError, TypeError):
        raise ValueError(f"{template}: no Resources.{logical_id}.Properties") from None
    for required in ("KeySchema", "AttributeDefinitions"):
        if required not in properties:
            raise ValueError(f"{template}: Resources.{logical_id}.Properties has no {required}")
    name = properties.get("TableName")
    return (name if isinstance(name, str) else DEFAULT_NAME), {k: properties[k] for k in PASSED if k in properties}


def create(client: Any, template: Path = TEMPLATE) -> str:
    """Create the table with a DynamoDB client; returns its name."""
    name, parameters = declaration(template)
    client.create_table(TableName=name, **parameters)
    return name
