"""One cold start, timed by bench.py from outside the process: python bench/cold_start.py VARIANT [EVENT].

Only the standard library is imported here before the variant's own imports, so the
file runs by its path on any interpreter, isolated (-I) as on Lambda.

floor         import boto3 and make a SageMaker client (full model), nothing else
floor-trimmed import botocore and make the client from the trimmed model the handler ships
              (botocore's data_path setting), nothing else
ours          app.lambda_handler of HANDLER_DIR (handler/ or the built package) answers the
              Create event in EVENT (describe, update, PUT)
ours-full     the same handler, reading botocore's full SageMaker model (HANDLER_DIR without botocore_data)
ours-collector-on  the same handler with the garbage collector left on during the cold start
ours-no-metrics    the same handler writing no metrics (their cost)
crhelper      a typical hand-written crhelper handler (CRHELPER_DIR, default bench/) answers the
              same event (crhelper's defaults)
"""

import json
import os
import sys


class Context:
    function_name = "bench"
    aws_request_id = "bench"
    memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self):
        return 60_000


def main():
    variant = sys.argv[1]
    if variant == "floor":
        import boto3

        boto3.client("sagemaker", region_name="eu-west-1")
        return
    if variant == "floor-trimmed":
        sys.path.insert(0, os.environ["HANDLER_DIR"])
        import botocore.session

        session = botocore.session.get_session()
        session.set_config_variable(
            "data_path", os.path.join(os.environ["HANDLER_DIR"], "model_package_resource", "botocore_data"))
        session.create_client("sagemaker", region_name="eu-west-1")
        return
    with open(sys.argv[2]) as f:
        event = json.load(f)
    if variant in ("ours", "ours-full", "ours-collector-on", "ours-no-metrics"):
        sys.path.insert(0, os.environ["HANDLER_DIR"])
        if variant == "ours-collector-on":  # app.py turns the collector off at import: not here
            import gc

            gc.disable = lambda: None
        from app import lambda_handler

        if variant == "ours-no-metrics":  # neither Powertools Metrics imported nor a line written
            from model_package_resource import metrics

            metrics.emit = lambda request_type, outcome: None

        result = lambda_handler(event, Context())
        if result.get("Status") != "SUCCESS":
            sys.exit(f"FAILED: {result.get('Reason')}")
        return
    if variant == "crhelper":
        sys.path.insert(0, os.environ.get("CRHELPER_DIR") or os.path.dirname(os.path.abspath(__file__)))
        import crhelper_handler

        crhelper_handler.handler(event, Context())
        return
    sys.exit(f"unknown variant {variant}")


main()
