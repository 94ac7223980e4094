"""What the model reports: metrics declared once, and the statistics they use.

Each mechanism declares its metrics (`Step` and `Run` below) next to its rules; the model's
per-step table, `run_metrics()`, Mesa's reporters, the reference implementation and every label,
table and figure of `experiments/` derive from these declarations.

- A `Step` metric is a value per quarter: a count made during the quarter (`count=True`) or a
  state at its end. A count `by_group` is made per field and also reported per field group
  (exposed or not to export controls, priority or not).
- A `Run` metric sums a step metric up over a run: `rate` (its count per researcher-year, times
  `per`), `sum`, `mean` (over the steps), `last`, or `ratio` (its sum over the sum of the step
  metric `over`, times `per`; 0 when that sum is 0, e.g. the exploratory share of no
  breakthroughs). It is computed from the totals of the steps (`Totals`): of the whole history
  for `run_metrics()`, of the steps so far for the DataCollector's run columns. Its name
  differs from every step metric's, so a name means one thing in the DataCollector, in
  `mesa.batch_run` and in `run_metrics()`.
- Each rate also has a per-quarter column in the step table, `quarterly_<name>`, for plots over
  time.
- A rate over no researcher-years is NaN, not 0: a field group without researchers (no exposed
  field, no priority field) has no rate, in `run_metrics()` and in its quarterly column alike;
  so is a mean or last value of no steps.

Dot products use `np.einsum`, not `@`: `@` calls the multithreaded BLAS, whose threads spin
for work and, on a machine whose cores are busy, can cost a hundred times the product itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .mechanism import STEP_YEARS

GROUPS = ("exposed", "unexposed", "priority", "nonpriority")
GROUP_LABELS = {
    "exposed": "export-exposed fields",
    "unexposed": "other fields",
    "priority": "priority fields",
    "nonpriority": "non-priority fields",
}
QUARTERLY = "quarterly_"
AGGREGATIONS = ("rate", "sum", "mean", "last", "ratio")


@dataclass(frozen=True)
class Step:
    """A per-step value: a count made in the quarter (`count`) or a state at its end."""

    name: str
    label: str
    unit: str = ""
    count: bool = False
    by_group: bool = False  # a count made per field, also reported per field group


@dataclass(frozen=True)
class Run:
    """A whole-run figure: how a run aggregates the step metric `of`."""

    name: str
    label: str
    of: str
    how: str  # one of AGGREGATIONS
    unit: str = ""
    short: str = ""  # a short column name for tables
    per: float = 1000.0  # for rates: events per `per` researcher-years; for ratios, a factor
    over: str = ""  # for ratios: the step metric whose sum divides
    answers: tuple[str, ...] = ()  # levers this metric speaks to (design section 3)
    group_answers: tuple[tuple[str, str], ...] = ()  # (field group, lever): a group's rate too

    def __post_init__(self):
        if self.how not in AGGREGATIONS:
            raise ValueError(f"Run metric {self.name}: how = {self.how!r}; allowed: {AGGREGATIONS}")
        if (self.how == "ratio") != bool(self.over):
            raise ValueError(f"Run metric {self.name}: `over` goes with how = 'ratio', and only")


def grouped(name: str, group: str) -> str:
    return f"{name}_{group}"


def step_columns(steps: list[Step], runs: list[Run]) -> list[str]:
    """The per-step table's metric columns, in declared order: each step metric (and its
    groups), then each rate's quarterly column (and its groups)."""
    by_name = {s.name: s for s in steps}
    columns = []
    for s in steps:
        columns.append(s.name)
        if s.by_group:
            columns += [grouped(s.name, g) for g in GROUPS]
    for r in runs:
        if r.how == "rate":
            columns.append(QUARTERLY + r.name)
            if by_name[r.of].by_group:
                columns += [QUARTERLY + grouped(r.name, g) for g in GROUPS]
    return columns


