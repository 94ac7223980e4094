"""The model's parameters: one typed schema with defaults, units, ranges and sources.

Every parameter is a dataclass field made with `param(...)`, which records its allowed range,
unit, meaning and source in the field's metadata. `validate` checks a whole `Params` object and
raises `ParameterError` naming the parameter, the value and what is allowed. The Hydra layer and
the parameter reference in `docs/ODD.md` are both generated from these classes, so this file is
the single source of truth for every lever.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A parameter has an unknown name, a wrong type or a value out of its allowed range."""


def param(
    default,
    lo=None,
    hi=None,
    *,
    unit: str = "",
    doc: str = "",
    source: str = "",
    label: str = "",
    short: str = "",
    plausible: tuple[float, float] | None = None,
    plausible_source: str = "",
    policy: bool = False,
):
    """A dataclass field carrying its allowed range [lo, hi], unit, meaning and source.

    `label` and `short` name a lever in tables and figures (derived from the name when empty);
    `plausible` is the range an uncertainty analysis samples, narrower than [lo, hi], with
    `plausible_source` saying where it comes from. A `policy` parameter is one that a reform
    changes: during the burn-in it keeps the status quo, its default unless the model is given
    another (`set_status_quo`).
    """
    meta = {
        "lo": lo,
        "hi": hi,
        "unit": unit,
        "doc": doc,
        "source": source or ASSUMPTION,
        "label": label,
        "short": short,
        "plausible": plausible,
        "plausible_source": plausible_source,
        "policy": policy,
    }
    if isinstance(default, list | tuple):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


ASSUMPTION = "Modelling assumption, set by hand, not fitted to data (docs/ODD.md, section 7)"
HAN = "Han Xueying's account (seed article, 2024)"
ARES = "Anna Ares's account of MERICS research (seed article, 2024)"
SEED_EXPORT = "October 7, 2022 US export controls (seed article, 2024)"
SEED_TECHNOCRATS = "Technocrat shares of the Central Committee (seed article, 2022; Li 2001)"
CALIBRATION = "ABC-SMC with pyabc (docs/calibration.md, results/calibration/)"


def fitted(targets: str) -> str:
    """The source of a calibrated parameter: the targets it was fitted to."""
    return f"Fitted to {targets} by {CALIBRATION}"


# Sources of plausible ranges (sampled by the uncertainty analysis, docs/sensitivity.md).
ACCEPTED = (
    "The 5-95% range of the calibration's weighted posterior, widened to hold the fitted "
    "point (docs/calibration.md)"
)
PROVISIONAL = "Provisional: a judgement around the default, until calibration fits it"
REDNER = (
    "Redner 1998: papers with x citations fall off as x^-3, a Pareto tail index near 2; "
    "provisional range around it"
)
WVS = (
    "Wang, Veugelers & Stephan 2017: novel papers' advantage shows only in citation windows "
    "longer than 3 years (delayed recognition); provisional"
)
ROYLE = (
    "Royle, Coles, Williams & Evans 2007: almost 20% of Chinese articles (2004) were "
    "internationally co-authored, more since; provisional"
)


@dataclass
class RunParams:
    start_year: float = param(
        2015.0,
        1950.0,
        2100.0,
        unit="calendar year",
        doc="Calendar year of the first step",
        label="start year",
        short="start",
    )
    years: float = param(
        20.0,
        0.25,
        200.0,
        unit="years",
        doc="Run length; one step is a quarter",
        label="run length",
        short="years",
    )
    burn_in_years: float = param(
        40.0,
        0.0,
        500.0,
        unit="years",
        doc="Years run before start_year and left out of every output, so that projects, "
        "records and the population's selection reach their steady state",
        label="burn-in",
        short="burn-in",
    )


