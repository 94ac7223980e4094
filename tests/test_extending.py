"""A new mechanism, written as docs/extending.md says, runs in the model, through
`python -m experiments.run` and into the report, without editing any other file of the project.

The mechanism is defined here: a talent-recruitment programme that, at each evaluation, fills a
share of posts with researchers hired from abroad, who arrive with a foreign collaborator. It
has its own parameter group (`talent`), researcher state, random stream and metrics. The test
adds it to the model's list of mechanisms for its own duration only (the one line a student
adds to `sim.model.MECHANISMS`).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import sim.model
from experiments.studies.sweep import report, run
from sim import Mechanism, ResearchModel, Run, Step
from sim.params import param


@dataclass
class TalentParams:
    recruits_per_year: float = param(
        0.0,
        0.0,
        1.0,
        unit="share of posts per year",
        doc="Posts filled each year by researchers recruited from abroad",
        source="Assumption for this example",
        label="talent recruitment",
        short="recruitment",
    )


class Talent(Mechanism):
    """Talent recruitment: a share of posts goes to researchers hired from abroad each year;
    they arrive with a foreign collaborator."""

    name = "talent"
    parameters = {"talent": TalentParams}
    researcher_state = {"recruited": np.bool_}
    metrics = (
        Step("recruited_share", "Recruited from abroad", "share of researchers"),
        Run(
            "final_recruited_share",
            "Recruited from abroad at the end",
            of="recruited_share",
            how="last",
            unit="share of researchers",
            answers=("talent.recruits_per_year",),
        ),
    )

    def evaluate(self, opening):
        if opening:
            return
        r, years = self.model.researchers, self.p.incentives.evaluation_interval_years
        u = self.rng.random(self.model.n)  # one draw per post, whatever the rate
        hired = u < 1.0 - (1.0 - self.p.talent.recruits_per_year) ** years
        r.recruited |= hired
        r.foreign |= hired

    def replace(self, leavers):
        self.model.researchers.recruited[leavers] = False

    def observe(self, values):
        values["recruited_share"] = float(self.model.researchers.recruited.mean())


@pytest.fixture
def with_talent(monkeypatch):
    monkeypatch.setattr(sim.model, "MECHANISMS", (*sim.model.MECHANISMS, Talent))


def test_the_new_mechanism_runs_in_the_model(with_talent):
    model = ResearchModel(seed=1, n_researchers=300, years=3, recruits_per_year=0.3).run()
    assert model.p.talent.recruits_per_year == 0.3
    assert 0.3 < model.run_metrics()["final_recruited_share"] < 0.9
    assert "recruited" in next(iter(model.agents)).state()
    baseline = ResearchModel(seed=1, n_researchers=300, years=3).run().run_metrics()
    share = "mean_foreign_collaboration_share"
    assert model.run_metrics()[share] > baseline[share]
    # its stream is its own: the other mechanisms draw exactly what they draw without it
    plain = ResearchModel(seed=1, n_researchers=300, years=3, mechanisms=sim.model.MECHANISMS[:-1])
    assert plain.run().run_metrics()["breakthrough_rate"] == baseline["breakthrough_rate"]


def test_a_bad_value_of_its_parameter_is_refused(with_talent):
    with pytest.raises(sim.ParameterError, match=r"talent.recruits_per_year = 2.0 is out of range"):
        ResearchModel(seed=1, recruits_per_year=2.0)


def test_the_new_mechanism_runs_through_the_cli_and_the_report(with_talent, tmp_path):
    sweep = tmp_path / "sweep"
    run.main(
        [
            "-m",
            "talent.recruits_per_year=0,0.4",
            "run.replicates=2",
            "run.years=2",
            "run.burn_in_years=1",
            "population.n_researchers=200",
            "population.n_institutions=10",
            f"hydra.sweep.dir={sweep}",
        ]
    )
    rows = pd.read_csv(sweep / "1" / "replicates.csv")
    assert (rows["final_recruited_share"] > 0.2).all()
    assert "recruited_share" in pd.read_csv(sweep / "1" / "timeseries.csv").columns
    assert report.main([str(sweep)]) == 0
    text = (sweep / "report" / "report.md").read_text()
    assert "talent recruitment" in text  # the lever's label, from its declaration
    assert "recruited from abroad at the end" in text.lower()  # the metric label, declared


def test_no_function_of_the_model_takes_more_than_twelve_parameters():
    """Long positional signatures were how values got swapped without an error (issue 9)."""
    import ast
    from pathlib import Path

    for path in (Path(__file__).parent.parent / "sim").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                a = node.args
                count = len(a.posonlyargs + a.args + a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                assert count <= 12, f"{path.name}: {node.name} takes {count} parameters"
