"""Per-event metrics in CloudWatch's embedded metric format (Powertools Metrics):
written to the log as one JSON line, so no client and no call. template.yaml's
alarms watch FailedEvents and DriftedItems."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .invocation import Outcome

NAMESPACE = "ModelPackageResource"
SERVICE = "model-package-resource"


def emit(request_type: str, outcome: Outcome) -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    metrics.add_metric("Events", MetricUnit.Count, 1)
    metrics.add_metric("FailedEvents", MetricUnit.Count, 1 if outcome.status == "FAILED" else 0)
    metrics.add_metric("SageMakerCalls", MetricUnit.Count, len(outcome.calls) + outcome.reverts)
    metrics.add_metric("Reverts", MetricUnit.Count, outcome.reverts)
    metrics.add_metric("Releases", MetricUnit.Count, outcome.releases)
    # Releases SageMaker refused (left on the package, marked in the record), and
    # releases that found no record of the resource (nothing given back).
    metrics.add_metric("LeftUnreleased", MetricUnit.Count, outcome.left)
    metrics.add_metric("UnrecordedReleases", MetricUnit.Count, outcome.unrecorded)
    metrics.add_metadata("RequestType", request_type or "unknown")
    metrics.add_metadata("Outcome", outcome.status)
    metrics.flush_metrics()


def drift_checked(package: str, drifted: int) -> None:
    """One drift check of a managed package (SageMaker's state change event): the
    items found drifted, 0 included, so that the metric shows the checks ran."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    metrics.add_metric("DriftedItems", MetricUnit.Count, drifted)
    metrics.add_metadata("ModelPackageArn", package)
    metrics.flush_metrics()