@dataclass
class PopulationParams:
    n_researchers: int = param(
        2000,
        10,
        10_000_000,
        unit="researchers",
        doc="Researchers (constant: every exit is replaced)",
        label="researchers",
        short="researchers",
    )
    n_institutions: int = param(
        40, 1, 100_000, unit="institutions", doc="Universities and research institutes"
    )
    ability_sigma: float = param(
        0.59,
        0.0,
        3.0,
        unit="log-units",
        doc="Spread of log-normal (heavy-tailed) ability",
        source=fitted("breakthrough_share, indexed_papers_per_researcher"),
        plausible=(0.437, 0.657),
        plausible_source=ACCEPTED,
    )
    institution_wealth_sigma: float = param(
        0.5,
        0.0,
        3.0,
        unit="log-units",
        doc="Spread of institutions' log-normal funding pools",
        plausible=(0.2, 1.0),
        plausible_source=PROVISIONAL,
    )
    initial_exploratory_share: float = param(
        0.35,
        0.0,
        1.0,
        unit="share of research time",
        doc="Mean initial share of time on exploratory work",
        plausible=(0.15, 0.55),
        plausible_source=PROVISIONAL,
    )
    initial_exploratory_spread: float = param(
        0.15,
        0.0,
        1.0,
        unit="share",
        doc="Spread of initial exploratory shares",
        plausible=(0.05, 0.3),
        plausible_source=PROVISIONAL,
    )


@dataclass
class FieldsParams:
    names: list[str] = param(
        [
            "semiconductors",
            "artificial_intelligence",
            "aerospace",
            "biotechnology",
            "materials_science",
            "environmental_science",
            "pure_mathematics",
            "social_sciences",
        ],
        doc="Research fields",
        source=SEED_EXPORT,
    )
    shares: list[float] = param(
        [0.12, 0.14, 0.08, 0.16, 0.14, 0.12, 0.10, 0.14],
        0.0,
        1.0,
        unit="share of researchers",
        doc="Population share of each field (weights: divided by their sum)",
    )
    export_exposure: list[float] = param(
        [1.0, 0.9, 0.6, 0.3, 0.6, 0.1, 0.0, 0.0],
        0.0,
        1.0,
        unit="0..1",
        doc="Dependence on foreign inputs hit by export controls",
        source=SEED_EXPORT,
    )
    priority: list[bool] = param(
        [True, True, True, True, False, False, False, False],
        doc="National priority ('core technologies') under self-reliance",
        source=f"{ARES}; aerospace, semiconductors, biotechnology named in the 2022 seed",
    )
    exposed_threshold: float = param(
        0.5, 0.0, 1.0, unit="0..1", doc="Exposure at or above which a field counts as 'exposed'"
    )


@dataclass
class IncentivesParams:
    publication_weight: float = param(
        0.7,
        0.0,
        1.0,
        unit="0..1",
        doc="Weight of paper counts against recognized impact in the evaluation score",
        source=HAN,
        label="publication-count weight",
        short="count weight",
        policy=True,
    )
    evaluation_window_years: float = param(
        3.0,
        0.25,
        20.0,
        unit="years",
        doc="Papers and impact count only if recognized in the last window",
        source=HAN,
        label="evaluation window",
        short="window",
        policy=True,
    )
    evaluation_interval_years: float = param(
        1.0,
        0.25,
        10.0,
        unit="years",
        doc="Time between evaluations (funding, exit)",
        source=HAN,
        plausible=(0.5, 2.0),
        plausible_source=PROVISIONAL,
        policy=True,
    )
    funding_steepness: float = param(
        1.0,
        0.0,
        5.0,
        unit="per score s.d.",
        doc="Funding grows by exp(steepness x score)",
        source=f"{HAN}; cash-per-paper rewards: Quan, Chen & Shu 2017; "
        "Franzoni, Scellato & Stephan 2011",
        plausible=(0.5, 2.0),
        plausible_source=PROVISIONAL,
        policy=True,
    )
    paper_splitting: float = param(
        0.5,
        0.0,
        5.0,
        unit="x papers at weight 1",
        doc="Extra papers from the same incremental work when counts carry all the weight; "
        "impact per paper falls in proportion (salami slicing)",
        source=fitted("franzoni_submissions"),
        plausible=(0.314, 0.52),
        plausible_source=ACCEPTED,
    )
    failure_tolerance: float = param(
        0.0,
        0.0,
        1.0,
        unit="0..1",
        doc="Share of the papers forgone on exploratory work that "
        "the evaluation credits anyway (HHMI-like tolerance)",
        source="Azoulay, Graff Zivin & Manso 2011",
        label="failure tolerance",
        short="failure tolerance",
        policy=True,
    )


