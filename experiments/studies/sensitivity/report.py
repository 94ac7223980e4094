"""Figures and the report of an uncertainty analysis (`analysis.py`).

Figures follow `experiments/present/figures.py`: units and n on every panel, CIs drawn, Okabe-Ito
colours, PNG and SVG written atomically. The report is an `experiments.report_document.Document`
rendered as `report.md` and `report.html`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.params import ACCEPTED, parameter_table

from ...engine import design, io
from ...present.figures import OKABE_ITO, lever_label, metric_label, number, save, wrapped
from ...present.report_document import Document
from .analysis import PRIM_MAX_RESTRICTED

CI = "95% CI"
TOP = 8  # factors shown per output in tables and bar charts


def output_label(lever: str, outcome: str) -> str:
    if not lever:
        return metric_label(outcome)
    return (
        f"effect of {lever_label(lever)} on {metric_label(outcome)[0].lower()}"
        + (metric_label(outcome)[1:])
    )


def short_output(lever: str, outcome: str) -> str:
    name = outcome.replace("_", " ")
    return name if not lever else f"{lever.rsplit('.', 1)[-1].replace('_', ' ')} -> {name}"


def contrast_phrase(spec: design.DesignConfig, lever: str) -> str:
    c = next(c for c in spec.contrasts if c.key == lever)
    return f"{lever_label(lever)} {c.low:g} -> {c.high:g}"


# --- figures ---------------------------------------------------------------------------------


def _grid(n: int, width: float = 5.2, height: float = 4.2):
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _err(estimate, low, high) -> np.ndarray:
    """Error-bar lengths, never negative (a percentile interval may sit off its estimate)."""
    return np.maximum(0, np.array([estimate - low, high - estimate], dtype=float))


def morris_figure(analysis, pairs, name: str, out: Path, title: str) -> list[Path]:
    """mu* against sigma per factor, one panel per output, mu* CI as horizontal bars."""
    table = analysis.indices
    fig, axes = _grid(len(pairs))
    n_traj = len(analysis.design.points) // (len(analysis.design.factors) + 1)
    for ax, (lever, outcome) in zip(axes, pairs, strict=True):
        part = table[(table["lever"] == lever) & (table["outcome"] == outcome)]
        err = _err(part["mu_star"], part["mu_star_low"], part["mu_star_high"])
        ax.errorbar(
            part["mu_star"], part["sigma"], xerr=err, fmt="o", color=OKABE_ITO[0],
            ecolor="#999999", markersize=4, capsize=2,
        )  # fmt: skip
        for row in part.nlargest(5, "mu_star").itertuples():
            ax.annotate(
                row.factor.split(".")[-1], (row.mu_star, row.sigma), fontsize=7,
                xytext=(3, 3), textcoords="offset points",
            )  # fmt: skip
        top = max(part["mu_star_high"].max(), part["sigma"].max(), 1e-12)
        ax.plot([0, top], [0, top], color="#cccccc", linewidth=0.8, zorder=0)
        ax.set_xlabel("mu* (mean |elementary effect| per plausible range)")
        ax.set_ylabel("sigma (spread of elementary effects)")
        ax.set_title(wrapped(output_label(lever, outcome), 52), fontsize=9)
    fig.suptitle(
        f"{title}\nMorris screening, {n_traj} trajectories; bars: {CI} of mu* "
        f"(bootstrap over trajectories); grey line: sigma = mu*",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, out, name)


def sobol_figure(analysis, pairs, name: str, out: Path, title: str) -> list[Path]:
    """S1 and ST with CIs for the factors with the largest ST, one panel per output."""
    table = analysis.indices
    fig, axes = _grid(len(pairs), height=0.35 * TOP + 1.6)
    for ax, (lever, outcome) in zip(axes, pairs, strict=True):
        part = table[(table["lever"] == lever) & (table["outcome"] == outcome)]
        part = part.nlargest(TOP, "ST").iloc[::-1]
        y = np.arange(len(part))
        for offset, index, colour in ((-0.18, "S1", OKABE_ITO[0]), (0.18, "ST", OKABE_ITO[1])):
            err = _err(part[index], part[f"{index}_low"], part[f"{index}_high"])
            ax.barh(y + offset, part[index], height=0.34, color=colour, label=index)
            ax.errorbar(part[index], y + offset, xerr=err, fmt="none", ecolor="#333333", capsize=2)
        ax.set_yticks(y, [f.split(".")[-1] for f in part["factor"]], fontsize=7)
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_xlabel("Sobol index (share of variance)")
        ax.set_title(wrapped(output_label(lever, outcome), 52), fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    n = len(analysis.design.points)
    fig.suptitle(f"{title}\nSobol indices, {n} model evaluations; bars: {CI}", fontsize=10)
    fig.tight_layout()
    return save(fig, out, name)


SHARES = [
    ("significant_with_sign", "significantly the claimed sign", "#0072B2"),
    ("insignificant_with_sign", "claimed sign, not significant", "#56B4E9"),
    ("insignificant_other", "other sign or 0, not significant", "#F0C87A"),
    ("significant_other_sign", "significantly the other sign", "#D55E00"),
]


def robustness_figure(analysis, out: Path) -> list[Path]:
    """Per lever and outcome: the shares of the plausible space by sign and significance."""
    r = analysis.robustness.copy()
    r["insignificant_with_sign"] = r["share_with_sign"] - r["significant_with_sign"]
    r["insignificant_other"] = r["not_distinguished_from_0"] - r["insignificant_with_sign"]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(r) + 1.8))
    y = np.arange(len(r))[::-1]
    left = np.zeros(len(r))
    for column, label, colour in SHARES:
        ax.barh(y, r[column], left=left, color=colour, label=label, height=0.6)
        left += r[column].to_numpy()
    ax.errorbar(
        r["share_with_sign"], y,
        xerr=_err(r["share_with_sign"], r["share_low"], r["share_high"]),
        fmt="|", color="black", capsize=3, label=f"share with the claimed sign, {CI} (Wilson)",
    )  # fmt: skip
    labels = [
        f"{contrast_phrase(analysis.design.spec, row.lever)}: {row.outcome.replace('_', ' ')} "
        f"({row.sign})"
        for row in r.itertuples()
    ]
    ax.set_yticks(y, [wrapped(label, 60) for label in labels], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the design's points ({space(analysis.design.spec)})")
    d = analysis.design
    ax.set_title(
        f"Where each lever's effect has the claimed sign\n{len(d.points)} points, paired effects "
        f"on n = {len(d.seeds)} seeds per point; significance: the point's {CI} over seeds",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    fig.tight_layout()
    return save(fig, out, "robustness")


def effects_figure(analysis, out: Path) -> list[Path]:
    """The distribution of each lever's effect over the design's points, one panel per outcome."""
    table = analysis.points[analysis.points["lever"] != ""]
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = _grid(len(outcomes), width=5.5, height=3.8)
    levers = [c.key for c in analysis.design.spec.contrasts]
    for ax, outcome in zip(axes, outcomes, strict=True):
        data = [
            table[(table["outcome"] == outcome) & (table["lever"] == k)]["mean"] for k in levers
        ]
        ax.boxplot(data, whis=(5, 95), showfliers=False)
        ax.set_xticks(
            range(1, len(levers) + 1),
            [wrapped(contrast_phrase(analysis.design.spec, k), 18) for k in levers],
            fontsize=7,
        )
        ax.axhline(0, color=OKABE_ITO[5], linewidth=1)
        ax.set_ylabel(wrapped(f"effect, high minus low: {metric_label(outcome)}", 44), fontsize=8)
    d = analysis.design
    fig.suptitle(
        f"Each lever's effect across {space(d.spec)}: box 25-75%, whiskers 5-95% of "
        f"{len(d.points)} points (each the mean of n = {len(d.seeds)} paired seeds)",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, out, "effects")


def prim_figure(analysis, key, box, out: Path, name: str) -> list[Path]:
    """PRIM's peeling trade-off (coverage against density) and the chosen box's limits."""
    lever, outcome = key
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    t = box["trajectory"]
    points = left.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=18)
    left.scatter(
        [box["coverage"]], [box["density"]], s=120, facecolors="none", edgecolors="black",
        label="reported box",
    )  # fmt: skip
    fig.colorbar(points, ax=left, label="restricted factors")
    left.set_xlabel("coverage (share of reversing points inside the box)")
    left.set_ylabel("density (share of the box's points reversing)")
    left.legend(fontsize=7)
    left.set_title("PRIM peeling trajectory", fontsize=9)
    factors = analysis.design.factors
    names = list(box["limits"])
    for i, factor in enumerate(names):
        lo, hi = factors[factor]
        lower, upper = box["limits"][factor]
        a, b = (lower - lo) / (hi - lo), (upper - lo) / (hi - lo)
        right.barh(i, b - a, left=a, color=OKABE_ITO[1], height=0.5)
        right.barh(i, 1, color="#eeeeee", height=0.5, zorder=0)
        right.text(1.02, i, f"{number(lower)} to {number(upper)}", va="center", fontsize=7)
    right.set_yticks(range(len(names)), [n.split(".")[-1] for n in names], fontsize=8)
    right.set_xlim(0, 1.35)
    right.set_xlabel("position within the plausible range (0 = low end, 1 = high end)")
    right.set_title(
        f"Box: coverage {box['coverage']:.2f}, density {box['density']:.2f}, "
        f"mass {box['mass']:.2f}",
        fontsize=9,
    )
    fig.suptitle(
        wrapped(
            f"Where the {output_label(lever, outcome)} is significantly of the other sign "
            f"({box['base_rate']:.0%} of {len(analysis.design.points)} points)",
            110,
        ),
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, out, name)


# --- the report ------------------------------------------------------------------------------


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def fitted_ranges(d) -> int:
    """How many of the design's factors range over the calibration's accepted points."""
    sources = {row["name"]: row.get("plausible_source") for row in parameter_table()}
    return sum(sources.get(name) == ACCEPTED for name in d.factors)


def space(spec) -> str:
    """What the design's points stand for: the plausible space, or an accepted ensemble."""
    return "the accepted ensemble" if spec.method == "ensemble" else "the plausible space"


