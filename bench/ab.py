"""A/B of the handler's own code: the `sam build` artifact as it is, against the same
artifact with `model_package_resource` and `app.py` taken from another commit (same
dependencies, same bytecode settings), each a whole cold Create as Lambda runs it
(read-only, python3.13 -I -B), interleaved with the floor's naive script in every
round, as `make bench` does. It answers "did this change cost cold-start time?" on a
machine whose load moves the absolute figures two-fold: the ratio new/old is taken
within one run.

    make ab AB_COMMIT=COMMIT          # builds first; AB_ARGS="--runs 31" for more rounds"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench.bench import FLOOR_PYTHON, _event_file, _seed, interleaved, lambda_environment
from devkit.artifact import BUILD, LAMBDA_FLAGS, lambda_copy, python313, remove
from devkit.receiver import ResponseReceiver
from devkit.registry import LocalRegistry

ROOT = Path(__file__).resolve().parents[1]
HANDLER_CODE = ("app.py", "model_package_resource")


def with_code_of(commit: str, work: Path, python313: str) -> Path:
    """The built package with the handler's code of `commit`, compiled as the build does."""
    source = work / "old-source"
    shutil.copytree(BUILD, source)
    shutil.rmtree(source / "model_package_resource")
    (source / "app.py").unlink()
    git = shutil.which("git") or "git"
    archive = subprocess.run([git, "-C", str(ROOT), "archive", commit, *(f"handler/{p}" for p in HANDLER_CODE)],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(work, filter="data")
    shutil.copytree(work / "handler" / "model_package_resource", source / "model_package_resource",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(work / "handler" / "app.py", source / "app.py")
    for part in HANDLER_CODE:
        subprocess.run([python313, "-m", "compileall", "-q", "-j1", "--invalidation-mode", "unchecked-hash",
                        "-s", str(source), "-p", "/var/task", str(source / part)], check=True)
    return source


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", help="the commit whose handler code is the 'old' variant")
    parser.add_argument("--runs", type=int, default=21, help="cold starts per variant (median)")
    args = parser.parse_args()
    interpreter = python313()
    floor_python = Path(os.environ.get("FLOOR_PYTHON") or FLOOR_PYTHON).absolute()
    if not interpreter or not floor_python.exists() or not BUILD.is_dir():
        print("needs python3.13 (PYTHON313), the floor's venv and the build: run make bench once", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    registry, receiver = LocalRegistry().start(), ResponseReceiver().start()
    try:
        task_new, _ = lambda_copy(BUILD, work / "new")
        task_old, _ = lambda_copy(with_code_of(args.commit, work, interpreter), work / "old")
        arns = iter(_seed(registry, (args.runs + 1) * 2))
        cold_start = str(ROOT / "bench" / "cold_start.py")
        python = [str(floor_python), *LAMBDA_FLAGS]
        variants: dict[str, tuple[str, list[str], dict[str, str]]] = {
            "floor": ("floor: naive script", [*python, cold_start, "floor"], {}),
            "new": ("this handler (the working tree's build)", [*python, cold_start, "ours"],
                    {"HANDLER_DIR": str(task_new), "LAMBDA_TASK_ROOT": str(task_new)}),
            "old": (f"this handler with the code of {args.commit}", [*python, cold_start, "ours"],
                    {"HANDLER_DIR": str(task_old), "LAMBDA_TASK_ROOT": str(task_old)}),
        }
        medians, _ = interleaved(variants, args.runs, lambda_environment(registry, receiver),
                                 lambda: _event_file(next(arns), receiver), no_event=("floor",))
    finally:
        registry.stop()
        receiver.stop()
        remove(work)
    print(f"Cold Create as Lambda runs it, median of {args.runs}, interleaved")
    for name, (label, _, _) in variants.items():
        print(f"  {label:<52}{medians[name]:8.1f} ms  x{medians[name] / medians['floor']:.3f} of the floor")
    print(f"  new over old: x{medians['new'] / medians['old']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
