"""The typical hand-written crhelper custom resource that teams copy around: the
baseline of the benchmark. crhelper's defaults (DEBUG logging, Lambda, Events and
Logs clients made at start-up, a 120 s sleep on Delete), a client at import time,
a describe and an update on every event."""

import boto3
from crhelper import CfnResource

helper = CfnResource()
sagemaker = boto3.client("sagemaker")


@helper.create
@helper.update
def create_or_update(event, context):
    properties = event["ResourceProperties"]
    arn = properties["ModelPackageArn"]
    sagemaker.describe_model_package(ModelPackageName=arn)
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=properties["ModelApprovalStatus"],
        CustomerMetadataProperties=properties["CustomerMetadataProperties"],
    )
    helper.Data["ModelPackageArn"] = arn
    return arn


@helper.delete
def delete(event, context):
    properties = event["ResourceProperties"]
    sagemaker.update_model_package(
        ModelPackageArn=properties["ModelPackageArn"],
        CustomerMetadataPropertiesToRemove=list(properties["CustomerMetadataProperties"]),
    )


def handler(event, context):
    helper(event, context)
