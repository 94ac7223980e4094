"""One progress display for a whole sweep, whatever the launcher.

The command that launched the sweep watches its job folders (twice a second): a job is done when
its outputs are complete for its config, and a running job notes its finished replicates in
`.progress`. On a terminal this is one bar on stderr (replicates done, jobs done, time left);
elsewhere (a log file, CI, a cluster's output file) one line per finished job:

    job 3/15 done in 1.2 s (oversight.intensity=0.5); sweep: 4/15 jobs, 80/300 replicates,
    5 s so far, about 14 s left   (one line)
"""

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

from tqdm import tqdm

from . import io
from .job import finished
from .store import PROGRESS, PROVENANCE


def seconds_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class SweepProgress:
    """Counts of a sweep's finished jobs and replicates, read from its job folders."""

    def __init__(self, jobs, stream=None):
        self.jobs = jobs  # preflight.PlannedJob, each with folder and replicates
        self.stream = stream or sys.stderr
        self.total = sum(job.replicates for job in jobs)
        self.done: set[int] = set()
        self.started = time.monotonic()
        self.since = time.time()  # jobs run again (run.resume=false) count once rewritten
        already = self.newly_done()
        self.initial = sum(jobs[i].replicates for i in already)
        self.count = self.initial  # replicates done, running jobs' included
        interactive = getattr(self.stream, "isatty", lambda: False)()
        self.bar = tqdm(
            total=self.total,
            initial=self.initial,
            desc="sweep",
            unit="rep",
            file=self.stream,
            disable=not interactive,
            dynamic_ncols=True,
        )
        self.interactive = interactive
        own = [[o for o in job.overrides if "hydra" not in o.split("=")[0]] for job in jobs]
        shared = set.intersection(*map(set, own)) if len(jobs) > 1 else set()
        self.varied = [[o for o in overrides if o not in shared] for overrides in own]
        self.set_jobs()
        if already and not interactive:
            self.line(f"{len(already)} of {len(jobs)} jobs already complete: resuming")

    def newly_done(self) -> list[int]:
        new = []
        for i, job in enumerate(self.jobs):
            if i in self.done:
                continue
            path = job.folder / PROVENANCE
            if path.is_file() and (job.resume or path.stat().st_mtime >= self.since):
                done = finished(job.folder)
                if done is not None and done.config_hash == job.config_hash:
                    self.done.add(i)
                    new.append(i)
        return new

    def running_replicates(self) -> int:
        count = 0
        for i, job in enumerate(self.jobs):
            if i not in self.done:
                try:
                    count += int((job.folder / PROGRESS).read_text())
                except (OSError, ValueError):
                    pass
        return count

    def set_jobs(self) -> None:
        self.bar.set_postfix_str(f"jobs {len(self.done)}/{len(self.jobs)}", refresh=False)

    def poll(self) -> None:
        new = self.newly_done()
        complete = sum(self.jobs[i].replicates for i in self.done)
        count = min(self.total, complete + self.running_replicates())
        self.count = count
        self.set_jobs()
        if count > self.bar.n:
            self.bar.update(count - self.bar.n)  # tqdm's rate, hence time left, comes from updates
        else:
            self.bar.refresh()
        if not self.interactive:  # jobs seen finished in one look: counted one by one
            before = len(self.done) - len(new)
            at = complete - sum(self.jobs[i].replicates for i in new)
            for k, i in enumerate(new):
                at += self.jobs[i].replicates
                self.report_job(i, before + k + 1, at)

    def left_text(self, complete: int) -> str:
        elapsed = time.monotonic() - self.started
        done_here = complete - self.initial
        text = f"{seconds_text(elapsed)} so far"
        if 0 < done_here and complete < self.total:
            left = elapsed / done_here * (self.total - complete)
            text += f", about {seconds_text(left)} left"
        return text

    def report_job(self, i: int, jobs_done: int, complete: int) -> None:
        job = self.jobs[i]
        record = io.read_json(job.folder / PROVENANCE) or {}
        seconds = record.get("timing", {}).get("seconds")
        took = f" in {seconds:.1f} s" if isinstance(seconds, int | float) else ""
        what = " ".join(self.varied[i]) or "the defaults"
        self.line(
            f"job {i + 1}/{len(self.jobs)} done{took} ({what}); sweep: "
            f"{jobs_done}/{len(self.jobs)} jobs, {complete}/{self.total} replicates, "
            f"{self.left_text(complete)}"
        )

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.poll()
        self.bar.close()


@contextlib.contextmanager
def watch(prepared, interval: float = 0.5) -> Iterator[None]:
    """Meanwhile, show the sweep's progress (nothing for a single job or unknown folders)."""
    jobs = prepared.jobs if prepared is not None and prepared.multirun else []
    if not jobs or any(job.folder is None for job in jobs):
        yield
        return
    progress = SweepProgress(jobs)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(Exception):  # a display must never stop the sweep
                progress.poll()

    thread = threading.Thread(target=loop, name="sweep-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(Exception):
            progress.close()
