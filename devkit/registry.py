"""The embedded local AWS of the tests and the demo: moto's server (pinned), in this
process on 127.0.0.1 and a free port, answering SageMaker (with
sagemaker_fidelity's corrections), DynamoDB (the prior-state table, created as
template.yaml declares it) and STS/IAM, for several accounts.

Each account owns its packages; the caller's account comes from the request's
credentials (devkit/access.py), and a SageMaker call on another account's package
is refused unless the group's resource policy grants it. The registry counts the
requests that reach it per operation, records every SageMaker and AssumeRole call
with its caller, injects faults at the HTTP level, and may throttle operations with
token buckets (devkit/throttle.py, for make fleet). Seeded from a file that
describes accounts, model package groups (with their policies), versions as a
pipeline leaves them, and roles."""

from __future__ import annotations

import logging
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from . import access, dynamodb_table, sagemaker_fidelity, seeding, wire
from .seeding import SeedError as SeedError  # re-exported: the runner's and tests' import
from .seeding import load_document as load_document
from .throttle import Throttle

REGION = "eu-west-1"
FUNCTION_ACCOUNT = access.FUNCTION_ACCOUNT
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
KINDS = (*wire.ERRORS, "slow", "reset", "down", "lost")


@dataclass
class Fault:
    """Answer the next `times` requests for `operation` with `kind`.

    operation: "*" (any), an operation ("PutItem", "AssumeRole",
    "UpdateModelPackage"), or a whole service ("dynamodb:*", "sts:*").
    kind: throttle, conflict, refused, denied, http500, http503 (each in the protocol of
    the request: conflict is ConditionalCheckFailed on DynamoDB and does not apply
    to STS); slow (delay by `delay` seconds, then answer); reset (the connection
    is dropped instead of an answer: botocore's ConnectionClosedError); down (the
    service is unreachable: dropped alike, but before the request reaches the
    service, so it is neither counted nor recorded; `times=99` for an outage);
    lost (the request lands, then its answer is lost: the service applies it and
    the caller gets HTTP 500 — a write whose outcome it cannot know).
    `after` lets that many matching requests through before the fault applies."""

    kind: str
    operation: str = "*"
    times: int = 1
    delay: float = 0.0
    # Let this many matching requests through first: `after=1` refuses the second.
    after: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind {self.kind!r}: expected one of {', '.join(KINDS)}")

    def applies(self, request: wire.Request) -> bool:
        if self.kind in wire.ERRORS and request.protocol not in wire.ERRORS[self.kind]:
            return False
        return self.matches(request)

    def matches(self, request: wire.Request) -> bool:
        """Whether `request` is of the fault's operation (or service, or any)."""
        return self.operation in ("*", request.operation, f"{request.service}:*",
                                  f"{request.service}:{request.operation}")


class Call(NamedTuple):
    """A SageMaker or AssumeRole call as the registry judged it."""

    operation: str
    caller: str  # the caller's account, from its credentials
    account: str  # the account of the package (of the role, for AssumeRole)
    allowed: bool
    principal: str = ""  # the caller's ARN
    resource: str = ""  # the package or role ARN


