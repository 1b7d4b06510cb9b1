from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry
from devkit.runner import Lifecycle

SEED = Path(__file__).resolve().parents[2] / "devkit" / "demo" / "registry.yaml"


@pytest.fixture(scope="session")
def _registry() -> Iterator[LocalRegistry]:
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
    return Lifecycle(registry, receiver, labels, cold=False, timeout_ms=30_000)
