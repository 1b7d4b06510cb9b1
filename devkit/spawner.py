"""Start many cold processes at once and time each, for make fleet: run by its path
on a small interpreter (python -I -S), so that each child, forked from it, inherits
no large memory image and its peak RSS (ru_maxrss from wait4) is its own.

Jobs arrive on standard input, one JSON object a line: {"id", "argv", "env",
"stdin" (a file), "out" (a file for stdout and stderr), "delay" (seconds before the
first try)}; end of input means no more jobs. One JSON line per finished job goes
to standard output: {"id", "launched", "ended" (time.monotonic(), the same clock
in every process of the machine), "rss_kb", "code", "tries"}.

With a concurrency limit (the first argument; 0 for none), a job that finds every
slot taken is put back and tried again later, as Lambda's asynchronous event queue
does for an invocation throttled by the function's reserved concurrency: "the retry
interval increases exponentially from 1 second after the first attempt to a maximum
of 5 minutes" (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).

Only the standard library: it runs isolated, with no site-packages."""

from __future__ import annotations

import heapq
import json
import os
import select
import signal
import sys
import time
from typing import Any

QUEUE_FIRST_RETRY, QUEUE_MAX_RETRY = 1.0, 300.0
POLL = 0.005


def _start(job: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: its input, its output, then the job's program
        try:
            os.dup2(os.open(job["stdin"], os.O_RDONLY), 0)
            out = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.execve(job["argv"][0], job["argv"], job["env"])  # noqa: S606 - the harness's own command
        finally:
            os._exit(127)
    return pid


def main() -> int:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    parent = os.getppid()
    due: list[tuple[float, int, dict[str, Any]]] = []  # (when, order, job)
    running: dict[int, tuple[dict[str, Any], float]] = {}
    tries: dict[str, int] = {}
    order, buffered, reading = 0, b"", True
    while reading or due or running:
        if os.getppid() != parent:  # the harness is gone: so are its registry and receiver
            for pid in running:
                os.kill(pid, signal.SIGTERM)
            return 1
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, job = heapq.heappop(due)
            tries[job["id"]] = tries.get(job["id"], 0) + 1
            if limit and len(running) >= limit:
                wait = min(QUEUE_FIRST_RETRY * 2 ** (tries[job["id"]] - 1), QUEUE_MAX_RETRY)
                order += 1
                heapq.heappush(due, (now + wait, order, job))
                continue
            running[_start(job)] = (job, time.monotonic())
        while running:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job, launched = running.pop(pid)
            print(json.dumps({"id": job["id"], "launched": launched, "ended": time.monotonic(),
                              "rss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status),
                              "tries": tries[job["id"]]}), flush=True)
        timeout = POLL if running or not reading else None
        if due:
            timeout = max(0.0, min(timeout if timeout is not None else POLL, due[0][0] - time.monotonic()))
        if reading and select.select([0], [], [], timeout)[0]:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                reading = False
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in filter(None, (raw.strip() for raw in lines)):
                job = json.loads(line)
                order += 1
                heapq.heappush(due, (time.monotonic() + float(job.get("delay", 0.0)), order, job))
        elif not reading and timeout:
            time.sleep(timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
