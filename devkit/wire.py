"""What the local registry reads of a request, and how it answers an error in the
request's own protocol: SageMaker's JSON 1.1, DynamoDB's JSON 1.0, and the query
protocol's XML (STS, IAM)."""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

# A fault kind -> protocol -> (HTTP status, error code, message). A kind that a
# protocol lacks (conflict on STS) does not apply to that protocol's requests.
ERRORS: dict[str, dict[str, tuple[int, str, str]]] = {
    "throttle": {
        "json": (400, "ThrottlingException", "Rate exceeded"),
        "dynamodb": (400, "ProvisionedThroughputExceededException",
                     "The level of configured provisioned throughput for the table was exceeded."),
        "query": (400, "Throttling", "Rate exceeded"),
    },
    "conflict": {
        "json": (400, "ConflictException", "Another update is in progress"),
        "dynamodb": (400, "ConditionalCheckFailedException", "The conditional request failed"),
    },
    "refused": {  # SageMaker refusing the request itself (a release so refused is left)
        "json": (400, "ValidationException", "Refused by the local registry's fault injection"),
        "dynamodb": (400, "ValidationException", "Refused by the local registry's fault injection"),
        "query": (400, "ValidationError", "Refused by the local registry's fault injection"),
    },
    "denied": {
        "json": (400, "AccessDeniedException", ""),
        "dynamodb": (400, "AccessDeniedException", ""),
        "query": (403, "AccessDenied", ""),
    },
    "http500": {
        "json": (500, "InternalFailure", "Internal failure"),
        "dynamodb": (500, "InternalServerError", "Internal server error"),
        "query": (500, "InternalFailure", "Internal failure"),
    },
    "http503": {
        "json": (503, "ServiceUnavailable", "Service unavailable"),
        "dynamodb": (503, "ServiceUnavailable", "Service unavailable"),
        "query": (503, "ServiceUnavailable", "Service unavailable"),
    },
}


@dataclass
class Request:
    """One request as the registry sees it before moto does."""

    service: str  # the SigV4 signing name: sagemaker, dynamodb, sts, iam ("" unsigned)
    operation: str  # UpdateModelPackage, PutItem, AssumeRole ("?" when unknown)
    region: str
    access_key: str | None
    params: dict[str, Any] = field(default_factory=dict)  # the JSON body, or the form's first values

    @property
    def protocol(self) -> str:
        if self.service == "dynamodb":
            return "dynamodb"
        return "query" if self.service in ("sts", "iam") else "json"


def read(environ: dict[str, Any], default_region: str) -> Request:
    """Parse the request (the body is put back for moto to read)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key, region, service = scope.groups() if scope else (None, default_region, "")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    params: dict[str, Any] = {}
    if target:
        service = service or ("dynamodb" if target.startswith("DynamoDB") else target.partition(".")[0].lower())
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            loaded = {}
        params = loaded if isinstance(loaded, dict) else {}
        operation = target.rpartition(".")[2] or "?"
    else:
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        params = {name: values[0] for name, values in form.items()}
        operation = str(params.get("Action") or "?")
    return Request(service, operation, region, access_key, params)


def error(request: Request, status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The status line, headers and body of an error in the request's protocol."""
    request_id = str(uuid.uuid4())
    if request.protocol == "query":
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="https://{request.service}.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    else:
        prefixed = f"com.amazonaws.dynamodb.v20120810#{code}" if request.protocol == "dynamodb" else code
        body = json.dumps({"__type": prefixed, "message": message}).encode()
        content_type = "application/x-amz-json-1.0" if request.protocol == "dynamodb" else "application/x-amz-json-1.1"
    headers = [("content-type", content_type), ("content-length", str(len(body))), ("x-amzn-requestid", request_id)]
    return f"{status} {code}", headers, body


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
