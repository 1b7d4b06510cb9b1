"""The built package as Lambda runs it: `sam build`'s output zipped as SAM zips it
(every entry dated 1980, deflated), unpacked into a read-only directory (Lambda's
/var/task), run on python3.13 with -I -B (isolated, no bytecode written). Shared by
the artifact tests (tests/deploy) and the benchmark (bench/bench.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build" / "ModelPackageResourceFunction"
# How Lambda starts the interpreter here: isolated (no PYTHON* variables, no user
# site, no script directory on sys.path) and writing no bytecode (read-only code).
LAMBDA_FLAGS = ("-I", "-B")
HOW_TO_GET_PYTHON313 = "install it with 'pyenv install 3.13' or your OS's python3.13 package, and put it on PATH"


def python313() -> str | None:
    """The Lambda's python: $PYTHON313 (set by the Makefile), python3.13 on PATH, then
    pyenv's (its root, $PYENV_ROOT or ~/.pyenv); the one that runs, by its real path."""
    candidates = [os.environ.get("PYTHON313", ""), "python3.13"]
    pyenv = shutil.which("pyenv")
    root = pyenv and subprocess.run(  # noqa: S603 - pyenv, found on PATH
        [pyenv, "root"], capture_output=True, text=True, check=False
    ).stdout.strip()
    for directory in (root, os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")):
        if directory:
            versions = sorted(Path(directory, "versions").glob("3.13*/bin/python3.13"), reverse=True)
            candidates += [str(p) for p in versions]
    for candidate in filter(None, candidates):
        found = subprocess.run(  # noqa: S603 - a python3.13 candidate, asked for its path
            [candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=False
        ) if shutil.which(candidate) else None
        if found is not None and found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    return None


def zip_like_sam(source: Path, archive: Path) -> int:
    """Zip `source` as SAM's make_zip does (os.walk order, ZipInfo with no date, so
    1980, mode 0755 or more, deflated). Returns the archive's size in bytes."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for root, _, files in os.walk(source, followlinks=True):
            for name in files:
                path = Path(root, name)
                info = zipfile.ZipInfo(str(path.relative_to(source)))
                info.create_system = 3
                info.external_attr = (path.stat().st_mode | 0o100755) << 16
                bundle.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return archive.stat().st_size


def unpack_read_only(archive: Path, destination: Path) -> Path:
    """Unpack as Lambda does into /var/task: entries keep their (1980) dates, files
    0444 and directories 0555 (root ignores the modes: -B is what keeps Python from
    writing there, as on Lambda's read-only file system)."""
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(destination)
        for info in bundle.infolist():
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(destination / info.filename, (stamp, stamp))
    set_read_only(destination, True)
    return destination


def lambda_copy(build: Path, destination: Path) -> tuple[Path, int]:
    """The package as Lambda gets it: zipped as SAM zips it, unpacked read-only into
    destination/task. Returns that directory and the zip's size."""
    destination.mkdir(parents=True, exist_ok=True)
    archive = destination / "function.zip"
    size = zip_like_sam(build, archive)
    task = unpack_read_only(archive, destination / "task")
    archive.unlink()
    return task, size


def set_read_only(tree: Path, read_only: bool) -> None:
    """Make a tree read-only (or writable again, so that it can be removed)."""
    for root, dirs, files in os.walk(tree, topdown=not read_only):
        for name in files:
            os.chmod(Path(root, name), 0o444 if read_only else 0o644)
        for name in dirs:
            os.chmod(Path(root, name), 0o555 if read_only else 0o755)
    os.chmod(tree, 0o555 if read_only else 0o755)


def remove(tree: Path) -> None:
    if tree.exists():
        set_read_only(tree, False)
        shutil.rmtree(tree)
