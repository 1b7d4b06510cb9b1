"""Structured JSON logs (Powertools Logger). The raw event and the ResponseURL are
never logged; the planned requests are, as the audit trail, with the fields that
botocore's model marks sensitive (a model card's content) redacted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from .shapes import redact, update_input_shape

logger = Logger(service="model-package-resource")


def audit_request(request: Mapping[str, Any]) -> None:
    logger.info("UpdateModelPackage", extra={"request": redact(request, update_input_shape())})
