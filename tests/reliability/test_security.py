"""Security checks of the suite: bandit on the Lambda's code, and the ResponseURL
rule. (That no log line of the whole suite carries the ResponseURL's signature or
the raw event is checked by the session-wide watch in tests/conftest.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import LEAK_MARKERS, LeakWatch

ROOT = Path(__file__).resolve().parents[2]


def test_bandit_finds_nothing_of_medium_or_higher_severity() -> None:
    completed = subprocess.run([sys.executable, "-m", "bandit", "-r", "handler", "-ll", "-f", "json", "-q"],
                               cwd=ROOT, capture_output=True, text=True, check=False)
    report = json.loads(completed.stdout)
    assert report["results"] == [], report["results"]
    assert report["metrics"]["_totals"]["loc"] > 500  # it did read the handler


def test_the_log_watch_catches_a_leak() -> None:
    watch = LeakWatch(None)
    watch.write('{"message": "x", "url": "https://b.s3.amazonaws.com/p?X-Amz-Signature=abc"}\n')
    watch.write('{"message": "fine"}\n')
    assert len(watch.leaks) == 1 and LEAK_MARKERS
