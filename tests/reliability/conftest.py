from __future__ import annotations

import pytest

from tests.reliability import stats


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stats.write(exitstatus)