@dataclass
class GuanxiParams:
    weight: float = param(
        0.943,
        0.0,
        5.0,
        unit="score s.d. per unit tie",
        doc="Evaluation bonus for ties to the institution's leadership",
        label="guanxi weight",
        short="guanxi",
        policy=True,
        source=fitted("fisman_election"),
        plausible=(0.153, 1.93),
        plausible_source=ACCEPTED,
    )
    technocratic_damping: float = param(
        0.3,
        0.0,
        1.0,
        unit="0..1",
        doc="Favoritism under technocratic leadership, relative to political leadership",
        source=HAN,
        plausible=(0.1, 0.6),
        plausible_source=PROVISIONAL,
    )
    tie_concentration: float = param(
        1.0,
        0.1,
        50.0,
        unit="Beta b",
        doc="Ties are Beta(1, b): uniform at 1, larger b fewer strong ties",
        plausible=(0.5, 4.0),
        plausible_source=PROVISIONAL,
    )


@dataclass
class LeadershipParams:
    technocrat_share: float = param(
        0.4,
        0.0,
        1.0,
        unit="share of institutions",
        doc="Chance that a leadership is technocratic",
        source=SEED_TECHNOCRATS,
        label="technocrat share of leaderships",
        short="technocrats",
        policy=True,
    )
    turnover_per_year: float = param(
        0.2,
        0.0,
        1.0,
        unit="per year",
        doc="Chance an institution's leadership changes in a year; "
        "ties are redrawn around the new leaders",
        source=HAN,
        plausible=(0.1, 0.35),
        plausible_source=PROVISIONAL,
    )
    merged_share: float = param(
        0.0,
        0.0,
        1.0,
        unit="share of institutions",
        doc="Institutions whose party committee and president's office are merged",
        source=f"{ARES} (January 2024 mergers)",
        label="merged leaderships",
        short="merged",
        policy=True,
    )
    approval_differs: bool = param(
        True,
        doc="Technocratic leaderships approve proposals on merit, political ones on ties "
        "(false: all on ties)",
        source=SEED_TECHNOCRATS,
        label="leaderships differ in approval",
        short="approval channel",
    )
    favoritism_differs: bool = param(
        True,
        doc="Technocratic leaderships favour ties less in evaluations "
        "(guanxi.technocratic_damping; false: as much as political ones)",
        source=HAN,
        label="leaderships differ in favoritism",
        short="favoritism channel",
    )
    funding_differs: bool = param(
        True,
        doc="Technocratic leaderships concentrate funding on priority fields less "
        "(technocratic_concentration; false: as much as political ones)",
        source=ARES,
        label="leaderships differ in funding",
        short="funding channel",
    )
    technocratic_concentration: float = param(
        0.5,
        0.0,
        2.0,
        unit="x the political concentration",
        doc="A technocratic leadership's extra funding for priority fields, relative to a "
        "political leadership's (oversight.centralization)",
        plausible=(0.0, 1.0),
        plausible_source=PROVISIONAL,
    )


