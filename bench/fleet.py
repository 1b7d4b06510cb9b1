"""make fleet: a fleet of resources deployed at once against a throttled registry
(devkit/fleet.py), measured against the throttle itself.

The local registry (one process: this one) throttles DescribeModelPackage,
UpdateModelPackage and the record table with token buckets; N resources over
several stacks go through Creates, Updates, a replacement wave and Deletes, each
phase launched all together, each event a cold process as Lambda runs it: by
default the `sam build` artifact, zipped as SAM zips it, unpacked read-only, on
python3.13 -I -B (`--code dev`: the dev venv's python and handler/).

Per phase it prints the events SUCCESS/FAILED, the wall time from launch to the last
response, the floor (what the throttle itself imposes: per throttled operation, the
calls needed less its burst, over its rate; the largest), their ratio, throttled
requests, calls against the minimum, and peak memory; then it checks that every
package is as it was before the fleet.

Targets (here, never in timed tests): every event SUCCESS in every phase at the
default N >= 100 and an UpdateModelPackage rate of 2/s; wall time within x1.5 of the
floor in each phase (stretch x1.2).

Several values of --resources, --caps or --concurrency run one fleet each, in turn,
and end with a summary: how the ratio grows with N, which retry cap is best, whether
a concurrency limit helps.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from devkit.artifact import BUILD, LAMBDA_FLAGS, lambda_copy, python313, remove  # noqa: E402
from devkit.fleet import DESCRIBE, TABLE, UPDATE, FleetConfig, FleetResult, Limit, run_fleet  # noqa: E402
from devkit.receiver import ResponseReceiver  # noqa: E402
from devkit.registry import LocalRegistry  # noqa: E402

TARGET, STRETCH = 1.5, 1.2
SHORT = {DESCRIBE: "D", UPDATE: "U", TABLE: "T"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, nargs="+", default=[100], help="N, or several N in turn")
    parser.add_argument("--stacks", type=int, default=5)
    parser.add_argument("--shared", type=int, default=4, help="packages governed by two stacks at once")
    defaults = FleetConfig()
    parser.add_argument("--update-rate", type=float, default=defaults.update.rate)
    parser.add_argument("--update-burst", type=float, default=defaults.update.burst)
    parser.add_argument("--describe-rate", type=float, default=defaults.describe.rate)
    parser.add_argument("--describe-burst", type=float, default=defaults.describe.burst)
    parser.add_argument("--table-rate", type=float, default=defaults.table.rate,
                        help="the record table's requests per second (default: one on-demand partition's writes)")
    parser.add_argument("--table-burst", type=float, default=defaults.table.burst)
    parser.add_argument("--caps", type=float, nargs="+", default=[None],
                        help="the retries' longest wait, s (default: the handler's timing.RETRY_CAP)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[0],
                        help="Lambda's reserved concurrency, simulated (0: none)")
    parser.add_argument("--code", choices=("artifact", "dev"), default="artifact",
                        help="the sam build artifact on python3.13 -I -B (make build first), or the dev venv")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    python: tuple[str, ...] = ()
    code_dir: Path | None = None
    if args.code == "artifact":
        lambda_python = python313()
        if not BUILD.is_dir() or lambda_python is None:
            raise SystemExit("--code artifact needs the build and python3.13: run `make fleet`, or pass --code dev")
        code_dir, _ = lambda_copy(BUILD, work / "lambda")
        python = (lambda_python, *LAMBDA_FLAGS)
    registry, receiver = LocalRegistry().start(), ResponseReceiver().start(str(work))
    results: list[tuple[FleetResult, float]] = []
    try:
        print(f"Machine: {platform.machine()}, {os.cpu_count()} cores; the registry and receiver in this process "
              f"(Python {platform.python_version()})")
        print("Each event: " + ("the sam build artifact, zipped as SAM zips it, unpacked read-only, "
                                f"{Path(python[0]).name} {' '.join(LAMBDA_FLAGS)}" if args.code == "artifact"
                                else f"the dev venv (Python {platform.python_version()}, handler/)")
              + ", one cold process each\n")
        for resources, cap, concurrency in itertools.product(args.resources, args.caps, args.concurrency):
            config = FleetConfig(
                resources=resources, stacks=args.stacks, shared=min(args.shared, resources // 2),
                describe=Limit(args.describe_rate, args.describe_burst),
                update=Limit(args.update_rate, args.update_burst), table=Limit(args.table_rate, args.table_burst),
                concurrency=concurrency, retry_cap=cap, python=python, code_dir=code_dir)
            started = time.monotonic()
            result = run_fleet(config, registry, receiver, progress=lambda line: print(f"  ... {line}", flush=True))
            results.append((result, time.monotonic() - started))
            report(result, results[-1][1])
    finally:
        receiver.stop()
        registry.stop()
        if code_dir is not None:
            remove(code_dir.parent)
        remove(work)
    if len(results) > 1:
        summary(results)
    return 0 if all(met(result) for result, _ in results) else 1


def met(result: FleetResult) -> bool:
    return result.all_succeeded and result.restored and all(p.ratio <= TARGET for p in result.phases)


def report(result: FleetResult, seconds: float) -> None:
    config = result.config
    cap = f"{config.retry_cap:g} s" if config.retry_cap is not None else "the handler's"
    limit = f"reserved concurrency {config.concurrency} (Lambda's queue simulated)" if config.concurrency \
        else "no concurrency limit"
    print(f"Fleet: {config.resources} resources over {config.stacks} stacks ({config.shared} packages governed by "
          f"two stacks at once); retry cap {cap}; {limit}")
    print(f"Throttle (token buckets): DescribeModelPackage {config.describe.rate:g}/s burst {config.describe.burst:g}, "
          f"UpdateModelPackage {config.update.rate:g}/s burst {config.update.burst:g}, "
          f"the table {config.table.rate:g}/s burst {config.table.burst:g}")
    print(f"  {'phase':<12}{'events':>7}{'SUCCESS':>8}{'FAILED':>7}{'wall s':>8}{'floor s':>8}{'ratio':>7}"
          f"  {'throttled D/U/T':<17}{'calls D/U/T (min D/U)':<24}{'peak RSS event/registry':>24}")
    for phase in result.phases:
        throttled = "/".join(str(phase.throttled[b]) for b in (DESCRIBE, UPDATE, TABLE))
        calls = "/".join(str(phase.admitted[b]) for b in (DESCRIBE, UPDATE, TABLE))
        minimum = "/".join(str(phase.minimum[b]) for b in (DESCRIBE, UPDATE))
        failed = phase.events - phase.statuses.get("SUCCESS", 0)
        print(f"  {phase.name:<12}{phase.events:>7}{phase.statuses.get('SUCCESS', 0):>8}{failed:>7}"
              f"{phase.wall:>8.1f}{phase.floor:>8.1f}{'x' + format(phase.ratio, '.2f'):>7}  {throttled:<17}"
              f"{calls + ' (' + minimum + ')':<24}{phase.event_rss_mb:>10.1f} / {phase.registry_rss_mb:>6.1f} MB")
        busy = (phase.last_call - phase.first_call) / phase.floor if phase.floor else 0.0
        print(f"      {SHORT[phase.binding]} calls admitted from {phase.first_call:.1f} s to {phase.last_call:.1f} s "
              f"after the launch: x{busy:.2f} of the floor from the first call")
        for reason in phase.reasons[:3]:
            print(f"      {reason[:150]}")
        if phase.queue_retries:
            print(f"      {phase.queue_retries} invocations found no free slot and went back to the queue")
        if phase.leaks:
            print(f"      {phase.leaks} event outputs carried the ResponseURL's signature")
    binding = {SHORT[p.binding] for p in result.phases}
    print(f"  floor set by: {', '.join(sorted(binding))} (D DescribeModelPackage, U UpdateModelPackage, T the table)")
    worst = max(p.ratio for p in result.phases)
    print(f"  target: every event SUCCESS in every phase: {'met' if result.all_succeeded else 'MISSED'}; "
          f"within x{TARGET} of the floor in each phase: {'met' if worst <= TARGET else 'MISSED'} "
          f"(worst x{worst:.2f}); stretch x{STRETCH}: {'met' if worst <= STRETCH else 'not met'}")
    print(f"  packages as before the fleet: {result.packages - len(result.changed)} of {result.packages}; "
          f"records naming a resource left: {result.records_left}"
          + ("" if result.restored else f"  MISSED: {'; '.join(result.changed[:3])}"))
    print(f"  the whole fleet: {seconds:.0f} s\n", flush=True)


def summary(results: list[tuple[FleetResult, float]]) -> None:
    phases = [p.name for p in results[0][0].phases]
    print("Summary: wall / floor per phase")
    print(f"  {'N':>5}{'cap s':>7}{'limit':>7}" + "".join(f"{name:>13}" for name in phases)
          + f"{'throttled':>11}{'all SUCCESS':>13}{'restored':>10}")
    for result, _ in results:
        config = result.config
        cap = f"{config.retry_cap:g}" if config.retry_cap is not None else "-"
        ratios = "".join(f"{'x' + format(p.ratio, '.2f'):>13}" for p in result.phases)
        throttled = sum(sum(p.throttled.values()) for p in result.phases)
        print(f"  {config.resources:>5}{cap:>7}{config.concurrency or '-':>7}{ratios}{throttled:>11}"
              f"{'yes' if result.all_succeeded else 'NO':>13}{'yes' if result.restored else 'NO':>10}")


if __name__ == "__main__":
    sys.exit(main())