def run_names(steps: list[Step], runs: list[Run]) -> list[str]:
    """The names of `run_metrics()`, in declared order, groups after their rate."""
    by_name = {s.name: s for s in steps}
    names = ["years"]
    for r in runs:
        names.append(r.name)
        if r.how == "rate" and by_name[r.of].by_group:
            names += [grouped(r.name, g) for g in GROUPS]
    return names


def check_names(steps: list[Step], runs: list[Run]) -> None:
    """Every name is declared once, and no run metric shares a step metric's name."""
    step_names = step_columns(steps, runs)
    names = run_names(steps, runs)
    for kind, listed in (("step", step_names), ("run", names)):
        twice = {x for x in listed if listed.count(x) > 1}
        if twice:
            raise ValueError(f"{kind} metrics declared twice: {sorted(twice)}")
    shared = set(step_names) & set(names)
    if shared:
        raise ValueError(f"run metrics named like step metrics: {sorted(shared)}")
    known = {s.name for s in steps}
    for r in runs:
        for name in (r.of, r.over or r.of):
            if name not in known:
                raise ValueError(f"run metric {r.name} aggregates unknown step metric {name}")


@dataclass
class Totals:
    """What the run figures need of the steps so far: how many, the sums of the columns
    `Catalog.summed()` names, and the last step's row."""

    steps: int = 0
    sums: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)

    def add(self, row: dict, names) -> None:
        """One more step: its row."""
        self.steps += 1
        for name in names:
            self.sums[name] += row[name]
        self.last = row


