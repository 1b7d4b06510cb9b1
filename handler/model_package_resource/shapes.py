"""botocore's SageMaker service model, and the one walker of its shape tree.

The model is the single source of parameter names, types, enums and limits. It is
loaded on first use through the session the clients share (clients.session), so it
is read from disk once per process: the function's trimmed copy of it.

Walking the tree, one function per purpose: `coerce` (CloudFormation's strings to
the model's types, validated), `redact` (fields the model marks sensitive),
`project` (a described value cut to what a request may carry), `same` (the exact
comparison of a declared value with the live one) and `json_schema`."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .clients import session
from .errors import InvalidProperty, UnknownProperty, kind_of, preview, unknown_name

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

OPERATION = "UpdateModelPackage"
# Fields that SageMaker fills in itself when a request leaves them out: a declared
# value that omits them is not different from a live one that has them.
FILLED_BY_SAGEMAKER = frozenset({"ImageDigest", "ModelDataETag"})
_TRUE, _FALSE = "true", "false"
_INTEGER = re.compile(r"[+-]?\d+")


@functools.cache
def update_input_shape() -> StructureShape:
    model = session().get_service_model("sagemaker")
    shape = model.operation_model(OPERATION).input_shape
    if shape is None:  # pragma: no cover - the model always has this input
        raise RuntimeError(f"botocore's model has no input for {OPERATION}")
    return shape


def member(name: str) -> Shape:
    return update_input_shape().members[name]


# --- coerce --------------------------------------------------------------------


def coerce(value: Any, shape: Shape, path: str, *, declared: bool = False) -> Any:
    """`value` as `shape`'s type, validated against its enum, length, count and
    pattern; `path` names it in errors. A `declared` collection (a top-level list
    or map of the properties) may be empty: it declares "none"."""
    from botocore.model import ListShape, MapShape, StringShape, StructureShape

    if isinstance(shape, StructureShape):
        return _structure(value, shape, path)
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise InvalidProperty(f"expected a list, got {kind_of(value)}", path)
        _count(len(value), shape, path, "items", declared)
        return [coerce(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(shape, MapShape):
        if not isinstance(value, Mapping):
            raise InvalidProperty(f"expected a map, got {kind_of(value)}", path)
        _count(len(value), shape, path, "entries", declared)
        result = {}
        for key, item in value.items():
            name = coerce(key, shape.key, f"{path} key")
            result[name] = coerce(item, shape.value, f"{path}.{name}")
        return result
    kind = shape.type_name
    if kind == "boolean":
        return boolean(value, path)
    if kind in ("integer", "long"):
        number = integer(value, path)
        _range(number, shape, path)
        return number
    if kind in ("float", "double"):
        return _float(value, shape, path)
    if isinstance(shape, StringShape):
        return _string(value, shape, path)
    raise InvalidProperty(f"type {kind} is not supported", path)


def _structure(value: Any, shape: StructureShape, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidProperty(f"expected a map, got {kind_of(value)}", path)
    for name in value:
        if name not in shape.members:
            raise UnknownProperty(unknown_name(name, list(shape.members)), f"{path}.{name}")
    for name in shape.required_members:
        if name not in value:
            raise InvalidProperty(f"{name} is required", path)
    return {name: coerce(item, shape.members[name], f"{path}.{name}") for name, item in value.items()}


def _string(value: Any, shape: Any, path: str) -> str:
    # A JSON number given for a string (tools other than CloudFormation send them)
    # is its decimal text; a boolean is refused: "True" or "true" would be a guess.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidProperty(f"expected a string, got {kind_of(value)}", path)
    text = value if isinstance(value, str) else json.dumps(value)
    # A value botocore marks sensitive (a model card's content) is never shown.
    shown = f"<redacted: {len(text)} characters>" if shape.metadata.get("sensitive") else preview(text)
    enum = shape.enum
    if enum and text not in enum:
        suggestion = difflib.get_close_matches(text, enum, n=1)
        hint = f" (did you mean {suggestion[0]}?)" if suggestion else ""
        raise InvalidProperty(f"{shown} is not one of {', '.join(enum)}{hint}", path)
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(text) < low:
        raise InvalidProperty(f"must be at least {low} characters", path)
    if high is not None and len(text) > high:
        raise InvalidProperty(f"must be at most {high} characters, got {len(text)}", path)
    pattern = _pattern(shape.metadata.get("pattern"))
    if pattern is not None and not pattern.fullmatch(text):
        raise InvalidProperty(f"{shown} does not match {shape.metadata['pattern']}", path)
    return text


@functools.cache
def _pattern(source: str | None) -> re.Pattern[str] | None:
    """The model's pattern as SageMaker would match it, or None where we could
    disagree with SageMaker, which then decides. The patterns are Java regular
    expressions: those Python's `re` cannot read (\\p{L} classes) are left out. Text
    is text: a value may span lines (a YAML `|` block), so `.` matches a newline
    too (DOTALL): `.*` must not refuse a multi-line ModelCardContent."""
    if not source:
        return None
    try:
        return re.compile(source, re.DOTALL)
    except re.error:
        return None


def boolean(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (_TRUE, _FALSE):
        return value.strip().lower() == _TRUE
    raise InvalidProperty(f'expected "true" or "false", got {preview(value)}', path)


def integer(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise InvalidProperty(f"expected a whole number, got {preview(value)}", path)


def _float(value: Any, shape: Shape, path: str) -> float:
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        number = float(value)
    except ValueError:
        raise InvalidProperty(f"expected a number, got {preview(value)}", path) from None
    _range(number, shape, path)
    return number


def _range(number: float, shape: Shape, path: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidProperty(f"must be between {_num(low)} and {_num(high)}, got {_num(number)}", path)


def _num(number: float | None) -> str:
    if number is None:
        return "any"
    return str(int(number)) if float(number).is_integer() else str(number)


def _count(size: int, shape: Shape, path: str, unit: str, declared: bool) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low and not declared:
        raise InvalidProperty(f"must have at least {low} {unit}", path)
    if high is not None and size > high:
        raise InvalidProperty(f"must have at most {high} {unit}, got {size}", path)


# --- redact, project, same -----------------------------------------------------


def sensitive_values(request: Mapping[str, Any], shape: Shape | None = None) -> list[str]:
    """Every value in an UpdateModelPackage request that the model marks sensitive."""
    from botocore.model import ListShape, StructureShape

    found: list[str] = []
    shape = shape or update_input_shape()

    def walk(value: Any, current: Shape) -> None:
        if current.metadata.get("sensitive"):
            found.append(str(value))
        elif isinstance(current, StructureShape) and isinstance(value, Mapping):
            for name, item in value.items():
                if name in current.members:
                    walk(item, current.members[name])
        elif isinstance(current, ListShape) and isinstance(value, list):
            for item in value:
                walk(item, current.member)

    walk(request, shape)
    return found


def redact(value: Any, shape: Shape) -> Any:
    """`value` with every field that the model marks sensitive replaced by its size."""
    from botocore.model import ListShape, StructureShape

    if shape.metadata.get("sensitive"):
        return f"<redacted: {len(str(value))} characters>"
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {k: redact(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [redact(v, shape.member) for v in value]
    return value


def project(value: Any, shape: Shape) -> Any:
    """A described value cut to the members that a request of `shape` may carry."""
    from botocore.model import ListShape, MapShape, StructureShape

    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {k: project(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [project(v, shape.member) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {k: project(v, shape.value) for k, v in value.items()}
    return value


def same(declared: Any, live: Any) -> bool:
    """Whether the live value is exactly the declared one. Only fields that
    SageMaker fills in itself may be on the live side and not declared; a field or
    map entry missing from the declaration is a difference. A model card's
    content is JSON: compared as data, not text."""
    if isinstance(declared, Mapping):
        if not isinstance(live, Mapping):
            return False
        extra = set(live) - set(declared) - FILLED_BY_SAGEMAKER
        return not extra and all(same(v, live.get(k)) for k, v in declared.items())
    if isinstance(declared, list):
        return (
            isinstance(live, list)
            and len(declared) == len(live)
            and all(same(d, v) for d, v in zip(declared, live, strict=True))
        )
    return bool(declared == live)


def same_card_content(declared: Any, live: Any) -> bool:
    if declared == live:
        return True
    try:
        return bool(json.loads(declared) == json.loads(live))
    except (TypeError, ValueError):
        return False


# --- JSON schema ---------------------------------------------------------------


def json_schema(shape: Shape, definitions: dict[str, Any], *, declared: bool = False) -> dict[str, Any]:
    """The JSON schema of `shape`; structures go to `definitions`, by name."""
    from botocore.model import ListShape, MapShape, StringShape, StructureShape

    meta = shape.metadata
    if isinstance(shape, StructureShape):
        if shape.name not in definitions:
            definitions[shape.name] = {}  # reserve the name first: shapes may nest
            definitions[shape.name] = {
                "type": "object",
                "properties": {n: json_schema(m, definitions) for n, m in shape.members.items()},
                "additionalProperties": False,
                **({"required": list(shape.required_members)} if shape.required_members else {}),
            }
        return {"$ref": f"#/definitions/{shape.name}"}
    if isinstance(shape, ListShape):
        schema: dict[str, Any] = {"type": "array", "items": json_schema(shape.member, definitions)}
        _bounds(schema, meta, "minItems", "maxItems", declared)
        return schema
    if isinstance(shape, MapShape):
        schema = {
            "type": "object",
            "additionalProperties": json_schema(shape.value, definitions),
            "propertyNames": json_schema(shape.key, definitions),
        }
        _bounds(schema, meta, "minProperties", "maxProperties", declared)
        return schema
    if shape.type_name == "boolean":
        return {"type": "boolean"}
    if shape.type_name in ("integer", "long", "float", "double"):
        schema = {"type": "integer" if shape.type_name in ("integer", "long") else "number"}
        _bounds(schema, meta, "minimum", "maximum", False)
        return schema
    schema = {"type": "string"}
    if isinstance(shape, StringShape) and shape.enum:
        schema["enum"] = list(shape.enum)
    _bounds(schema, meta, "minLength", "maxLength", False)
    if meta.get("pattern") and meta["pattern"] != ".*":
        schema["pattern"] = f"^{meta['pattern']}$"
    return schema


def _bounds(schema: dict[str, Any], meta: Mapping[str, Any], low: str, high: str, declared: bool) -> None:
    if "min" in meta and meta["min"] > 0 and not declared:
        schema[low] = meta["min"]
    if "max" in meta:
        schema[high] = meta["max"]
