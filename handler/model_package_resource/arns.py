"""ARNs the resource reads: a model package's and an IAM role's. The partition of
a region, and the DNS suffixes of AWS hosts, come from botocore's partition data."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidProperty, preview

# DescribeModelPackage's ModelPackageName pattern, anchored: a package ARN that the
# API can describe. The partition and region are read from it.
PACKAGE_ARN_PATTERN = (
    r"arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]{9,16}):"
    r"(?P<account>[0-9]{12}):model-package/"
    r"(?P<name>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})(?:/(?P<version>[0-9]{1,9}))?"
)
PACKAGE_ARN_MAX_LENGTH = 176
# IAM's role ARN: an optional path, a name of at most 64 characters.
ROLE_ARN_PATTERN = (
    r"arn:(?P<partition>aws[a-z\-]*):iam::(?P<account>[0-9]{12}):role/"
    r"(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})"
)
ROLE_ARN_MAX_LENGTH = 2048
_PACKAGE = re.compile(PACKAGE_ARN_PATTERN)
_ROLE = re.compile(ROLE_ARN_PATTERN)


@dataclass(frozen=True)
class PackageArn:
    arn: str
    partition: str
    region: str
    account: str
    name: str
    version: str | None


@dataclass(frozen=True)
class RoleArn:
    arn: str
    partition: str
    account: str
    name: str


def parse_package_arn(value: object, path: str = "ModelPackageArn") -> PackageArn:
    if not isinstance(value, str) or not value:
        raise InvalidProperty("a model package ARN is required", path)
    match = _PACKAGE.fullmatch(value)
    if match is None or len(value) > PACKAGE_ARN_MAX_LENGTH:
        raise InvalidProperty(
            f"{preview(value)} is not a model package ARN "
            "(arn:PARTITION:sagemaker:REGION:ACCOUNT:model-package/NAME[/VERSION])",
            path,
        )
    partition, region = match["partition"], match["region"]
    expected = partition_of(region)
    if expected is None:
        raise InvalidProperty(f"region {region} is in no AWS partition that botocore knows", path)
    if partition != expected:
        raise InvalidProperty(f"region {region} belongs to partition {expected}, not {partition}", path)
    return PackageArn(value, partition, region, match["account"], match["name"], match["version"])


def parse_role_arn(value: object, package: PackageArn, path: str = "RoleArn") -> RoleArn:
    if not isinstance(value, str) or not value:
        raise InvalidProperty("expected an IAM role ARN", path)
    match = _ROLE.fullmatch(value)
    if match is None or len(value) > ROLE_ARN_MAX_LENGTH:
        raise InvalidProperty(
            f"{preview(value)} is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME)", path
        )
    if match["partition"] != package.partition:
        raise InvalidProperty(
            f"the role is in partition {match['partition']}, the package in {package.partition}", path
        )
    return RoleArn(value, match["partition"], match["account"], match["name"])


def partition_of(region: str) -> str | None:
    """The partition whose region list or region pattern holds `region`."""
    partitions = _partitions()
    for partition in partitions:
        if region in partition.get("regions", {}):
            return str(partition["id"])
    for partition in partitions:
        if re.fullmatch(partition["regionRegex"], region):
            return str(partition["id"])
    return None


def dns_suffixes() -> tuple[str, ...]:
    """The DNS suffix of every partition's AWS hosts (amazonaws.com, c2s.ic.gov, ...)."""
    return tuple(sorted({str(p["outputs"]["dnsSuffix"]) for p in _partitions()}))


@functools.cache
def _partitions() -> list[Mapping[str, Any]]:
    from .clients import session

    data = session().get_component("data_loader").load_data("partitions")
    return list(data["partitions"])