@dataclass
class OversightParams:
    intensity: float = param(
        0.3,
        0.0,
        1.0,
        unit="0..1",
        doc="Strength of party oversight of research institutions",
        source=ARES,
        label="oversight intensity",
        short="oversight",
        policy=True,
    )
    max_time_cost: float = param(
        0.174,
        0.0,
        1.0,
        unit="share of the time other duties leave",
        doc="Time taken by training and procedures at intensity 1",
        source=fitted("huang_research_time (with oversight.other_duties: a ridge)"),
        plausible=(0.11, 0.298),
        plausible_source=ACCEPTED,
    )
    other_duties: float = param(
        0.423,
        0.0,
        0.95,
        unit="share of working time",
        doc="Working time taken by duties other than party oversight (grant applications, "
        "reporting, evaluation, teaching); research time is (1 - other_duties) x "
        "(1 - max_time_cost x intensity)",
        source=fitted("huang_research_time (with oversight.max_time_cost: a ridge)"),
        label="other duties",
        short="other duties",
        plausible=(0.383, 0.466),
        plausible_source=ACCEPTED,
    )
    merged_amplification: float = param(
        0.5,
        0.0,
        2.0,
        unit="x intensity",
        doc="Extra intensity where leadership is merged",
        source=ARES,
        plausible=(0.2, 1.0),
        plausible_source=PROVISIONAL,
    )
    max_rejection: float = param(
        0.6,
        0.0,
        1.0,
        unit="probability",
        doc="Chance an exploratory proposal is refused at intensity 1",
        source=ARES,
        plausible=(0.3, 0.8),
        plausible_source=PROVISIONAL,
    )
    priority_favor: float = param(
        0.7,
        0.0,
        1.0,
        unit="0..1",
        doc="Cut in refusals for proposals in priority fields",
        source=ARES,
        plausible=(0.4, 0.9),
        plausible_source=PROVISIONAL,
    )
    loyalty_favor: float = param(
        0.5,
        0.0,
        1.0,
        unit="0..1",
        doc="How far a political leadership's approval follows ties: refusal x "
        "(1 - favor x (2 x the proposer's tie rank - 1)), the same on average, shifted "
        "toward the well connected",
        source=ARES,
        plausible=(0.2, 0.8),
        plausible_source=PROVISIONAL,
    )
    merit_favor: float = param(
        0.5,
        0.0,
        1.0,
        unit="0..1",
        doc="How far a technocratic leadership's approval follows merit: refusal x "
        "(1 - favor x (2 x the proposer's merit rank - 1))",
        plausible=(0.2, 0.8),
        plausible_source=PROVISIONAL,
    )
    round_interval_years: float = param(
        0.5,
        0.25,
        5.0,
        unit="years",
        doc="Time between rounds in which exploratory proposals are judged; a proposal "
        "waits for the next round, a refused one for the round after",
        plausible=(0.25, 1.0),
        plausible_source=PROVISIONAL,
    )
    reshape_chance: float = param(
        0.5,
        0.0,
        1.0,
        unit="probability",
        doc="Chance a refused proposal is reshaped toward national priorities (judged as a "
        "priority proposal next round); otherwise it is dropped and a new one is put forward",
        plausible=(0.2, 0.8),
        plausible_source=PROVISIONAL,
    )
    reshape_cost: float = param(
        0.3,
        0.0,
        1.0,
        unit="share of impact",
        doc="Impact a reshaped project loses: its aims follow priorities, not the "
        "researcher's idea",
        plausible=(0.1, 0.5),
        plausible_source=PROVISIONAL,
    )
    centralization: float = param(
        0.6,
        0.0,
        5.0,
        unit="funding multiple at intensity 1",
        doc="Extra funding weight of priority fields per unit intensity, under political "
        "leadership",
        source=ARES,
        plausible=(0.2, 1.2),
        plausible_source=PROVISIONAL,
    )
    distrust: float = param(
        0.6,
        0.0,
        1.0,
        unit="0..1",
        doc="Cut in foreign partners' willingness at intensity 1",
        source=ARES,
        plausible=(0.3, 0.9),
        plausible_source=PROVISIONAL,
    )


@dataclass
class ExportControlsParams:
    enabled: bool = param(
        False,
        doc="Whether the export-control shock happens",
        source=SEED_EXPORT,
        label="export-control shock",
        short="shock",
        policy=True,
    )
    start_year: float = param(
        2022.75,
        1950.0,
        2100.0,
        unit="calendar year",
        doc="Date of the shock (October 2022)",
        source=SEED_EXPORT,
    )
    severity: float = param(
        0.7,
        0.0,
        1.0,
        unit="0..1",
        doc="Share of foreign inputs lost by a fully exposed field",
        source=SEED_EXPORT,
        label="export-control severity",
        short="severity",
        policy=True,
    )
    success_dependence: float = param(
        0.8,
        0.0,
        1.0,
        unit="0..1",
        doc="How much exploratory success depends on foreign inputs",
        plausible=(0.5, 1.0),
        plausible_source=PROVISIONAL,
    )
    paper_dependence: float = param(
        0.3,
        0.0,
        1.0,
        unit="0..1",
        doc="How much incremental output depends on foreign inputs",
        plausible=(0.1, 0.5),
        plausible_source=PROVISIONAL,
    )
    self_reliance_funding: float = param(
        0.5,
        0.0,
        5.0,
        unit="funding multiple",
        doc="Extra funding weight of exposed priority fields after the shock",
        source=ARES,
        label="self-reliance funding",
        short="self-reliance",
        policy=True,
    )
    substitution_years: float = param(
        4.0,
        0.25,
        50.0,
        unit="years",
        doc="Years for domestic substitutes to restore inputs",
        plausible=(2.0, 8.0),
        plausible_source=PROVISIONAL,
    )
    max_recovery: float = param(
        0.5,
        0.0,
        1.0,
        unit="0..1",
        doc="Share of lost inputs that self-reliance can restore",
        plausible=(0.25, 0.75),
        plausible_source=PROVISIONAL,
    )


