"""Atomic output files and provenance: what produced a result, from which code, with what.

Every file is written to a temporary file in the same folder, flushed to disk and renamed over
the target (`os.replace`), so a reader or a rerun never sees half a file. Tables are CSV (floats
written with full precision, read back with `read_csv`), records JSON; nothing is pickled.
"""

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = (  # the model, what its numbers depend on, and what ran it
    "research-incentives-abm",
    "mesa",
    "numpy",
    "numba",
    "llvmlite",
    "scipy",
    "networkx",
    "pandas",
    "pyarrow",
    "hydra-core",
    "omegaconf",
    "pyyaml",
    "hydra-joblib-launcher",
    "joblib",
    "hydra-submitit-launcher",
    "submitit",
    "hydra-ray-launcher",
    "ray",
    "tqdm",
    "SALib",  # draws uncertainty designs and computes Sobol indices
    "ema-workbench",  # PRIM in uncertainty analyses
)
CODE_DIR = Path(__file__).resolve().parents[2]


def _file_mode() -> int:
    """Permissions of a newly created file under the process's umask (mkstemp uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def write_atomic(
    path: Path, write: Callable[[object], None], mode: str = "w", durable: bool = True
) -> None:
    """Call `write(file)` on a temporary file beside `path`, then rename it over `path`.

    The project's one way of writing a file: tables, records, reports and figures alike. Text
    mode writes UTF-8 with the newlines given (none translated). `durable=False` skips the
    flush to disk, for notes such as progress counts that a crash may lose. An OSError (a full
    disk, a folder in the file's place) names `path`, whatever part of the writing failed.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, FILE_MODE)
        text = {} if "b" in mode else {"newline": "", "encoding": "utf-8"}
        with os.fdopen(fd, mode, **text) as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:  # named by the file meant
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


def write_text(path: Path, text: str, durable: bool = True) -> None:
    write_atomic(path, lambda f: f.write(text), durable=durable)


def write_csv(path: Path, table: pd.DataFrame) -> None:
    write_atomic(path, lambda f: table.to_csv(f, index=False, lineterminator="\n"))


# pandas 3 parses floats exactly by default and deprecates the option that pandas 2 needs.
EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV written by `write_csv`, with floats parsed back exactly."""
    return pd.read_csv(path, **EXACT_FLOATS)


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=False) + "\n"))


def write_parquet(path: Path, table: pd.DataFrame) -> None:
    write_atomic(path, lambda f: table.to_parquet(f, index=False), mode="wb")


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


CODE_PACKAGES = ("sim", "experiments")  # the installed package: all code that decides numbers


@functools.cache
def code_version() -> str:
    """A digest of the package's source (every .py file under sim/ and experiments/), committed
    or not.

    Part of a job's resume key: results computed by other code are never reused or mixed with
    new ones unnoticed, whether or not the change was committed. The experiments layer counts
    too: it derives the seeds, the parameters and the arms from the config.
    """
    digest = hashlib.sha256()
    for path in sorted(p for name in CODE_PACKAGES for p in (CODE_DIR / name).rglob("*.py")):
        digest.update(path.relative_to(CODE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.cache
def git_state() -> dict:
    """The code's git commit and whether tracked files differ from it (None outside git).

    Committed outputs under results/ are not code: regenerating them does not make a tree dirty.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(CODE_DIR), *args],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!results")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def environment() -> dict:
    """Interpreter, platform, package versions and git state for a provenance record."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_state(),
        "code_version": code_version(),
    }
