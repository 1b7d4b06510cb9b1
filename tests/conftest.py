from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from devkit.receiver import ResponseReceiver
from tests.helpers import LogCapture

# Profiles: CI runs the default (short) one; `make fuzz` the long one.
settings.register_profile("default", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.pop("AWS_ENDPOINT_URL_SAGEMAKER", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def _receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResponseReceiver]:
    receiver = ResponseReceiver().start(str(tmp_path_factory.mktemp("receiver")))
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(_receiver: ResponseReceiver, monkeypatch: pytest.MonkeyPatch) -> ResponseReceiver:
    """A real HTTPS ResponseURL receiver, trusted and allowed for this test."""
    _receiver.clear()
    for name, value in _receiver.environment().items():
        monkeypatch.setenv(name, value)
    return _receiver


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Every line the handler logs during the test."""
    from model_package_resource.logs import logger

    capture = LogCapture()
    handler = logger.registered_handler
    previous = handler.setStream(capture.stream)  # type: ignore[attr-defined]
    yield capture
    handler.setStream(previous)  # type: ignore[attr-defined]
