"""Structured JSON logs (Powertools Logger). The raw event and the ResponseURL are
never logged; the planned requests are, as the audit trail, with the fields that
botocore's model marks sensitive (a model card's content) redacted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from .service_model import update_input_shape

logger = Logger(service="model-package-resource")


def audit_request(request: Mapping[str, Any]) -> None:
    logger.info("UpdateModelPackage", extra={"request": redact(request, update_input_shape())})


def redact(value: Any, shape: Any) -> Any:
    if shape.metadata.get("sensitive"):
        return f"<redacted: {len(str(value))} characters>"
    if isinstance(value, Mapping) and shape.type_name == "structure":
        return {k: redact(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if isinstance(value, list) and shape.type_name == "list":
        return [redact(v, shape.member) for v in value]
    return value
