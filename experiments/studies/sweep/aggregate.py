"""`python -m experiments.aggregate SWEEP_DIR`: join a sweep's job folders into tidy tables.

Scans SWEEP_DIR for job folders (those with `.hydra/`, `provenance.json` or `failure.json`),
keeps the complete ones (provenance says complete and both tables match their checksums), lists
the others with the reason, and, from the sweep's `multirun.yaml`, the jobs that never started.
The levers are the config keys (dotted) and preset choices whose values differ across complete
jobs. Writes, atomically, into SWEEP_DIR:
- `sweep.csv` (and `sweep.parquet` when pyarrow is installed): one row per replicate;
- `sweep_timeseries.csv` (and `.parquet`): one row per replicate and step;
- `sweep.json`: levers, fixed values, missing jobs and each job's status.
Works on partial sweeps; it does not rely on Hydra's end-of-sweep callback, which failed jobs skip.

In Python: `sweep = aggregate(path)`; see `Sweep`.
"""

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from ...engine import hydra_compat, io, schema
from ...engine.checkpoint import PARTIAL_DIR
from ...engine.job import finished_record
from ...engine.store import FAILURE, PROVENANCE, REPLICATES, TABLES, TIMESERIES, code_versions

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when installed: faster


class AggregateError(ValueError):
    """Nothing to aggregate: the message is one line for the user."""


@dataclass
class Sweep:
    """A sweep's results, one row per replicate (and per step), with what varied and what not."""

    directory: Path
    replicates: pd.DataFrame
    timeseries: pd.DataFrame
    levers: list[str]
    missing: list[str]
    provenance: dict
    fixed: dict = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # job folders below the sweep's jobs


