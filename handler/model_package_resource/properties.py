"""The resource's properties: parse, coerce and validate.

CloudFormation delivers every scalar as a string ("true", "5"). Each value is coerced
to the type that botocore's service model gives its UpdateModelPackage parameter, at
any depth, and checked against the model's enums, lengths and counts. Nothing here
calls AWS: the shape is passed in (or read from botocore's model on disk).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from .errors import InvalidProperty, UnknownProperty

if TYPE_CHECKING:
    from botocore.model import MapShape, Shape, StructureShape

ARN_PROPERTY = "ModelPackageArn"
# Properties of the resource that are not UpdateModelPackage parameters.
RESOURCE_PROPERTIES = ("ServiceToken", "ServiceTimeout", "OverwriteExistingMetadata")
# Never a property: derived per call from the RequestId and the call's content.
DERIVED_PARAMETERS = ("ClientToken",)
# Top-level collections are declarations, not requests: an empty one means "none",
# so the model's minimum counts (which apply to a request) are not applied to them.
DECLARED_COLLECTIONS = (
    "CustomerMetadataProperties",
    "CustomerMetadataPropertiesToRemove",
    "AdditionalInferenceSpecificationsToAdd",
)
SERVICE_TIMEOUT_RANGE = (1, 3600)

# DescribeModelPackage's ModelPackageName pattern, anchored: a package ARN that the
# API can describe. The partition and region are read from it.
ARN_PATTERN = (
    r"arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]{9,16}):"
    r"(?P<account>[0-9]{12}):model-package/"
    r"(?P<name>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})(?:/(?P<version>[0-9]{1,9}))?"
)
ARN_MAX_LENGTH = 176
_ARN = re.compile(ARN_PATTERN)
_REGION_PARTITION_PREFIXES = {
    "cn-": "aws-cn",
    "us-gov-": "aws-us-gov",
    "us-isob-": "aws-iso-b",
    "us-iso-": "aws-iso",
    "eu-isoe-": "aws-iso-e",
}
_TRUE, _FALSE = ("true",), ("false",)
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class PackageArn:
    arn: str
    partition: str
    region: str
    account: str
    name: str
    version: str | None


@dataclass(frozen=True)
class Properties:
    """Validated properties. `api` holds the UpdateModelPackage parameters other
    than ModelPackageArn, coerced to the service model's types."""

    package: PackageArn
    api: Mapping[str, Any] = field(default_factory=dict)
    overwrite_existing_metadata: bool = False

    @property
    def metadata(self) -> Mapping[str, str]:
        metadata: Mapping[str, str] = self.api.get("CustomerMetadataProperties", {})
        return metadata

    @property
    def keys_to_remove(self) -> list[str]:
        return list(self.api.get("CustomerMetadataPropertiesToRemove", []))

    @property
    def specifications(self) -> list[dict[str, Any]]:
        return list(self.api.get("AdditionalInferenceSpecificationsToAdd", []))


def parse_arn(value: object, path: str = ARN_PROPERTY) -> PackageArn:
    if not isinstance(value, str) or not value:
        raise InvalidProperty("a model package ARN is required", path)
    match = _ARN.fullmatch(value)
    if match is None or len(value) > ARN_MAX_LENGTH:
        raise InvalidProperty(
            f"{_preview(value)} is not a model package ARN "
            "(arn:PARTITION:sagemaker:REGION:ACCOUNT:model-package/NAME[/VERSION])",
            path,
        )
    partition, region = match["partition"], match["region"]
    expected = next(
        (p for prefix, p in _REGION_PARTITION_PREFIXES.items() if region.startswith(prefix)),
        "aws",
    )
    if partition != expected:
        raise InvalidProperty(f"region {region} belongs to partition {expected}, not {partition}", path)
    return PackageArn(
        arn=value,
        partition=partition,
        region=region,
        account=match["account"],
        name=match["name"],
        version=match["version"],
    )


def parse_properties(raw: object, shape: StructureShape | None = None) -> Properties:
    """Parse the event's ResourceProperties (or OldResourceProperties)."""
    if shape is None:
        from .service_model import update_input_shape

        shape = update_input_shape()
    if not isinstance(raw, Mapping):
        raise InvalidProperty(f"expected a map of properties, got {_kind(raw)}", "Properties")
    allowed = [n for n in shape.members if n not in DERIVED_PARAMETERS] + list(RESOURCE_PROPERTIES)
    for name in raw:
        if name in DERIVED_PARAMETERS:
            raise InvalidProperty("is not a property: each call's token is derived from the RequestId", name)
        if name not in allowed:
            raise UnknownProperty(_unknown(name, allowed), str(name))
    package = parse_arn(raw.get(ARN_PROPERTY))
    api: dict[str, Any] = {}
    for name, member in shape.members.items():
        if name in raw and name != ARN_PROPERTY:
            api[name] = coerce(raw[name], member, name, top_level=name in DECLARED_COLLECTIONS)
    overwrite = False
    if "OverwriteExistingMetadata" in raw:
        overwrite = _boolean(raw["OverwriteExistingMetadata"], "OverwriteExistingMetadata")
    if "ServiceTimeout" in raw:
        low, high = SERVICE_TIMEOUT_RANGE
        timeout = _integer(raw["ServiceTimeout"], "ServiceTimeout")
        if not low <= timeout <= high:
            raise InvalidProperty(f"must be {low} to {high} seconds, got {timeout}", "ServiceTimeout")
    _check_across(api)
    return Properties(package=package, api=api, overwrite_existing_metadata=overwrite)


