"""One command per output folder: an advisory lock file that the operating system releases.

A command holds `FOLDER/.lock` (its sweep or single-job folder) and each job holds
`JOB_FOLDER/.job.lock` while it runs. The lock is `flock` on the file, so the kernel releases it
when the holder exits for any reason, kill -9 included: a lock left by a killed command is simply
free, and the next command takes it over. The file's text names the holder (process, host,
start time, command) for the message a second command prints. Where `fcntl` does not exist
(Windows), no lock is taken.

Not `filelock`: it would replace the two calls of `hold` that take the lock, while the holder's
record, the message and the probe (`is_held`) stay here either way, and its 3.x releases open
the lock file with O_TRUNC on every attempt, so a second command would erase the holder's
record before reading it (4.x writes it only through an `on_acquired` callback, and adds soft
locks and marker files this project does not need).
"""

import contextlib
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

COMMAND_LOCK = ".lock"
JOB_LOCK = ".job.lock"


class FolderBusy(RuntimeError):
    """Another command holds the folder: the message is one line naming it."""


def holder_text(path: Path) -> str:
    """'process 123 on host, since 2026-11-27T13:00:00, python -m experiments.run ...'."""
    try:
        record = json.loads(path.read_text())
        return (
            f"process {record['pid']} on {record['host']}, since {record['started']}: "
            f"{record['command']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another command"


def is_held(folder: Path, name: str = COMMAND_LOCK) -> bool:
    """Whether a live process holds `folder/name` (a probe: takes and drops the lock)."""
    path = Path(folder) / name
    if fcntl is None or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def command_text() -> str:
    """This process's command line as typed: 'python -m experiments.calibrate samples=40'."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = f"python -m {spec.name}" if spec else f"python {Path(sys.argv[0]).name}"
    return " ".join([program, *sys.argv[1:]])[:300]


@contextlib.contextmanager
def hold(folder: Path, name: str = COMMAND_LOCK, wait: bool = False) -> Iterator[None]:
    """Hold `folder/name` meanwhile; FolderBusy at once if another process holds it (or, with
    wait=True, wait for it)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise FolderBusy(
                    f"{folder} is in use by {holder_text(path)}; wait for it to end "
                    "(or add --wait to queue behind it)"
                ) from None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command_text(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield
    finally:
        os.close(fd)
