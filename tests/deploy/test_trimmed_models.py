"""The function's trimmed copy of botocore's SageMaker model: current with the pinned
botocore, and identical to it for the two operations the function calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from devkit.trim_model import OPERATIONS, model_file, render
from model_package_resource.clients import session

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_committed_trimmed_model_is_generated_from_the_pinned_botocore(service: str) -> None:
    assert model_file(service).read_text() == render(service), "run: python -m devkit models"


@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_trimmed_model_loses_no_parameter(service: str) -> None:
    full = botocore.session.Session().get_service_model(service)
    trimmed = session().get_service_model(service)
    assert sorted(trimmed.operation_names) == sorted(OPERATIONS[service])
    for name in OPERATIONS[service]:
        ours, theirs = trimmed.operation_model(name), full.operation_model(name)
        for shape in ("input_shape", "output_shape"):
            assert json.dumps(getattr(ours, shape).members, default=repr, sort_keys=True) == json.dumps(
                getattr(theirs, shape).members, default=repr, sort_keys=True)
    assert trimmed.api_version == full.api_version


def test_importing_the_handler_makes_no_client_and_loads_no_model() -> None:
    # Work is deferred to the first event: no model parsed, no client made, no boto3.
    script = (
        "import sys; import app\n"
        "from model_package_resource import clients\n"
        "print(clients._client.cache_info().currsize, clients.session.cache_info().currsize,\n"
        "      'boto3' in sys.modules, 'crhelper' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["0", "0", "False", "False"]
