"""A trimmed copy of botocore's SageMaker service model for the function: the same
API version, the same shapes, but only the two operations it calls
(DescribeModelPackage, UpdateModelPackage) and the shapes they reach.

botocore reads the whole SageMaker model (3,200 shapes, 425 operations) to make a
client; that parse is most of a cold start. botocore's own `data_path` setting
(AWS_DATA_PATH) puts a directory ahead of its bundled data, so the function's
session loads this copy instead. Generated from the pinned botocore, it loses no
parameter; a test fails when it is out of date.

    python -m devkit models          # rewrite handler/model_package_resource/botocore_data
    python -m devkit models --check  # exit 1 when the committed copy is out of date
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The operations the function calls, per service.
OPERATIONS = {
    "sagemaker": ("DescribeModelPackage", "UpdateModelPackage"),
    "dynamodb": ("BatchGetItem", "GetItem", "PutItem", "DeleteItem"),
    "sts": ("AssumeRole",),
}
DATA_DIR = Path(__file__).resolve().parent.parent / "handler" / "model_package_resource" / "botocore_data"


def full_model(service: str = "sagemaker") -> dict[str, Any]:
    import botocore.session

    loader = botocore.session.Session().get_component("data_loader")
    model: dict[str, Any] = loader.load_service_model(service, "service-2")
    return model


def trimmed_model(model: dict[str, Any], service: str = "sagemaker") -> dict[str, Any]:
    operations = {name: model["operations"][name] for name in OPERATIONS[service]}
    wanted: set[str] = set()
    pending = [ref["shape"] for op in operations.values() for ref in _operation_refs(op)]
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending.extend(_shape_refs(model["shapes"][name]))
    return {
        "version": model.get("version", "2.0"),
        "metadata": model["metadata"],
        "operations": operations,
        "shapes": {name: model["shapes"][name] for name in sorted(wanted)},
        "documentation": f"{model['metadata']['serviceId']}, trimmed to the operations of the model package resource.",
    }


def _operation_refs(operation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("input", "output"):
        if key in operation:
            yield operation[key]
    yield from operation.get("errors", [])


def _shape_refs(shape: dict[str, Any]) -> Iterator[str]:
    for key in ("member", "key", "value"):
        if key in shape:
            yield shape[key]["shape"]
    for member in shape.get("members", {}).values():
        yield member["shape"]


def model_file(service: str = "sagemaker") -> Path:
    version = str(full_model(service)["metadata"]["apiVersion"])
    return DATA_DIR / service / version / "service-2.json"


def render(service: str = "sagemaker") -> str:
    return json.dumps(trimmed_model(full_model(service), service), indent=1) + "\n"


def main(check: bool) -> int:
    from .generated import write_or_check

    return max(write_or_check(model_file(s), render(s), "models", check) for s in OPERATIONS)