@dataclass
class ProductionParams:
    papers_per_year: float = param(
        0.111,
        0.0,
        50.0,
        unit="papers per FTE-year",
        doc="Incremental indexed papers of a full-time researcher of ability 1",
        source=fitted("indexed_papers_per_researcher, franzoni_submissions"),
        plausible=(0.0967, 0.484),
        plausible_source=ACCEPTED,
    )
    funding_elasticity: float = param(
        0.3,
        0.0,
        2.0,
        unit="elasticity",
        doc="Output grows as (funding / mean funding)^elasticity",
        plausible=(0.1, 0.6),
        plausible_source=PROVISIONAL,
    )
    incremental_impact_sigma: float = param(
        1.75,
        0.0,
        3.0,
        unit="log-units",
        doc="Spread of incremental papers' log impact",
        source="The calibration's fitted point, though no fitting target pins it: "
        "wvs_hit_ratio_15y, which would, is out of the model's reach and held out; the "
        "posterior carries its spread over the prior 0.5 to 3 (docs/calibration.md)",
        plausible=(1.56, 2.26),
        plausible_source=ACCEPTED,
    )
    project_effort_years: float = param(
        1.5,
        0.1,
        50.0,
        unit="FTE-years",
        doc="Mean effort an exploratory project needs (exponential)",
        source="Foster, Rzhetsky & Evans 2015",
        plausible=(0.75, 3.0),
        plausible_source=PROVISIONAL,
    )
    project_success: float = param(
        0.354,
        0.0,
        1.0,
        unit="probability",
        doc="Chance a finished exploratory project succeeds",
        source=fitted("breakthrough_share"),
        plausible=(0.273, 0.379),
        plausible_source=ACCEPTED,
    )
    project_impact_scale: float = param(
        15.4,
        0.0,
        1e6,
        unit="impact units",
        doc="Minimum impact of a successful project (Pareto scale)",
        source=fitted("breakthrough_share"),
        plausible=(9.37, 15.4),
        plausible_source=ACCEPTED,
    )
    project_impact_alpha: float = param(
        1.5,
        1.01,
        10.0,
        unit="Pareto index",
        doc="Tail index of successful projects' impact",
        plausible=(1.2, 2.5),
        plausible_source=REDNER,
    )
    project_papers: float = param(
        0.993,
        0.0,
        50.0,
        unit="papers",
        doc="Indexed papers from a successful project (a flop yields half)",
        source=fitted("indexed_papers_per_researcher"),
        plausible=(0.298, 0.993),
        plausible_source=ACCEPTED,
    )
    recognition_delay_years: float = param(
        4.0,
        0.0,
        50.0,
        unit="years",
        doc="Mean delay before a project's impact is recognized (exponential)",
        source="Wang, Veugelers & Stephan 2017",
        plausible=(2.0, 8.0),
        plausible_source=WVS,
    )
    breakthrough_threshold: float = param(
        464.0,
        0.0,
        1e9,
        unit="impact units",
        doc="Impact above which an output is a breakthrough "
        "(about the top 1% of papers with neutral levers)",
        source=fitted("breakthrough_share"),
        plausible=(105.0, 536.0),
        plausible_source=ACCEPTED,
    )
    paper_cohort_years: float = param(
        5.0,
        0.0,
        200.0,
        unit="years",
        doc="Papers made in the first paper_cohort_years recorded years form the cohort whose "
        "top-1% shares by kind are reported (sim/papers.py; 0: no cohort)",
        source="Wang, Veugelers & Stephan 2017 count a publication-year cohort; the length is "
        "a modelling choice, short enough for a 20-year run to observe it for 15 years",
        label="paper cohort",
        short="cohort years",
    )


@dataclass
class CollaborationParams:
    initial_share: float = param(
        0.3,
        0.0,
        1.0,
        unit="share of researchers",
        doc="Researchers with a foreign collaborator at the start",
        plausible=(0.15, 0.4),
        plausible_source=ROYLE,
    )
    formation_per_year: float = param(
        0.0331,
        0.0,
        1.0,
        unit="per year",
        doc="Chance per year of gaining a foreign collaborator",
        source=fitted("foreign_coauthor_share"),
        plausible=(0.0306, 0.0946),
        plausible_source=ACCEPTED,
    )
    dissolution_per_year: float = param(
        0.15,
        0.0,
        1.0,
        unit="per year",
        doc="Chance per year of losing one",
        plausible=(0.08, 0.25),
        plausible_source=PROVISIONAL,
    )
    paper_boost: float = param(
        0.2,
        0.0,
        5.0,
        unit="x output",
        doc="Extra output with a foreign collaborator",
        plausible=(0.05, 0.4),
        plausible_source=PROVISIONAL,
    )
    success_boost: float = param(
        0.3,
        0.0,
        5.0,
        unit="x success chance",
        doc="Extra exploratory success with a foreign collaborator",
        plausible=(0.1, 0.6),
        plausible_source=PROVISIONAL,
    )


