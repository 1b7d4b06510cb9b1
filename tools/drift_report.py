"""Drift of every governed model package, on demand: reads the record table, describes
each package it holds, and prints the items whose live value is not what the stack
that set them declares, by stack and resource (or as JSON).

    .venv/bin/python tools/drift_report.py --table TABLE [--region R] [--profile P]
                                           [--endpoint-url URL] [--json]

Runs with the operator's credentials (never the function's): dynamodb:Scan on the
table, sagemaker:DescribeModelPackage on the packages (kms:Decrypt where a package is
KMS-encrypted). Each package is described in the region of its ARN.

Exit status: 0 no drift, 1 drift found, 2 an error (bad arguments, the table cannot
be read, a package that cannot be described: the report is then incomplete)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from model_package_resource import clients
from model_package_resource.arns import parse_package_arn
from model_package_resource.drift import Drift, declared_ownership, drift
from model_package_resource.errors import ResourceError
from model_package_resource.ownership import resource_parts
from model_package_resource.sagemaker import SageMakerGateway
from model_package_resource.table import TABLE_VARIABLE, RecordTable
from model_package_resource.timing import Deadline

NO_DRIFT, DRIFT, ERROR = 0, 1, 2
# The whole report's time: each call's attempts are bounded within it.
REPORT_SECONDS = 900.0
SHOWN_WIDTH = 60


@dataclass
class Found:
    table: str
    packages: int = 0  # packages whose record manages something
    drifts: list[tuple[str, Drift]] = field(default_factory=list)  # (package ARN, drift)
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        return ERROR if self.errors else DRIFT if self.drifts else NO_DRIFT


def report(table: RecordTable, describe: Callable[[str], dict[str, Any] | None]) -> Found:
    """Every package the table governs, described (None: it no longer exists) and
    compared with its record."""
    found = Found(table.table)
    try:
        records = list(table.records())
    except ResourceError as error:
        found.errors.append(f"the table cannot be read: {error}")
        return found
    for record in records:
        if not record.ownership.entries and record.lease is None:
            continue  # idle: every resource on it was deleted
        found.packages += 1
        try:
            live = describe(record.package)
        except ResourceError as error:
            found.errors.append(f"{record.package}: {error}")
            continue
        for item in drift(declared_ownership(record, live or {}), live or {}):
            found.drifts.append((record.package, item))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/drift_report.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default=os.environ.get(TABLE_VARIABLE),
                        help="the record table: the provider stack's output PriorStateTableName")
    parser.add_argument("--region", help="the table's region (default: the profile's or the environment's)")
    parser.add_argument("--profile", help="the AWS profile to use (default: the environment's credentials)")
    parser.add_argument("--endpoint-url", help="another endpoint for DynamoDB and SageMaker (a local registry)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not args.table:
        parser.error(f"--table is required (or set {TABLE_VARIABLE})")
    try:
        found = check(args.table, args.region, args.profile, args.endpoint_url)
    except Exception as error:  # noqa: BLE001 - credentials, profile, region: one line, exit 2
        print(f"error: {error}", file=sys.stderr)
        return ERROR
    print(as_json(found) if args.json else as_text(found))
    return found.status


def check(table: str, region: str | None = None, profile: str | None = None,
          endpoint_url: str | None = None) -> Found:
    """The report of `table`, with the operator's credentials (a profile's, or the
    environment's); raises only when no client can be made (no region, no profile)."""
    make_client = _client_maker(profile, endpoint_url)
    deadline = Deadline.within(REPORT_SECONDS)
    records = RecordTable(deadline, table=table, region=region or _default_region(profile), make_client=make_client)

    def describe(arn: str) -> dict[str, Any] | None:
        package = parse_package_arn(arn)
        client = make_client("sagemaker", package.region, deadline)
        return SageMakerGateway(client, deadline, "drift-report", package).describe()

    return report(records, describe)


def _client_maker(profile: str | None, endpoint_url: str | None) -> Callable[..., Any]:
    """botocore clients with the operator's credentials, one per service and region,
    watching each call's deadline as the function's do."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session(profile=profile)
    made: dict[tuple[str, str], Any] = {}

    def make(service: str, region: str, deadline: Deadline, credentials: Mapping[str, str] | None = None) -> Any:
        if (service, region) not in made:
            config = Config(retries={"mode": "standard"}, connect_timeout=deadline.connect_timeout,
                            read_timeout=deadline.read_timeout)
            client = session.create_client(service, region_name=region, endpoint_url=endpoint_url, config=config)
            made[(service, region)] = clients.watch_deadline(client)
        return made[(service, region)]

    return make


def _default_region(profile: str | None) -> str:
    import botocore.session

    region = botocore.session.Session(profile=profile).get_config_variable("region")
    if not region:
        raise ValueError("no region: pass --region, or set one in the profile or AWS_REGION")
    return str(region)


# --- output --------------------------------------------------------------------


def as_text(found: Found) -> str:
    lines = [f"Drift report of {found.table}, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: "
             f"{found.packages} governed package{'s' if found.packages != 1 else ''}, "
             f"{len(found.drifts)} drifted item{'s' if len(found.drifts) != 1 else ''}."]
    by_resource: dict[str, list[tuple[str, Drift]]] = {}
    for package, item in found.drifts:
        by_resource.setdefault(item.resources[0] if item.resources else "", []).append((package, item))
    for resource in sorted(by_resource, key=lambda r: resource_parts(r)[1:]):
        _, stack, logical_id = resource_parts(resource)
        rows = [("PACKAGE", "ITEM", "KIND", "DECLARED", "LIVE")]
        for package, item in sorted(by_resource[resource], key=lambda p: (p[0], p[1].item)):
            rows.append((package, item.name, item.kind, shown(item.declared), shown(item.live)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines += ["", f"stack {stack}, resource {logical_id}"]
        for row in rows:
            lines.append("  " + "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]))
        shared = sorted({r for _, item in by_resource[resource] for r in item.resources[1:]})
        if shared:
            lines.append("  also managed by: " + "; ".join(_named(r) for r in shared))
    if not found.drifts and not found.errors:
        lines += ["", "No drift: every managed item holds what its stack declares."]
    if found.errors:
        lines += ["", "Not checked (the report is incomplete):"] + [f"  {error}" for error in found.errors]
    return "\n".join(lines)


def as_json(found: Found) -> str:
    return json.dumps({
        "table": found.table,
        "packages": found.packages,
        "drift": [{"ModelPackageArn": package, **item.fields()} for package, item in found.drifts],
        "errors": found.errors,
    }, indent=2, sort_keys=True, default=str)


def shown(value: Any) -> str:
    text = "(absent)" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= SHOWN_WIDTH else text[: SHOWN_WIDTH - 1] + "…"


def _named(resource: str) -> str:
    _, stack, logical_id = resource_parts(resource)
    return f"stack {stack}, resource {logical_id}"


if __name__ == "__main__":
    sys.exit(main())
