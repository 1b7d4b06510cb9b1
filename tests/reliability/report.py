"""Print the figures of `make reliability`: what was tried and what held."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / ".reliability" / "report.json"


def main() -> int:
    if not REPORT.exists():
        print("no report: run `make reliability`")
        return 1
    data = json.loads(REPORT.read_text())
    counts, faults = data["counts"], data["faults"]
    held = data.get("exitstatus") == 0
    print("\nReliability: " + ("every invariant below held in this run\n" if held else
                              "SOME INVARIANTS FAILED in this run: see pytest's output\n"))
    print("Fuzzed events (one response PUT, valid JSON, <= 4096 bytes, Reason <= 256 starting with its cause,")
    print("no update on invalid input, no exception, no URL in the logs)")
    for key in ("events fuzzed", "events answered SUCCESS", "events answered FAILED",
                "events refused for their ResponseURL"):
        print(f"  {key:<44}{counts.get(key, 0):>8,}")
    print("\nLifecycle state machine: three stacks on three packages, against the local registry (nothing")
    print("of others lost; one response per invocation, both deliveries of an event answered alike; a FAILED")
    print("event leaves each package as found unless it says \"Failed and not fully reverted\"; each managed")
    print("item holds what its last setter declares; no record names a resource as manager of what it does")
    print("not declare; once every stack is deleted, each package is as before the first and no record")
    print("names any resource)")
    for key in ("lifecycle sequences run", "lifecycle events played", "lifecycle Creates and Updates answered SUCCESS",
                "failed updates rolled back", "rollbacks refused (a key changed meanwhile)",
                "events delivered twice (again)", "events delivered twice (at once)",
                "events played with a fault armed", "faults injected (requests answered with a fault)",
                "late events (past their ServiceTimeout)", "out-of-band edits between events",
                "FAILED answers checked against the pre-image", "FAILED and not fully reverted (said so)",
                "failed deletes retried", "whole lifecycles checked (every stack deleted)", "invariant checks"):
        print(f"  {key:<50}{counts.get(key, 0):>8,}")
    print("\nFault matrix (faults injected at the HTTP level; calls: requests that reached the registry")
    print("in the faulted event)")
    width = max([46, *(len(row["fault"]) + 2 for row in faults)])
    print(f"  {'fault':<{width}}{'outcome':<58}{'calls':<44}{'PUTs':>5}{'answers':>8}{'s':>7}{'limit':>7}")
    for row in faults:
        print(f"  {row['fault']:<{width}}{row['outcome'][:56]:<58}{row['attempts'][:42]:<44}{row['PUTs']:>5}"
              f"{row['responses']:>8}{row['seconds']:>7}{row['deadline']:>7}")
    print("\nStatic checks")
    bandit = subprocess.run([sys.executable, "-m", "bandit", "-r", "handler", "-ll", "-q", "-f", "json"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    results = json.loads(bandit.stdout)["results"]
    print(f"  bandit -r handler (medium and higher)        {len(results)} findings")
    audit = subprocess.run([sys.executable, "-m", "pip_audit", "-r", "handler/requirements.txt",
                            "--progress-spinner", "off"], cwd=ROOT, capture_output=True, text=True, check=False)
    skipped = audit.stdout.count("could not be audited")
    if skipped:
        print("  pip-audit handler/requirements.txt          not audited: no vulnerability service is reachable")
        print(f"                                              from here ({skipped} packages skipped)")
    else:
        print(f"  pip-audit handler/requirements.txt          {audit.stdout.strip().splitlines()[0] if audit.stdout else audit.stderr.strip()[:80]}")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