@dataclass
class CareersParams:
    exit_per_year: float = param(
        0.05,
        0.0,
        0.5,
        unit="share per year",
        doc="Lowest-scoring share of researchers who leave research in a year (an evaluation "
        "interval of dt years removes 1 - (1 - share)^dt of them)",
        source="Smaldino & McElreath 2016",
        plausible=(0.02, 0.1),
        plausible_source=PROVISIONAL,
    )
    career_years: float = param(
        30.0,
        1.0,
        1e9,
        unit="years",
        doc="Mean length of a research career: each researcher retires with chance "
        "1 / career_years a year, whatever the score",
        plausible=(20.0, 40.0),
        plausible_source=PROVISIONAL,
    )
    imitation_per_year: float = param(
        0.2,
        0.0,
        1.0,
        unit="per year",
        doc="Chance in a year that an incumbent compares with a random peer and copies "
        "a better-scoring peer's strategy",
        source="Smaldino & McElreath 2016",
        plausible=(0.05, 0.4),
        plausible_source=PROVISIONAL,
    )
    imitation_noise: float = param(
        0.05,
        0.0,
        1.0,
        unit="share",
        doc="Noise (s.d.) added to a copied exploratory share",
        plausible=(0.02, 0.1),
        plausible_source=PROVISIONAL,
    )


@dataclass
class Event:
    """At calendar year `year`, set the parameter `key` (e.g. 'oversight.intensity') to `value`.

    All three are required: an event lacking one is refused, never completed with a default."""

    year: float = param(dataclasses.MISSING, 1950.0, 2100.0, unit="calendar year")
    key: str = param(dataclasses.MISSING, doc="Dotted parameter name")
    value: Any = param(dataclasses.MISSING, doc="New value")


EVENT_KEYS = tuple(f.name for f in dataclasses.fields(Event))


def as_event(event, index: int) -> Event:
    """`timeline[index]` as an `Event`: an `Event`, or a mapping with exactly its keys."""
    if isinstance(event, Event):
        return event
    allowed = f"an event has: {', '.join(EVENT_KEYS)}"
    if not isinstance(event, Mapping):
        raise ParameterError(f"timeline[{index}] = {event!r} must be a mapping; {allowed}")
    unknown = [str(k) for k in event if k not in EVENT_KEYS]
    if unknown:
        raise ParameterError(f"unknown key '{unknown[0]}' in timeline[{index}]; {allowed}")
    missing = [k for k in EVENT_KEYS if k not in event]
    if missing:
        raise ParameterError(
            f"timeline[{index}] = {dict(event)!r} lacks {', '.join(missing)}; {allowed}"
        )
    return Event(**event)


def as_timeline(events) -> list[Event]:
    """A timeline (a list of events, each an `Event` or a mapping) as a list of `Event`s."""
    if isinstance(events, str | bytes | Mapping) or not isinstance(events, Iterable):
        raise ParameterError(f"timeline = {events!r} must be a list of events")
    return [as_event(e, i) for i, e in enumerate(events)]


@dataclass
class Params:
    run: RunParams = field(default_factory=RunParams)
    population: PopulationParams = field(default_factory=PopulationParams)
    fields: FieldsParams = field(default_factory=FieldsParams)
    incentives: IncentivesParams = field(default_factory=IncentivesParams)
    guanxi: GuanxiParams = field(default_factory=GuanxiParams)
    leadership: LeadershipParams = field(default_factory=LeadershipParams)
    oversight: OversightParams = field(default_factory=OversightParams)
    export_controls: ExportControlsParams = field(default_factory=ExportControlsParams)
    production: ProductionParams = field(default_factory=ProductionParams)
    collaboration: CollaborationParams = field(default_factory=CollaborationParams)
    careers: CareersParams = field(default_factory=CareersParams)
    timeline: list[Event] = field(default_factory=list)


