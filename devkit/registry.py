"""The embedded local SageMaker model registry: moto's server (pinned), in this
process on 127.0.0.1 and a free port, with sagemaker_fidelity's corrections, a
count of the requests that reach it per operation, and faults to inject at the
HTTP level. Seeded from a file that describes model package groups and versions
as a pipeline leaves them."""

from __future__ import annotations

import io
import json
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
from typing import Any

from . import sagemaker_fidelity

REGION = "eu-west-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "conflict": (400, "ConflictException", "Another update is in progress"),
    "http500": (500, "InternalFailure", "Internal failure"),
    "http503": (503, "ServiceUnavailable", "Service unavailable"),
}


class SeedError(ValueError):
    """A seed file that cannot be read; the message names the file and the field."""


@dataclass
class Fault:
    """Answer the next `times` requests for `operation` ("*" for any) with `kind`;
    "slow" delays them by `delay` seconds and then answers normally."""

    kind: str
    operation: str = "*"
    times: int = 1
    delay: float = 0.0


@dataclass
class LocalRegistry:
    host: str = "127.0.0.1"
    port: int = 0
    region: str = REGION
    requests: Counter[str] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    _server: Any = None
    _clients: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalRegistry:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
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
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def environment(self) -> dict[str, str]:
        """What a process needs to use this registry as its SageMaker."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL_SAGEMAKER": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, region: str | None = None, account: str | None = None) -> Any:
        """A SageMaker client of this registry, for a region and (for requests that
        name no ARN, such as creating a group) an account; made once each."""
        key = (region or self.region, account)
        if key not in self._clients:
            import botocore.session

            client = botocore.session.get_session().create_client(
                "sagemaker",
                region_name=key[0],
                endpoint_url=self.endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            if account is not None:
                client.meta.events.register("before-sign.sagemaker", _account_header(account))
            self._clients[key] = client
        return self._clients[key]

    def client_of(self, arn: str) -> Any:
        """The client for the region of a package's ARN (moto keeps a backend per region)."""
        parts = arn.split(":")
        return self.client(parts[3] if len(parts) > 3 and parts[3] else None)

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def reset(self) -> None:
        """Forget every package, fault and count (moto's own reset endpoint)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"))
        sagemaker_fidelity.reset()
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def _next_fault(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.operation in ("*", operation) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            operation = target.rpartition(".")[2] or "?"
            account = _account_named(environ)
            if account is not None:  # a package ARN of another account: moto's backend of that account
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
            with self._lock:
                self.requests[operation] += 1
            fault = self._next_fault(operation)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault is not None and fault.kind == "reset":
                _reset(environ)
                start_response("500 Internal Server Error", [("content-length", "0")])
                return [b""]
            elif fault is not None:
                status, code, message = _ERRORS[fault.kind]
                body = json.dumps({"__type": code, "message": message}).encode()
                start_response(
                    f"{status} {code}",
                    [("content-type", "application/x-amz-json-1.1"), ("content-length", str(len(body)))],
                )
                return [body]
            return app(environ, start_response)

        return middleware

    # --- seeding ---------------------------------------------------------------

    def seed(self, path: str | Path) -> dict[str, str]:
        """Create the groups and versions that `path` (YAML or JSON) describes;
        returns each version's label ("group/version") -> ARN."""
        spec = load_document(path)
        groups = spec.get("groups")
        if not isinstance(groups, list) or not groups:
            raise SeedError(f"{path}: field 'groups' must be a non-empty list")
        region, account = spec.get("region", self.region), spec.get("account")
        if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
            raise SeedError(f"{path}: field 'region' must be a region name such as eu-west-1")
        if account is not None and not re.fullmatch(r"\d{12}", str(account)):
            raise SeedError(f"{path}: field 'account' must be 12 digits")
        client = self.client(region, None if account is None else str(account))
        arns: dict[str, str] = {}
        for g, group in enumerate(groups):
            name = group.get("name") if isinstance(group, Mapping) else None
            if not isinstance(name, str) or not name:
                raise SeedError(f"{path}: field 'groups[{g}].name' must be a string")
            client.create_model_package_group(ModelPackageGroupName=name)
            for v, version in enumerate(group.get("versions") or []):
                where = f"groups[{g}].versions[{v}]"
                arns[f"{name}/{v + 1}"] = self._seed_version(client, name, version, f"{path}: {where}")
        return arns

    def _seed_version(self, client: Any, group: str, version: Any, where: str) -> str:
        if not isinstance(version, Mapping):
            raise SeedError(f"{where} must be a map")
        request: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": str(
                            version.get("image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/model:latest")
                        )
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelApprovalStatus": str(version.get("approval", "PendingManualApproval")),
        }
        metadata = version.get("metadata")
        if metadata:
            if not isinstance(metadata, Mapping):
                raise SeedError(f"{where}.metadata must be a map")
            request["CustomerMetadataProperties"] = {str(k): str(v) for k, v in metadata.items()}
        arn = client.create_model_package(**request)["ModelPackageArn"]
        status = version.get("status")
        if status:
            seconds = version.get("status_seconds")
            sagemaker_fidelity.set_status(arn, str(status), for_seconds=float(seconds) if seconds else None)
        return str(arn)


def load_document(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file as a map, or a one-line error naming the file."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SeedError(f"{path}: cannot read: {error.strerror}") from None
    try:
        document = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        kind = "JSON" if str(path).endswith(".json") else "YAML"
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SeedError(f"{path}: not valid {kind}: {first}") from None
    if not isinstance(document, dict):
        raise SeedError(f"{path}: expected a map at the top level")
    return document


_ACCOUNT_IN_ARN = re.compile(rb"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:(\d{12}):")


def _account_header(account: str) -> Callable[..., None]:
    def add(request: Any, **_: Any) -> None:
        request.headers.add_header("x-moto-account-id", account)

    return add


def _account_named(environ: dict[str, Any]) -> str | None:
    """The account of the first SageMaker ARN in the request's body (the body is
    put back for moto to read)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    match = _ACCOUNT_IN_ARN.search(body)
    return match.group(1).decode() if match else None


def _check_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror} (choose another --port)") from None


def _reset(environ: Mapping[str, Any]) -> None:
    """Close the client's connection with a TCP reset."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