def salvage_metadata(raw: object) -> tuple[dict[str, str], list[str]]:
    """For Delete, which must never fail on properties it cannot parse: the declared
    metadata entries that are valid, and a description of each one left out."""
    if not isinstance(raw, Mapping):
        return {}, [f"properties are {_kind(raw)}, not a map"]
    declared = raw.get("CustomerMetadataProperties", {})
    if not isinstance(declared, Mapping):
        return {}, [f"CustomerMetadataProperties is {_kind(declared)}, not a map"]
    from .service_model import update_input_shape

    shape = cast("MapShape", update_input_shape().members["CustomerMetadataProperties"])
    kept: dict[str, str] = {}
    skipped: list[str] = []
    for key, value in declared.items():
        try:
            kept[coerce(key, shape.key, "CustomerMetadataProperties")] = coerce(
                value, shape.value, f"CustomerMetadataProperties.{key}"
            )
        except InvalidProperty as error:
            skipped.append(str(error))
    return kept, skipped


def coerce(value: Any, shape: Shape, path: str, *, top_level: bool = False) -> Any:
    """Coerce `value` to `shape`'s type, validating it; `path` names it in errors."""
    kind = shape.type_name
    if kind == "structure":
        return _structure(value, shape, path)  # type: ignore[arg-type]
    if kind == "list":
        if not isinstance(value, list):
            raise InvalidProperty(f"expected a list, got {_kind(value)}", path)
        _count(len(value), shape, path, "items", top_level)
        return [coerce(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]  # type: ignore[attr-defined]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise InvalidProperty(f"expected a map, got {_kind(value)}", path)
        _count(len(value), shape, path, "entries", top_level)
        result = {}
        for key, item in value.items():
            name = coerce(key, shape.key, f"{path} key", top_level=False)  # type: ignore[attr-defined]
            result[name] = coerce(item, shape.value, f"{path}.{name}")  # type: ignore[attr-defined]
        return result
    if kind == "boolean":
        return _boolean(value, path)
    if kind in ("integer", "long"):
        number = _integer(value, path)
        _range(number, shape, path)
        return number
    if kind in ("float", "double"):
        return _float(value, shape, path)
    if kind == "string":
        return _string(value, shape, path)
    raise InvalidProperty(f"type {kind} is not supported", path)


def _structure(value: Any, shape: StructureShape, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidProperty(f"expected a map, got {_kind(value)}", path)
    for name in value:
        if name not in shape.members:
            raise UnknownProperty(_unknown(name, list(shape.members)), f"{path}.{name}")
    for name in shape.required_members:
        if name not in value:
            raise InvalidProperty(f"{name} is required", path)
    return {name: coerce(item, shape.members[name], f"{path}.{name}") for name, item in value.items()}


def _string(value: Any, shape: Shape, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidProperty(f"expected a string, got {_kind(value)}", path)
    text = value if isinstance(value, str) else str(value)
    enum = shape.enum  # type: ignore[attr-defined]
    if enum and text not in enum:
        suggestion = difflib.get_close_matches(text, enum, n=1)
        hint = f" (did you mean {suggestion[0]}?)" if suggestion else ""
        raise InvalidProperty(f"{_preview(text)} is not one of {', '.join(enum)}{hint}", path)
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(text) < low:
        raise InvalidProperty(f"must be at least {low} characters", path)
    if high is not None and len(text) > high:
        raise InvalidProperty(f"must be at most {high} characters, got {len(text)}", path)
    pattern = _pattern(shape.metadata.get("pattern"))
    if pattern is not None and not pattern.fullmatch(text):
        raise InvalidProperty(f"{_preview(text)} does not match {shape.metadata['pattern']}", path)
    return text


@functools.cache
def _pattern(source: str | None) -> re.Pattern[str] | None:
    # The model's patterns are Java regular expressions; those that Python's `re`
    # cannot read (\p{L} classes) are left to SageMaker to enforce.
    if not source:
        return None
    try:
        return re.compile(source)
    except re.error:
        return None


def _boolean(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidProperty(f'expected "true" or "false", got {_preview(value)}', path)


def _integer(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise InvalidProperty(f"expected a whole number, got {_preview(value)}", path)


def _float(value: Any, shape: Shape, path: str) -> float:
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        number = float(value)
    except ValueError:
        raise InvalidProperty(f"expected a number, got {_preview(value)}", path) from None
    _range(number, shape, path)
    return number


def _range(number: float, shape: Shape, path: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidProperty(f"must be between {low} and {high}, got {number}", path)


def _count(size: int, shape: Shape, path: str, unit: str, top_level: bool) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low and not top_level:
        raise InvalidProperty(f"must have at least {low} {unit}", path)
    if high is not None and size > high:
        raise InvalidProperty(f"must have at most {high} {unit}, got {size}", path)


def _check_across(api: Mapping[str, Any]) -> None:
    both = sorted(
        set(api.get("CustomerMetadataProperties", {}))
        & set(api.get("CustomerMetadataPropertiesToRemove", []))
    )
    if both:
        raise InvalidProperty(
            f"keys both set and removed: {', '.join(both)}", "CustomerMetadataPropertiesToRemove"
        )
    seen: set[str] = set()
    for i, spec in enumerate(api.get("AdditionalInferenceSpecificationsToAdd", [])):
        if spec["Name"] in seen:
            raise InvalidProperty(
                f"Name {spec['Name']} is declared twice",
                f"AdditionalInferenceSpecificationsToAdd[{i}].Name",
            )
        seen.add(spec["Name"])


def _unknown(name: object, allowed: list[str]) -> str:
    suggestion = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {suggestion[0]}?" if suggestion else ""
    return f"{_preview(name)} is not a property{hint}"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "a map", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _preview(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