GROUPS = [f.name for f in dataclasses.fields(Params) if f.name != "timeline"]


def params_class(groups: dict[str, type] | None = None) -> type:
    """`Params`, extended by parameter groups that are not in it yet (a new mechanism's
    `parameters`, sim/mechanism.py): {group name: dataclass of `param(...)` fields}."""
    extra = {g: cls for g, cls in (groups or {}).items() if g not in Params.__dataclass_fields__}
    if not extra:
        return Params
    return _extended(tuple(extra.items()))


@functools.cache
def _extended(extra: tuple) -> type:
    fields_ = [(g, cls, field(default_factory=cls)) for g, cls in extra]
    return dataclasses.make_dataclass("Params", fields_, bases=(Params,))


def groups_of(params_type: type = Params) -> list[str]:
    return [f.name for f in dataclasses.fields(params_type) if f.name != "timeline"]


def group_fields(group: str, params_type: type = Params) -> list[dataclasses.Field]:
    return list(dataclasses.fields(params_type.__dataclass_fields__[group].default_factory))


def parameter_table(params_type: type = Params) -> list[dict]:
    """One row per parameter: dotted name, default, range, unit, meaning, source."""
    rows = []
    for group in groups_of(params_type):
        for f in group_fields(group, params_type):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            rows.append({"name": f"{group}.{f.name}", "default": default, **f.metadata})
    return rows


def policy_levers(params_type: type = Params) -> list[str]:
    """The dotted names of the parameters that a reform changes (`param(policy=True)`)."""
    return [
        f"{group}.{f.name}"
        for group in groups_of(params_type)
        for f in group_fields(group, params_type)
        if f.metadata.get("policy")
    ]


def set_status_quo(params: Params, defaults: Params | None = None) -> list[Event]:
    """Set every policy lever of `params` to its value in `defaults` (the class defaults when
    None), in place, and return the events that set them back to the run's values (dated -inf:
    before any other event)."""
    defaults, restore = defaults or type(params)(), []
    for key in policy_levers(type(params)):
        group, name = key.split(".")
        value = getattr(getattr(params, group), name)
        default = getattr(getattr(defaults, group), name)
        if value != default:
            restore.append(Event(year=-math.inf, key=key, value=value))
            setattr(getattr(params, group), name, default)
    return restore


def _flat_names(params_type: type) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for group in groups_of(params_type):
        for f in group_fields(group, params_type):
            names.setdefault(f.name, []).append(f"{group}.{f.name}")
    return names


def resolve_key(key: str, params_type: type = Params) -> tuple[str, str]:
    """'oversight.intensity' or an unambiguous bare name ('intensity') -> (group, name)."""
    groups = groups_of(params_type)
    if "." in key:
        group, _, name = key.partition(".")
        if group not in groups:
            raise ParameterError(
                f"unknown parameter group '{group}' in '{key}'; allowed: {', '.join(groups)}"
            )
        allowed = [f.name for f in group_fields(group, params_type)]
        if name not in allowed:
            raise ParameterError(f"unknown parameter '{key}'; {group} has: {', '.join(allowed)}")
        return group, name
    matches = _flat_names(params_type).get(key, [])
    if len(matches) == 1:
        return tuple(matches[0].split("."))  # type: ignore[return-value]
    if matches:
        raise ParameterError(f"ambiguous parameter '{key}'; use one of: {', '.join(matches)}")
    raise ParameterError(
        f"unknown parameter '{key}'; use 'group.name' with group one of: {', '.join(groups)}"
    )


def field_of(key: str, params_type: type = Params) -> tuple[str, str, dataclasses.Field]:
    """(group, name, dataclass field) of a dotted or bare parameter name."""
    group, name = resolve_key(key, params_type)
    return group, name, next(f for f in group_fields(group, params_type) if f.name == name)


def with_overrides(params: Params | None = None, **overrides) -> Params:
    """A validated copy of `params` with overrides given as dotted or unambiguous bare names."""
    out = dataclasses.replace(params or Params())
    params_type = type(out)
    for group in groups_of(params_type):
        setattr(out, group, dataclasses.replace(getattr(out, group)))
    spelled: dict[tuple[str, str], str] = {}
    for key, value in overrides.items():
        if key == "timeline":
            out.timeline = value
            continue
        group, name = resolve_key(key, params_type)
        if (group, name) in spelled:
            raise ParameterError(
                f"{group}.{name} is given twice, as '{spelled[group, name]}' and '{key}'; "
                "allowed: once"
            )
        spelled[group, name] = key
        setattr(getattr(out, group), name, value)
    validate(out)
    return out


