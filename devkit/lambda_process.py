"""Invoke app.lambda_handler as Lambda would, in this (fresh) process: the event on
standard input, a context whose remaining time counts down from --timeout-ms. Its
result, one JSON line, goes to the file named by --result.

The code comes from handler/ unless --code-dir names another directory (the built
package, as Lambda's /var/task). Only the standard library is imported here, so the
file also runs by its path on another interpreter (python3.13 -I -B, as the
artifact tests do), where devkit is no package on sys.path."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # the handler's own type of Lambda's context; nothing imported at run time
    from aws_lambda_powertools.utilities.typing import LambdaContext as PowertoolsLambdaContext


class LambdaContext:
    """The parts of Lambda's context object that the handler reads."""

    function_name = "model-package-resource"
    memory_limit_in_mb = 256

    def __init__(self, timeout_ms: int = 30_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._ends = time.monotonic() + timeout_ms / 1000

    def typed(self) -> PowertoolsLambdaContext:
        """This context, as the handler's signature names Lambda's (Powertools' type):
        the handler reads only what this one has."""
        return cast("PowertoolsLambdaContext", self)

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._ends - time.monotonic()) * 1000), 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout-ms", type=int, default=60_000)
    parser.add_argument("--result", required=True)
    parser.add_argument("--code-dir", default=str(Path(__file__).resolve().parent.parent / "handler"))
    # make fleet measures the retries' longest wait: it replaces timing.RETRY_CAP here.
    parser.add_argument("--retry-cap", type=float, default=None)
    args = parser.parse_args()
    event = json.loads(sys.stdin.read())
    context = LambdaContext(args.timeout_ms)
    sys.path.insert(0, args.code_dir)
    if args.retry_cap is not None:
        from model_package_resource import timing

        timing.RETRY_CAP = args.retry_cap
    from app import lambda_handler

    result = lambda_handler(event, context.typed())
    Path(args.result).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
