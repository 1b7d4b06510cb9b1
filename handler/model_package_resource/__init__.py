"""A CloudFormation custom resource that governs existing SageMaker model packages.

A pure core (properties, plan, response) and a thin shell (events, sagemaker,
respond); `app.lambda_handler` wires them to Lambda."""
