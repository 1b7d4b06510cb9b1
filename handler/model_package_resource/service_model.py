"""botocore's SageMaker service model: the one source of parameter names, types,
enums and limits. Loaded on first use and shared with the SageMaker client, so the
(large) model is read from disk once per process."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import botocore.session
    from botocore.model import StructureShape

OPERATION = "UpdateModelPackage"


@functools.cache
def session() -> botocore.session.Session:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def update_input_shape() -> StructureShape:
    model = session().get_service_model("sagemaker")
    shape = model.operation_model(OPERATION).input_shape
    if shape is None:  # pragma: no cover - the model always has this input
        raise RuntimeError(f"botocore's model has no input for {OPERATION}")
    return shape