def robustness_sentence(spec, row) -> str:
    verb = "raises" if row.sign == "positive" else "lowers"
    basis = "" if row.basis == "claimed" else " (no claim declared: the sign of the mean)"
    return (
        f"**{contrast_phrase(spec, row.lever)}** {verb} {metric_label(row.outcome).lower()}"
        f"{basis} at {pct(row.share_with_sign)} of {space(spec)} ({CI} "
        f"{pct(row.share_low)} to {pct(row.share_high)}); significantly so at "
        f"{pct(row.significant_with_sign)}, significantly the other way at "
        f"{pct(row.significant_other_sign)}, not told apart from 0 on {row.seeds} seeds at "
        f"{pct(row.not_distinguished_from_0)}. Median effect {number(row.median)} "
        f"(5-95%: {number(row.q05)} to {number(row.q95)})."
    )


def index_table(indices: pd.DataFrame, lever: str, outcome: str, method: str) -> pd.DataFrame:
    part = indices[(indices["lever"] == lever) & (indices["outcome"] == outcome)]
    if method == "morris":
        part = part.nlargest(TOP, "mu_star")
        return pd.DataFrame(
            {
                "factor": [f"`{f}`" for f in part["factor"]],
                "mu*": [number(v) for v in part["mu_star"]],
                f"mu* {CI}": [
                    f"{number(a)} to {number(b)}"
                    for a, b in zip(part["mu_star_low"], part["mu_star_high"], strict=True)
                ],
                "mu": [number(v) for v in part["mu"]],
                f"mu {CI}": [
                    f"{number(a)} to {number(b)}"
                    for a, b in zip(part["mu_low"], part["mu_high"], strict=True)
                ],
                "sigma": [number(v) for v in part["sigma"]],
            }
        )
    part = part.nlargest(TOP, "ST")
    return pd.DataFrame(
        {
            "factor": [f"`{f}`" for f in part["factor"]],
            "S1": [f"{v:.3f}" for v in part["S1"]],
            f"S1 {CI}": [
                f"{a:.3f} to {b:.3f}" for a, b in zip(part["S1_low"], part["S1_high"], strict=True)
            ],
            "ST": [f"{v:.3f}" for v in part["ST"]],
            f"ST {CI}": [
                f"{a:.3f} to {b:.3f}" for a, b in zip(part["ST_low"], part["ST_high"], strict=True)
            ],
        }
    )


