"""A CloudFormation custom resource that governs existing SageMaker model packages.

A pure core (request, properties, shapes, plan, priors, response) and a thin shell
(sagemaker, prior_state, credentials, clients, sender); `app.lambda_handler` wires
them to Lambda."""