def check_value(dotted: str, f: dataclasses.Field, value) -> Any:
    """Check one value against its field's type and range; return it coerced to that type."""
    expected = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if expected == "bool":  # numpy's scalars are accepted wherever Python's are
        if not isinstance(value, bool | np.bool_):
            raise ParameterError(f"{dotted} = {value!r} must be true or false")
        return bool(value)
    if expected in ("int", "float"):
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ParameterError(f"{dotted} = {value!r} must be a number ({expected})")
        if expected == "int" and (not math.isfinite(value) or float(value) != int(value)):
            raise ParameterError(f"{dotted} = {value!r} must be a whole number")
        value = int(value) if expected == "int" else float(value)
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        if value != value or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ParameterError(f"{dotted} = {value!r} is out of range; allowed: [{lo}, {hi}]")
        return value
    if expected.startswith("list"):
        if not isinstance(value, list | tuple):
            raise ParameterError(f"{dotted} = {value!r} must be a list")
        item = expected[expected.index("[") + 1 : -1]
        item_field = field(metadata=f.metadata)
        item_field.type = item
        return [check_value(f"{dotted}[{i}]", item_field, v) for i, v in enumerate(value)]
    if expected == "str":
        if not isinstance(value, str):
            raise ParameterError(f"{dotted} = {value!r} must be text")
    return value


# Read only when the model is built: a timeline event for one of these would change nothing
# while the model reported the new value, so `validate` refuses such events.
FIXED_AT_START = (
    "run.start_year",
    "run.years",
    "run.burn_in_years",
    "population.n_researchers",
    "population.n_institutions",
    "population.institution_wealth_sigma",
    "population.initial_exploratory_share",
    "population.initial_exploratory_spread",
    "fields.names",
    "fields.shares",
    "fields.export_exposure",
    "fields.priority",
    "fields.exposed_threshold",
    "collaboration.initial_share",
)


def validate(params: Params) -> Params:
    """Check every value's type and range and the fields' consistency; coerce ints and floats."""
    params_type = type(params)
    for group in groups_of(params_type):
        obj = getattr(params, group)
        for f in group_fields(group, params_type):
            setattr(obj, f.name, check_value(f"{group}.{f.name}", f, getattr(obj, f.name)))
    fields_ = params.fields
    n = len(fields_.names)
    for name in ("shares", "export_exposure", "priority"):
        if len(getattr(fields_, name)) != n:
            raise ParameterError(
                f"fields.{name} has {len(getattr(fields_, name))} entries; "
                f"allowed: one per field in fields.names ({n})"
            )
    twice = sorted({name for name in fields_.names if fields_.names.count(name) > 1})
    if twice:
        raise ParameterError(f"fields.names has '{twice[0]}' twice; allowed: distinct names")
    if n == 0 or sum(fields_.shares) <= 0:
        raise ParameterError(f"fields.shares = {fields_.shares} must have a positive sum")
    params.timeline = as_timeline(params.timeline)
    year, key, _ = dataclasses.fields(Event)
    for i, event in enumerate(params.timeline):
        check_value(f"timeline[{i}].key", key, event.key)
        group, name, f = field_of(event.key, params_type)
        if f"{group}.{name}" in FIXED_AT_START:
            raise ParameterError(
                f"timeline[{i}] {event.key}: cannot change during a run (the model reads it "
                "once, when it is built); set it directly instead"
            )
        check_value(f"timeline[{i}].year", year, event.year)
        event.value = check_value(f"timeline[{i}] {event.key}", f, event.value)
    return params


def _metadata(key: str, params_type: type) -> tuple[str, dict]:
    _, name, f = field_of(key, params_type)
    return name, f.metadata


def lever_label(key: str, params_type: type = Params) -> str:
    """A parameter's label (its `label`, else its name in words) with its unit."""
    name, meta = _metadata(key, params_type)
    label = meta.get("label") or name.replace("_", " ")
    return f"{label} ({meta['unit']})" if meta.get("unit") else label


def lever_short(key: str, params_type: type = Params) -> str:
    """A parameter's short name for legends and arm names."""
    name, meta = _metadata(key, params_type)
    return meta.get("short") or name.replace("_", " ")
