"""Finished tasks of a running job, saved in chunks under `job_dir/.partial/` for a rerun.

A job that stops (a kill, a time limit, a lost worker) keeps what finished: a rerun of the same
config and model code redoes only the tasks in progress. One format for every kind of task (a
sweep job's replicates, a design job's points, a calibration's point and replicate pairs):

- `key` holds the checkpoint's key (the config hash and the code version);
- a chunk is one CSV file per table (`TABLE-TAG.csv`) and a manifest (`chunk-TAG.json`,
  written last) holding each file's SHA-256, the task numbers of the first table's rows and the
  key. A chunk is reused only when its manifest is readable, names this key, every checksum
  matches and its first table holds the tasks it lists; any other chunk (truncated, emptied,
  edited, random bytes, cut off by a kill between its files, or copied from another job) is
  deleted with a one-line warning naming it, and its tasks run again.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path

import pandas as pd

from . import io

log = logging.getLogger(__name__)

PARTIAL_DIR = ".partial"
KEY_FILE = "key"
# Where design and calibration checkpoints kept their key before they had manifests: a folder of
# another config saved so is still recognised as such (and refused, not emptied, by calibrate).
OLD_KEY_FILES = ("config_hash",)


class DamagedChunk(ValueError):
    """A saved chunk that cannot be trusted (the message says why)."""


class Chunks:
    """The saved chunks of one key: tables of which the first numbers its rows' tasks in
    column `number`."""

    def __init__(self, job_dir: Path, key: str, tables: tuple[str, ...], number: str):
        self.dir = Path(job_dir) / PARTIAL_DIR
        self.key = key
        self.tables = tables
        self.number = number

    def saved_key(self) -> str | None:
        """The key of the saved chunks, or None when none is saved (or it is unreadable)."""
        for name in (KEY_FILE, *OLD_KEY_FILES):
            try:
                return (self.dir / name).read_text().strip() or None
            except (OSError, ValueError):
                continue
        return None

    def load(self) -> list[dict[str, pd.DataFrame]]:
        """The tables of every sound chunk of this key; those of another key are deleted, so
        that they never mix with these."""
        if self.saved_key() != self.key:
            self.clear()
            return []
        found = []
        manifests = set(self.dir.glob("chunk-*.json"))
        for manifest in sorted(manifests):
            tables = self.read(manifest)
            if tables is None:
                self.drop(manifest)
            else:
                found.append(tables)
        for stray in self.dir.glob("*.csv"):  # a chunk whose manifest was never written
            if self.manifest_of(stray) not in manifests:
                with contextlib.suppress(OSError):
                    stray.unlink()
        return found

    @staticmethod
    def manifest_of(path: Path) -> Path:
        tag = path.stem.partition("-")[2]
        return path.with_name(f"chunk-{tag}.json")

    def read(self, manifest: Path) -> dict[str, pd.DataFrame] | None:
        """The chunk's tables, or None (with a warning) when any part of it is damaged."""
        record = io.read_json(manifest)
        try:
            if record["key"] != self.key:  # type: ignore[index]
                raise DamagedChunk("it was saved by another config or code (its key differs)")
            files = {name: self.dir / name for name in record["files"]}  # type: ignore[index]
            for name, path in files.items():
                if not path.is_file() or io.sha256(path) != record["files"][name]:
                    raise DamagedChunk(f"{path.name} is missing or its checksum differs")
            tables = {table: io.read_csv(files[record[table]]) for table in self.tables}
            numbers = [int(i) for i in tables[self.tables[0]][self.number]]
            if numbers != [int(i) for i in record["numbers"]]:
                raise DamagedChunk(f"the manifest does not list the {self.number}s it holds")
            return tables
        except Exception as err:  # any shape of damage: redo the chunk's tasks
            reason = str(err) if isinstance(err, DamagedChunk) else f"{type(err).__name__}: {err}"
            log.warning(
                "checkpoint chunk %s is damaged (%s); its %ss will run again",
                manifest,
                reason.splitlines()[0] if reason else type(err).__name__,
                self.number,
            )
            return None

    def drop(self, manifest: Path) -> None:
        tag = manifest.stem.partition("-")[2]
        for path in (manifest, *self.dir.glob(f"*-{tag}.csv")):
            with contextlib.suppress(OSError):
                path.unlink()

    def write(self, tag: str, tables: dict[str, pd.DataFrame]) -> None:
        """Save one chunk: its tables, then the manifest that marks it complete."""
        if self.saved_key() != self.key:
            io.write_text(self.dir / KEY_FILE, self.key)
        names = {table: f"{table}-{tag}.csv" for table in reversed(self.tables)}
        for table, name in names.items():
            io.write_csv(self.dir / name, tables[table])
        manifest = {
            "key": self.key,
            **names,
            "numbers": [int(i) for i in tables[self.tables[0]][self.number]],
            "files": {name: io.sha256(self.dir / name) for name in names.values()},
        }
        io.write_json(self.dir / f"chunk-{tag}.json", manifest)  # written last: marks the chunk

    def clear(self) -> None:
        if self.dir.is_dir():
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir.exists() or self.dir.is_symlink():  # a file in its place
            self.dir.unlink()


class TaskCheckpoint:
    """Finished tasks of one key, kept here and saved as one chunk once `flush_seconds` have
    passed since the last save (0: after each task), and whenever `flush` is called (the runner
    calls it however a run ends). A subclass names its `tables` and the column `number` of the
    first that numbers the tasks, and turns results into tables (`as_tables`)."""

    tables: tuple[str, ...] = ()
    number: str = ""

    def __init__(self, job_dir: Path, key: str, flush_seconds: float):
        self.chunks = Chunks(job_dir, key, self.tables, self.number)
        self.dir = self.chunks.dir
        self.key = key
        self.flush_seconds = flush_seconds
        self.unsaved: list = []
        self.last_flush = time.monotonic()

    def as_tables(self, results: list) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def add(self, result) -> None:
        self.unsaved.append(result)
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if not self.unsaved:
            return
        tables = self.as_tables(self.unsaved)
        first = int(tables[self.tables[0]][self.number].min())
        self.chunks.write(f"{first:07d}-{time.time_ns()}", tables)
        self.unsaved = []
        self.last_flush = time.monotonic()

    def saved_key(self) -> str | None:
        """The key of the saved chunks, or None when none are saved."""
        return self.chunks.saved_key()

    def clear(self) -> None:
        self.chunks.clear()