def natural_key(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def is_job(path: Path) -> bool:
    markers = (".hydra", PROVENANCE, FAILURE, REPLICATES)
    return any((path / marker).exists() for marker in markers)


def job_folders(sweep_dir: Path) -> list[Path]:
    """The sweep's job folders (its subfolders holding a job), sorted by job number; the folder
    itself for a single job."""
    if is_job(sweep_dir):
        return [sweep_dir]
    found = [p for p in sweep_dir.iterdir() if not p.name.startswith(".") and p.is_dir()]
    return sorted((p for p in found if is_job(p)), key=lambda p: natural_key(p.name))


def stray_jobs(sweep_dir: Path, folders: list[Path]) -> list[str]:
    """Job folders one or two levels below the sweep's jobs (a scratch run, a sweep into a job's
    folder): no job of this sweep, so left out. (Not deeper: `/` is no sweep to walk.)"""
    if folders == [sweep_dir]:
        return []
    found = [
        path.relative_to(sweep_dir).as_posix()
        for pattern in ("*/*", "*/*/*")
        for path in sweep_dir.glob(pattern)
        if not any(part.startswith(".") for part in path.relative_to(sweep_dir).parts)
        and path.is_dir()
        and is_job(path)
    ]
    return sorted(found, key=natural_key)


def launch_record(job_dir: Path) -> tuple[str, str, str] | None:
    """(mode, sweep folder, job folder) as Hydra recorded them when it last launched the job, or
    None when there is no readable record."""
    try:
        hydra = yaml.load((job_dir / ".hydra" / "hydra.yaml").read_text(), Loader=SafeLoader)
        hydra = hydra["hydra"]
        return str(hydra["mode"]), str(hydra["sweep"]["dir"]), str(hydra["runtime"]["output_dir"])
    except Exception:  # missing or damaged: nothing to tell from
        return None


def what_runs(overrides: list[str]) -> set[str]:
    """The overrides that choose what a job computes (not how: `schema.EXECUTION_KEYS`)."""
    return {o for o in overrides if o.partition("=")[0].lstrip("+~") not in schema.EXECUTION_KEYS}


def check_own_jobs(sweep_dir: Path, folders: list[Path], sweep: str | None, expected) -> None:
    """AggregateError naming the jobs that another command ran, by Hydra's record of each job:
    a job of another sweep (copied in, or launched into another folder), or a single run that
    is not one of this sweep's jobs (`expected`) redone alone in its folder."""
    if folders == [sweep_dir]:
        return
    records = {folder: launch_record(folder) for folder in folders}
    if sweep is None:  # no readable record of the sweep: its jobs' commonest
        dirs = [r[1] for r in records.values() if r is not None and r[0] == "MULTIRUN"]
        sweep = max(set(dirs), key=dirs.count) if dirs else None
    foreign = []
    for folder, record in records.items():
        if record is None:
            continue
        mode, job_sweep, output_dir = record
        if mode != "MULTIRUN":
            num = int(folder.name) if folder.name.isdigit() else len(expected)
            redone = num < len(expected) and what_runs(job_overrides(folder)) == what_runs(
                expected[num]
            )
            if not redone:
                foreign.append(f"{folder.name} (a single run)")
        elif job_sweep != sweep:
            foreign.append(
                f"{folder.name} (job {Path(output_dir).name} of a sweep into {job_sweep})"
            )
        elif Path(output_dir).name != folder.name:
            foreign.append(f"{folder.name} (job {Path(output_dir).name}, renamed)")
    if foreign:
        raise AggregateError(
            f"{sweep_dir} holds job folders that are not its sweep's jobs: {'; '.join(foreign[:3])}"
            f"{' ...' if len(foreign) > 3 else ''}; move them out of the sweep folder"
        )


def problem(job_dir: Path) -> str | None:
    """Why the job's outputs are not usable, or None when they are complete and intact."""
    record, reason = finished_record(job_dir)
    if record is not None:
        missing = [name for name in TABLES if name not in record["outputs"]]
        return f"not a sweep's job (no {missing[0]}; a design's?)" if missing else None
    failure = io.read_json(job_dir / FAILURE)
    if reason == "not finished" and failure is not None:
        return f"failed: {failure.get('error', 'unknown error')}"
    if reason == "not finished":
        saved = len(list((job_dir / PARTIAL_DIR).glob("chunk-*.json")))
        note = f"; {saved} chunks of finished replicates saved" if saved else ""
        return f"not finished (interrupted, still running or never run){note}"
    return reason


def check_one_code_version(records: dict[str, dict]) -> None:
    """AggregateError listing the versions and their jobs when the jobs ran different code."""
    versions = code_versions(records)
    if len(versions) > 1:
        listed = "; ".join(f"{v}: jobs {', '.join(jobs)}" for v, jobs in versions.items())
        raise AggregateError(
            f"the jobs ran {len(versions)} versions of the model code ({listed}); rerun the "
            "sweep with run.resume=false, or pass --allow-mixed-code to join them anyway"
        )


def job_overrides(job_dir: Path) -> list[str]:
    path = job_dir / ".hydra" / "overrides.yaml"
    try:
        return [str(o) for o in OmegaConf.load(path)]
    except Exception:  # missing or damaged: Hydra's record only, the job's own is provenance
        return []


def sweep_record(sweep_dir: Path) -> tuple[str | None, list[list[str]]]:
    """The sweep folder its `multirun.yaml` names (None without one) and the override lists of
    the jobs it defines ([] when they cannot be listed)."""
    try:
        hydra_cfg = OmegaConf.load(sweep_dir / "multirun.yaml").hydra
        directory = str(OmegaConf.to_container(hydra_cfg.sweep)["dir"])  # as jobs record it
    except Exception:  # missing or damaged
        return None, []
    try:
        params = hydra_cfg.sweeper.get("params") or {}
        lines = [f"{k}={v}" for k, v in params.items()] + list(hydra_cfg.overrides.task)
        parser = OverridesParser.create()
        return directory, hydra_compat.split_sweep(parser.parse_overrides(lines))
    except Exception:  # a sweep syntax needing the config (glob): cannot list them
        return directory, []


def never_started(expected: list[list[str]], folders: list[Path]) -> list[str]:
    """Jobs the sweep defines (`expected`) that have no folder (sweep stopped early)."""
    present = {frozenset(job_overrides(f)) for f in folders}
    return [
        f"{num} ({' '.join(overrides)}): never started"
        for num, overrides in enumerate(expected)
        if frozenset(overrides) not in present
    ]


def comparable(value) -> str:
    return json.dumps(value, sort_keys=True)


def lever_table(records: dict[str, dict]) -> tuple[list[str], dict, dict[str, dict]]:
    """(levers, fixed values, each job's value of every lever) from the jobs' provenance."""
    flat = {}
    for name, record in records.items():
        config = {k: v for k, v in record["config"].items() if k != "report"}  # words only
        values = schema.flatten(config)
        for key in schema.EXECUTION_KEYS:
            values.pop(key, None)
        choices = record.get("choices", {})
        values.update({g: c for g, c in choices.items() if not g.startswith("hydra")})
        flat[name] = values
    first = next(iter(flat.values()))
    keys = list(first) + sorted({k for v in flat.values() for k in v} - set(first))
    varying = [k for k in keys if len({comparable(v.get(k)) for v in flat.values()}) > 1]
    choice_groups = {g for r in records.values() for g in r.get("choices", {})}
    fixed = {k: first.get(k) for k in keys if k not in varying and k not in choice_groups}
    if "timeline" in varying and "scenario" in varying:
        varying.remove("timeline")  # the scenario's name says which timeline
    for name in flat:
        if "timeline" in varying:
            flat[name]["timeline"] = comparable(flat[name].get("timeline"))
    return varying, fixed, flat


def with_levers(table: pd.DataFrame, job: str, values: dict, levers: list[str], at: int):
    """`table` with a leading job column and the job's lever values inserted at column `at`."""
    table.insert(0, "job", job)
    position = at + 1
    for lever in levers:
        if lever in table.columns:
            table.pop(lever)
        table.insert(position, lever, values.get(lever))
        position += 1
    return table


def aggregate(sweep_dir: Path | str, write: bool = True, allow_mixed_code: bool = False) -> Sweep:
    """Join the complete jobs of `sweep_dir` (also writing the tables there unless write=False).

    Jobs run by different versions of the model code are refused unless allow_mixed_code.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise AggregateError(f"no such folder: {sweep_dir}")
    folders = job_folders(sweep_dir)
    recorded_dir, expected = sweep_record(sweep_dir)
    check_own_jobs(sweep_dir, folders, recorded_dir, expected)
    missing, records, statuses = never_started(expected, folders), {}, {}
    for folder in folders:
        name = folder.relative_to(sweep_dir).as_posix() if folder != sweep_dir else "."
        reason = problem(folder)
        statuses[name] = reason or "complete"
        if reason:
            missing.append(f"{name}: {reason}")
        else:
            records[name] = io.read_json(folder / PROVENANCE)
    if not records:
        deeper = [] if folders else stray_jobs(sweep_dir, folders)
        if deeper:  # a folder of sweeps, say
            raise AggregateError(
                f"no job folder directly in {sweep_dir}, only deeper down ({', '.join(deeper[:3])}"
                f"{' ...' if len(deeper) > 3 else ''}); aggregate the sweep folder that holds them"
            )
        raise AggregateError(
            f"no complete job in {sweep_dir} ({len(folders)} job folders, {len(missing)} missing"
            f"{'; ' + missing[0] if missing else ''})"
        )
    if not allow_mixed_code:
        check_one_code_version(records)
    levers, fixed, values = lever_table(records)
    replicate_tables, series_tables = [], []
    for name in records:
        folder = sweep_dir / name
        replicate_tables.append(
            with_levers(io.read_csv(folder / REPLICATES), name, values[name], levers, at=2)
        )
        series_tables.append(
            with_levers(io.read_csv(folder / TIMESERIES), name, values[name], levers, at=4)
        )
    sweep = Sweep(
        directory=sweep_dir,
        replicates=pd.concat(replicate_tables, ignore_index=True),
        timeseries=pd.concat(series_tables, ignore_index=True),
        levers=levers,
        missing=missing,
        provenance=next(iter(records.values())),
        fixed=fixed,
        jobs=statuses,
        ignored=stray_jobs(sweep_dir, folders),
    )
    if write:
        write_tables(sweep)
    return sweep


def write_tables(sweep: Sweep) -> list[Path]:
    out = sweep.directory
    written = [out / "sweep.csv", out / "sweep_timeseries.csv", out / "sweep.json"]
    io.write_csv(written[0], sweep.replicates)
    io.write_csv(written[1], sweep.timeseries)
    summary = {"levers": sweep.levers, "fixed": sweep.fixed, "missing": sweep.missing}
    summary["ignored"] = sweep.ignored
    io.write_json(written[2], summary | {"jobs": sweep.jobs})
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    for table, name in ((sweep.replicates, "sweep"), (sweep.timeseries, "sweep_timeseries")):
        io.write_parquet(out / f"{name}.parquet", table)
        written.append(out / f"{name}.parquet")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.aggregate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("sweep_dir", type=Path, help="a sweep folder (or one job's folder)")
    parser.add_argument(
        "--allow-mixed-code",
        action="store_true",
        help="join jobs run by different versions of the model code",
    )
    args = parser.parse_args(argv)
    try:
        sweep = aggregate(args.sweep_dir, allow_mixed_code=args.allow_mixed_code)
    except (AggregateError, OSError) as err:
        sys.stderr.write(f"error: {err}\n")
        raise SystemExit(2) from None
    complete = sum(status == "complete" for status in sweep.jobs.values())
    print(
        f"{complete} complete jobs, {len(sweep.replicates)} replicates; "
        f"levers: {', '.join(sweep.levers) or 'none'}"
    )
    for line in sweep.missing:
        print(f"missing: {line}")
    for name in sweep.ignored:
        print(f"ignored: {name} (below the sweep's job folders: not one of its jobs)")
    print(f"wrote {args.sweep_dir / 'sweep.csv'} and {args.sweep_dir / 'sweep_timeseries.csv'}")


if __name__ == "__main__":
    main()