@dataclass(frozen=True)
class Catalog:
    """Every metric of a list of mechanisms, and the tables and labels derived from them."""

    steps: tuple[Step, ...]
    runs: tuple[Run, ...]

    @classmethod
    def of(cls, mechanisms) -> Catalog:
        metrics = [m for mechanism in mechanisms for m in mechanism.metrics]
        steps = tuple(m for m in metrics if isinstance(m, Step))
        runs = tuple(m for m in metrics if isinstance(m, Run))
        check_names(list(steps), list(runs))
        return cls(steps, runs)

    @property
    def step_columns(self) -> list[str]:
        return step_columns(list(self.steps), list(self.runs))

    @property
    def run_names(self) -> list[str]:
        return run_names(list(self.steps), list(self.runs))

    @functools.cached_property
    def grouped_steps(self) -> frozenset[str]:
        """The step metrics counted per field group (`by_group`)."""
        return frozenset(s.name for s in self.steps if s.by_group)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def run(self, name: str) -> Run:
        """The declaration of a run metric (a group's rate gives its rate's declaration)."""
        for r in self.runs:
            if name == r.name or (r.how == "rate" and name.startswith(r.name + "_")):
                return r
        raise KeyError(f"no run metric named {name!r}")

    # --- values ----------------------------------------------------------------------------
    def step_values(self, year: float, observed: dict, model) -> dict:
        """This step's row: the observed values, group counts and quarterly rates."""
        row = {"year": year}
        masks = model.fields.group_masks()
        for s in self.steps:
            value = observed[s.name]
            if s.by_group:
                row[s.name] = int(value.sum())
                for g in GROUPS:
                    row[grouped(s.name, g)] = int(value[masks[g]].sum())
            else:
                row[s.name] = value
        for r in self.runs:
            if r.how != "rate":
                continue
            row[QUARTERLY + r.name] = rate_per_thousand(row[r.of], model.n, STEP_YEARS, r.per)
            if r.of in self.grouped_steps:
                for g in GROUPS:
                    count, size = row[grouped(r.of, g)], model.group_sizes[g]
                    row[QUARTERLY + grouped(r.name, g)] = rate_per_thousand(
                        count, size, STEP_YEARS, r.per
                    )
        return row

    def summed(self) -> list[str]:
        """The step columns whose totals the run figures need."""
        names = []
        for r in self.runs:
            names += [r.of, r.over] if r.how == "ratio" else [r.of]
            if r.how == "rate" and r.of in self.grouped_steps:
                names += [grouped(r.of, g) for g in GROUPS]
        return list(dict.fromkeys(names))

    def run_values(self, history: dict[str, list], n: int, group_sizes: dict) -> dict:
        """Whole-run figures from the per-step history (`run_metrics()`)."""
        steps = len(history["year"])
        totals = Totals(
            steps=steps,
            sums={name: np.asarray(history[name], dtype=float).sum() for name in self.summed()},
            last={name: values[-1] for name, values in history.items()} if steps else {},
        )
        return self.run_figures(totals, n, group_sizes)

    def run_figures(self, totals: Totals, n: int, group_sizes: dict) -> dict:
        """Whole-run figures from the totals of the steps so far."""
        steps, sums = totals.steps, totals.sums
        years = steps * STEP_YEARS
        out = {"years": years}
        for r in self.runs:
            if r.how == "rate":
                out[r.name] = rate_per_thousand(sums[r.of], n, years, r.per)
                if r.of in self.grouped_steps:
                    for g in GROUPS:
                        total = sums[grouped(r.of, g)]
                        out[grouped(r.name, g)] = rate_per_thousand(
                            total, group_sizes[g], years, r.per
                        )
            elif r.how == "sum":
                out[r.name] = sums[r.of]
            elif r.how == "mean":
                out[r.name] = sums[r.of] / steps if steps else float("nan")
            elif r.how == "ratio":
                below = sums[r.over]
                out[r.name] = r.per * sums[r.of] / below if below else 0.0
            else:
                out[r.name] = totals.last[r.of] if steps else float("nan")
        return {k: float(v) for k, v in out.items()}

    # --- words -----------------------------------------------------------------------------
    def label(self, name: str) -> str:
        """'Breakthrough rate, export-exposed fields (breakthroughs per 1,000 ...)' for any
        step column or run metric."""
        base, group = name, None
        for g in GROUPS:
            if name.endswith("_" + g):
                base, group = name[: -len(g) - 1], g
        quarterly = base.startswith(QUARTERLY)
        base = base.removeprefix(QUARTERLY)
        if any(s.name == base for s in self.steps):
            metric = self.step(base)
        else:
            metric = self.run(base)
        text = metric.label
        if group:
            text += f", {GROUP_LABELS[group]}"
        if quarterly:
            text += ", quarterly"
        return f"{text} ({metric.unit})" if metric.unit else text

    def short(self, name: str) -> str:
        """A short column name for tables."""
        try:
            metric = self.run(name)
        except KeyError:
            return name.replace("_", " ")
        text = metric.short or metric.label.lower()
        group = name.removeprefix(metric.name).lstrip("_")
        return f"{text}, {GROUP_LABELS[group]}" if group else text

    def answering(self, lever: str) -> list[str]:
        """The run metrics that speak to `lever` (their `answers`), in declared order."""
        names = []
        for r in self.runs:
            if lever in r.answers:
                names.append(r.name)
            names += [grouped(r.name, g) for g, lv in r.group_answers if lv == lever]
        return names


def rate_per_thousand(count: float, researchers: float, years: float, per: float = 1000.0):
    """Events per `per` (by default 1,000) researcher-years; NaN over none (an empty group)."""
    exposure = researchers * years
    return per * count / exposure if exposure > 0 else float("nan")


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: equal, near 1: one holds everything)."""
    x = np.sort(x)
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return 0.0
    return float(np.einsum("i,i->", 2.0 * np.arange(1, n + 1) - n - 1, x) / (n * total))


def allocation_efficiency(funding: np.ndarray, ability: np.ndarray) -> float:
    """How well funding tracks ability: Pearson correlation of log funding with log ability."""
    a, b = np.log(funding), np.log(ability)
    a -= a.mean()
    b -= b.mean()
    spread = np.sqrt(np.einsum("i,i->", a, a) * np.einsum("i,i->", b, b))
    if spread == 0:
        return 0.0
    return float(np.clip(np.einsum("i,i->", a, b) / spread, -1.0, 1.0))