@dataclass
class LocalRegistry:
    host: str = "127.0.0.1"
    port: int = 0
    region: str = REGION
    template: Path = dynamodb_table.TEMPLATE
    requests: Counter[str] = field(default_factory=Counter)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # Token buckets per operation: a request that finds its bucket empty is answered
    # with the service's throttling error (the registry's own clients are never throttled).
    throttle: Throttle | None = None
    _server: Any = None
    _clients: dict[tuple[str, str, str | None], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def table_name(self) -> str:
        """The prior-state table, in the function's account and this region."""
        return dynamodb_table.declaration(self.template)[0]

    def start(self) -> LocalRegistry:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        dynamodb_table.declaration(self.template)  # a template without the table fails here, before listening
        sagemaker_fidelity.install()
        app = DomainDispatcherApplication(create_backend_app)
        _check_free(self.host, self.port)  # werkzeug would exit the process on a port in use
        try:
            self._server = make_server(
                self.host, self.port, self._wsgi(app), threaded=True, request_handler=MotoRequestHandler
            )
        except OSError as error:
            raise OSError(f"cannot listen on {self.host}:{self.port}: {error.strerror}") from None
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._create_table()
        self.reset_counts()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def environment(self) -> dict[str, str]:
        """What a process needs to use this registry as its SageMaker, DynamoDB and
        STS, with the function's credentials, and the prior-state table's name."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL_SAGEMAKER": self.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
            "AWS_ENDPOINT_URL_STS": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "PRIOR_STATE_TABLE": self.table_name,
        }

    def client(self, region: str | None = None, account: str | None = None, service: str = "sagemaker") -> Any:
        """The registry's own client of a service, for a region, acting as an
        account's owner (never refused, not recorded in `calls`); without an
        account, the function's credentials (refused and recorded like the
        function). Made once each."""
        key = (service, region or self.region, account)
        if key not in self._clients:
            import botocore.session

            client = botocore.session.get_session().create_client(
                service,
                region_name=key[1],
                endpoint_url=self.endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            if account is not None:
                client.meta.events.register("before-sign", _account_header(account))
            self._clients[key] = client
        return self._clients[key]

    def client_of(self, arn: str) -> Any:
        """The registry's own SageMaker client for a package's ARN: its region, acting
        as its account (moto keeps a backend per account and region)."""
        parts = arn.split(":")
        region = parts[3] if len(parts) > 4 and parts[3] else None
        account = parts[4] if len(parts) > 4 and re.fullmatch(r"\d{12}", parts[4]) else None
        return self.client(region, account)

    def assume(self, role_arn: str, session: str = "local") -> dict[str, str]:
        """Credentials of an AssumeRole by the function (botocore client keywords)."""
        answer = self.client(service="sts").assume_role(RoleArn=role_arn, RoleSessionName=session)
        credentials = answer["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def reset(self) -> None:
        """Forget every package, policy, role, item, fault, count and call (moto's own
        reset endpoint), then create the prior-state table again."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"))
        sagemaker_fidelity.reset()
        with self._lock:
            self.faults.clear()
        self._create_table()
        self.reset_counts()

    def reset_counts(self) -> None:
        """Forget the counts of requests and the recorded calls."""
        with self._lock:
            self.requests.clear()
            self.calls.clear()

    def table_items(self) -> list[dict[str, Any]]:
        """Every item of the record table, as DynamoDB holds it (a scan by its owner)."""
        client = self.client(account=FUNCTION_ACCOUNT, service="dynamodb")
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _create_table(self) -> None:
        dynamodb_table.create(self.client(account=FUNCTION_ACCOUNT, service="dynamodb"), self.template)

    def _next_fault(self, request: wire.Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.applies(request):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    def _authorize(self, request: wire.Request, caller: access.Caller) -> tuple[bool, str, str]:
        """(allowed, the account acted on, the AccessDenied message) of a SageMaker
        or AssumeRole call, recorded in `calls` unless the registry made it."""
        if request.service == "sts" and request.operation == "AssumeRole":
            resource = str(request.params.get("RoleArn", ""))
            allowed, account = access.may_assume(caller, resource, request.region)
            action = "sts:AssumeRole"
            message = f"User: {caller.principal} is not authorized to perform: {action} on resource: {resource}"
        elif request.service == "sagemaker":
            resource = _resource_of(request.params)
            account = resource.split(":")[4] if resource.count(":") >= 5 else caller.account
            action = f"sagemaker:{request.operation}"
            verdict = "allow"
            if account != caller.account and not caller.own:
                verdict = access.decide(sagemaker_fidelity.group_policy(resource), caller, action, resource)
            allowed, message = verdict == "allow", access.denied_message(caller, action, resource, verdict)
        else:  # DynamoDB, IAM: allowed, and named as a `denied` fault would
            action, table = f"{request.service}:{request.operation}", request.params.get("TableName")
            resource = f"arn:aws:dynamodb:{request.region}:{caller.account}:table/{table}" if table else "*"
            return True, caller.account, access.denied_message(caller, action, resource, "allow")
        if not caller.own:
            with self._lock:
                self.calls.append(
                    Call(request.operation, caller.account, account, allowed, caller.principal, resource)
                )
        return allowed, account, message

    def _wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            request = wire.read(environ, self.region)
            fault = self._next_fault(request)
            if fault is not None and fault.kind == "down":
                _reset(environ)
            with self._lock:
                self.requests[request.operation] += 1
            caller = access.caller_of(request.access_key, environ.get("HTTP_X_MOTO_ACCOUNT_ID"), request.region)
            throttle = self.throttle
            if throttle is not None and not caller.own and not throttle.admit(request.operation):
                status, code, message = wire.ERRORS["throttle"][request.protocol]
                return _answer(start_response, *wire.error(request, status, code, message))
            allowed, account, denied = self._authorize(request, caller)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault is not None and fault.kind == "reset":
                _reset(environ)
            elif fault is not None and fault.kind != "lost":
                status, code, message = wire.ERRORS[fault.kind][request.protocol]
                return _answer(start_response, *wire.error(request, status, code, message or denied))
            if not allowed:
                status, code, _ = wire.ERRORS["denied"][request.protocol]
                return _answer(start_response, *wire.error(request, status, code, denied))
            if request.service == "sagemaker":  # moto's backend of the package's account
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
            if fault is not None and fault.kind == "lost":
                for _ in app(environ, lambda *_: lambda _data: None):  # applied, its answer discarded
                    pass
                status, code, message = wire.ERRORS["http500"][request.protocol]
                return _answer(start_response, *wire.error(request, status, code, message))
            return app(environ, start_response)

        return middleware

    def seed(self, path: str | Path) -> dict[str, str]:
        """Create what a seed file describes (devkit/seeding.py); returns each
        version's label -> ARN."""
        return seeding.seed(self, path)


def _account_header(account: str) -> Callable[..., None]:
    def add(request: Any, **_: Any) -> None:
        request.headers.add_header("x-moto-account-id", account)

    return add


def _resource_of(params: Mapping[str, Any]) -> str:
    """The package or group a SageMaker request acts on: its ARN, or its name."""
    for name in ("ModelPackageArn", "ModelPackageName", "ModelPackageGroupName"):
        value = params.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _answer(start_response: Callable[..., Any], status: str, headers: list[tuple[str, str]],
            body: bytes) -> Iterable[bytes]:
    start_response(status, headers)
    return [body]


def _check_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror} (choose another --port)") from None


def _reset(environ: Mapping[str, Any]) -> NoReturn:
    """Drop the client's connection without an answer: shut down (no response can
    follow), with no lingering, so that closing it resets; werkzeug then drops the
    request quietly."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("fault: the connection is dropped")
