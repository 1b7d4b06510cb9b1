from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import LeakWatch, LogCapture

if TYPE_CHECKING:
    from devkit.receiver import ResponseReceiver
    from devkit.registry import LocalRegistry
    from devkit.runner import Lifecycle

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


WATCH = LeakWatch(None)


@pytest.fixture(scope="session", autouse=True)
def _no_log_line_leaks() -> Iterator[None]:
    """Every line the handler logs in this process, in every test, passes the watch."""
    from model_package_resource.logs import logger

    handler = logger.registered_handler
    WATCH.target = handler.stream  # type: ignore[attr-defined]
    handler.setStream(WATCH)  # type: ignore[attr-defined]
    yield
    handler.setStream(WATCH.target)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if WATCH.leaks:
        print(f"\n{len(WATCH.leaks)} log lines carried the ResponseURL or the raw event:")
        for line in WATCH.leaks[:5]:
            print("  " + line.strip())
        session.exitstatus = 1


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Every line the handler logs during the test (still passing the watch)."""
    capture = LogCapture()
    previous, WATCH.target = WATCH.target, capture.stream
    yield capture
    WATCH.target = previous


# devkit's HTTPS receiver and local registry, for the tiers that use them; devkit is
# imported only when a test asks for one (the unit tier imports none of it).
@pytest.fixture(scope="session")
def _receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResponseReceiver]:
    from devkit.receiver import ResponseReceiver

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


SEED = Path(__file__).resolve().parents[1] / "devkit" / "demo" / "registry.yaml"


@pytest.fixture(scope="session")
def _registry() -> Iterator[LocalRegistry]:
    from devkit.registry import LocalRegistry

    registry = LocalRegistry().start()
    yield registry
    registry.stop()


@pytest.fixture
def registry(_registry: LocalRegistry) -> LocalRegistry:
    """The embedded local registry, emptied for this test."""
    _registry.reset()
    return _registry


@pytest.fixture
def labels(registry: LocalRegistry) -> dict[str, str]:
    """The demo seed: churn/1 (approved), churn/2 and churn/3 (pipeline metadata)."""
    return registry.seed(SEED)


@pytest.fixture
def lifecycle(registry: LocalRegistry, receiver: ResponseReceiver, labels: dict[str, str]) -> Lifecycle:
    """CloudFormation's side of one resource, invoking the handler in this process."""
    from devkit.runner import Lifecycle

    return Lifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000)