def build(analysis, out: Path, command: str, timing: dict) -> Path:
    d = analysis.design
    spec = d.spec
    figures = Path(out) / "figures"
    doc = Document(
        f"Uncertainty analysis: {spec.method} design over {len(d.factors)} "
        f"{'structural parameters' if spec.model == 'abm' else 'factors of ' + spec.model}"
    )
    config = d.config
    arms = [name for name, _ in design.arms(spec)]
    size = (
        f"{config['population']['n_researchers']:,} researchers over {config['run']['years']:g} "
        "years"
        if spec.model == "abm"
        else f"the {spec.model} test function"
    )
    if spec.method == "ensemble":
        distinct = len(np.unique(d.points, axis=0))
        doc.paragraph(
            f"The posterior predictive of each lever's effect over {len(d.points)} parameter "
            f"sets ({distinct} distinct) of `{spec.ensemble}` (the last generation of the "
            "calibration's ABC-SMC, "
            + (
                "resampled by weight at fixed positions: a set of weight w is drawn about "
                f"{len(d.points)} w times, and each draw counts once), "
                if spec.ensemble_weights == "posterior"
                else "taken at even steps and weighted equally: the sets it accepted at its "
                "last tolerance, not a posterior), "
            )
            + f"{len(d.factors)} calibrated parameters each; every "
            "set is the status quo its burn-in runs, as in the calibration. At each set "
            f"{len(arms)} arm(s) ({', '.join(f'`{a}`' for a in arms)}) on the same "
            f"{len(d.seeds)} replicate seeds (common random numbers), {size}: {len(d.runs):,} "
            f"runs in {spec.jobs} Hydra jobs. The spread of an effect over the sets is the "
            "parameter uncertainty the calibration leaves, each set's seed interval the seed "
            "noise; both are conditional on the calibration's targets and on every parameter it "
            "does not fit (docs/calibration.md)."
        )
    else:
        doc.paragraph(
            f"A {spec.method} design (SALib, design seed {spec.seed}) of {len(d.points)} "
            f"points over the plausible ranges of {len(d.factors)} factors; at each point "
            f"{len(arms)} arm(s) ({', '.join(f'`{a}`' for a in arms)}) on the same "
            f"{len(d.seeds)} replicate seeds (common random numbers), {size}: "
            f"{len(d.runs):,} runs in {spec.jobs} Hydra jobs. Levers not contrasted, and every "
            "parameter not in the design, keep the config's values."
            + (
                " The plausible ranges are those of `sim/params.py` (docs/ODD.md): "
                f"{fitted_ranges(d)} of the {len(d.factors)} are the calibration's accepted "
                "ranges, the others provisional judgements or published figures, so read the "
                "shares below as conditional on them."
                if spec.model == "abm"
                else ""
            )
        )
    doc.code(command, "bash")

    if len(analysis.robustness):
        doc.heading(f"Which conclusions hold across {space(spec)}")
        doc.bullets([robustness_sentence(spec, row) for row in analysis.robustness.itertuples()])
        robustness_figure(analysis, figures)
        doc.image(
            "figures/robustness.png",
            f"Share of {space(spec)} by sign and significance of each lever's effect",
            "Each bar splits the design's points by the sign of the lever's paired effect "
            "(seed mean) and whether its seed CI excludes 0; black: the share with the claimed "
            f"sign with its {CI}. 'Not significant' means noisy at this number of seeds, not "
            "that the effect reverses.",
        )
        effects_figure(analysis, figures)
        doc.image(
            "figures/effects.png",
            f"Distribution of each lever's effect over {space(spec)}",
            "Effect sizes (high minus low, mean over paired seeds) across the design's points.",
        )
        r = analysis.robustness
        doc.table(
            pd.DataFrame(
                {
                    "lever": [contrast_phrase(spec, k) for k in r["lever"]],
                    "outcome": r["outcome"],
                    "sign": r["sign"] + np.where(r["basis"] == "claimed", "", " (mean)"),
                    "share with sign": [
                        f"{pct(a)} ({pct(b)}-{pct(c)})"
                        for a, b, c in zip(
                            r["share_with_sign"], r["share_low"], r["share_high"], strict=True
                        )
                    ],
                    "significant": [pct(v) for v in r["significant_with_sign"]],
                    "noisy": [pct(v) for v in r["not_distinguished_from_0"]],
                    "significant other sign": [pct(v) for v in r["significant_other_sign"]],
                    "median effect (5-95%)": [
                        f"{number(m)} ({number(a)} to {number(b)})"
                        for m, a, b in zip(r["median"], r["q05"], r["q95"], strict=True)
                    ],
                }
            )
        )

    if len(analysis.indices):
        pairs = list(
            dict.fromkeys(zip(analysis.indices["lever"], analysis.indices["outcome"], strict=True))
        )
        base = [p for p in pairs if not p[0]]
        effects = [p for p in pairs if p[0]]
        draw = morris_figure if spec.method == "morris" else sobol_figure
        what = "Morris mu* and sigma" if spec.method == "morris" else "Sobol S1 and ST"
        doc.heading("What moves the outcomes")
        doc.paragraph(
            f"{what} of each outcome at the base arm, per factor"
            + (
                ": mu* is the mean absolute change of the outcome when the factor moves across "
                "its whole plausible range, mu the signed mean, sigma their spread (interactions "
                "and non-linearity)."
                if spec.method == "morris"
                else "."
            )
        )
        draw(analysis, base, f"{spec.method}_outcomes", figures, "Outcomes at the base arm")
        doc.image(f"figures/{spec.method}_outcomes.png", what, f"{what}; {CI} as drawn.")
        for lever, outcome in base:
            doc.heading(metric_label(outcome), 3)
            doc.table(index_table(analysis.indices, lever, outcome, spec.method))
        if effects:
            doc.heading("What moves the levers' effects")
            doc.paragraph(
                f"{what} of each lever's paired effect: which structural assumptions decide how "
                "large the effect is, and whether it keeps its sign."
            )
            draw(analysis, effects, f"{spec.method}_effects", figures, "Levers' paired effects")
            doc.image(f"figures/{spec.method}_effects.png", what, f"{what}; {CI} as drawn.")
            for lever, outcome in effects:
                doc.heading(short_output(lever, outcome), 3)
                doc.table(index_table(analysis.indices, lever, outcome, spec.method))

    if analysis.boxes:
        doc.heading("Where effects reverse (PRIM)")
        doc.paragraph(
            "PRIM (EMA Workbench) peels the factor space towards the points where the lever's "
            "effect is significantly of the other sign (its seed CI wholly on the other side of "
            "0). Coverage: the share of all reversing points inside the "
            "box; density: the share of the box's points that reverse; the reported box, among "
            f"those restricting at most {PRIM_MAX_RESTRICTED} factors, has the largest "
            "coverage x density."
        )
        range_word = "ensemble" if spec.method == "ensemble" else "plausible"
        for i, ((lever, outcome), box) in enumerate(analysis.boxes.items()):
            limits = "; ".join(
                f"`{name}` {number(lo)} to {number(hi)} ({range_word} "
                f"{number(d.factors[name][0])} to {number(d.factors[name][1])})"
                for name, (lo, hi) in box["limits"].items()
            )
            weak = box["density"] < 0.5
            doc.paragraph(
                f"**{short_output(lever, outcome)}** is significantly of the other sign at "
                f"{pct(box['base_rate'])} of the points; box: {limits}. Coverage "
                f"{box['coverage']:.2f}, density {box['density']:.2f}, mass {box['mass']:.2f}."
                + (
                    " Weak: fewer than half the box's points reverse, so no box of at most "
                    f"{PRIM_MAX_RESTRICTED} factors holds the reversals well."
                    if weak
                    else ""
                )
            )
            name = f"prim_{i}"
            prim_figure(analysis, (lever, outcome), box, figures, name)
            doc.image(f"figures/{name}.png", "PRIM trade-off and box", "PRIM trade-off and box.")

    doc.heading("Reproduce")
    record = d.records[0]
    environment = record["environment"]
    seconds = sum(r["timing"]["seconds"] for r in d.records)
    started = min(datetime.fromisoformat(r["timing"]["started"]) for r in d.records)
    finished = max(datetime.fromisoformat(r["timing"]["finished"]) for r in d.records)
    cost = (
        f"The {len(d.records)} jobs ran {seconds:.0f} s in all (their own clocks), "
        f"{(finished - started).total_seconds():.0f} s from the first start to the last finish"
    )
    if timing.get("sweep_seconds"):
        cost += f"; this command's sweep took {timing['sweep_seconds']:.0f} s (finished jobs skip)"
    doc.bullets(
        [
            f"Design: {spec.method}, seed {spec.seed}, {spec.samples} samples"
            + (f", {spec.levels} levels" if spec.method == "morris" else "")
            + "; every point in `design.csv` (rebuilt from the config and checked against the "
            "runs).",
            f"Replicate seeds (`run.seed` = {config['run']['seed']}): "
            + ", ".join(str(s) for s in d.seeds),
            f"Code: commit `{environment['git']['commit']}`"
            + (" (dirty)" if environment["git"]["dirty"] else "")
            + f", Python {environment['python']}, SALib "
            f"{io.package_versions().get('SALib') or 'installed'}; every job's config, seeds "
            "and versions are in its `provenance.json`.",
            cost + ".",
            "Tables: `points.csv` (each output at each point: seed mean, Student-t CI, n), "
            "`indices.csv`, `robustness.csv`, `prim.csv`.",
        ]
    )
    config_text = json.dumps(
        {k: v for k, v in config.items() if k != "uncertainty"} | {"uncertainty": {
            **config["uncertainty"], "job": "0 .. jobs - 1"}},
        indent=2,
    )  # fmt: skip
    doc.details("The design's full config", config_text, "json")
    out = Path(out)
    io.write_atomic(out / "report.md", lambda f: f.write(doc.markdown()))
    io.write_atomic(out / "report.html", lambda f: f.write(doc.html()))
    return out / "report.md"
