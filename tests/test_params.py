"""The parameter schema: defaults valid, overrides by name, one-line errors on bad input."""

from dataclasses import dataclass
from typing import ClassVar

import pytest

from sim import ParameterError, Params, ResearchModel, parameter_table, validate, with_overrides
from sim.params import fixed_at_start, param, resolve_key
from sim.schema import FIXED_AT_START, params_class


def test_defaults_are_valid_and_documented():
    validate(Params())
    for row in parameter_table():
        assert row["doc"], f"{row['name']} has no description"


def test_overrides_by_dotted_or_unambiguous_name():
    p = with_overrides(**{"oversight.intensity": 0.9}, publication_weight=0.1)
    assert p.oversight.intensity == 0.9
    assert p.incentives.publication_weight == 0.1
    assert Params().oversight.intensity != 0.9  # the defaults are untouched


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"oversight.intensity": 1.5},
            "oversight.intensity = 1.5 is out of range; allowed: [0.0, 1.0]",
        ),
        ({"n_researchers": 5}, "population.n_researchers = 5 is out of range"),
        ({"n_researchers": 10.5}, "population.n_researchers = 10.5 must be a whole number"),
        (
            {"export_controls.enabled": "yes"},
            "export_controls.enabled = 'yes' must be true or false",
        ),
        ({"guanxi.weight": "high"}, "guanxi.weight = 'high' must be a number"),
        ({"oversight.intensty": 0.5}, "unknown parameter 'oversight.intensty'; oversight has:"),
        ({"policy.x": 1}, "unknown parameter group 'policy'"),
        ({"intensty": 1}, "unknown parameter 'intensty'"),
    ],
)
def test_bad_values_raise_one_line_errors_naming_key_value_and_allowed(overrides, expected):
    with pytest.raises(ParameterError) as err:
        ResearchModel(seed=1, **overrides)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_bare_names_shared_by_two_groups_are_ambiguous():
    with pytest.raises(ParameterError, match="ambiguous parameter 'start_year'"):
        resolve_key("start_year")


def test_field_lists_must_agree_in_length():
    with pytest.raises(ParameterError, match="fields.shares has 2 entries"):
        with_overrides(**{"fields.shares": [0.5, 0.5]})


@dataclass
class TalentParams:
    """A new mechanism's group, with the two declarations a group may add."""

    fixed_at_start: ClassVar[tuple[str, ...]] = ("pool",)
    pool: int = param(5, 1, 100, unit="posts")
    rate: float = param(0.1, 0.0, 1.0, unit="per year")

    def check(self, group: str) -> None:
        if self.pool * self.rate > 10:
            raise ParameterError(f"{group}.rate = {self.rate} fills more than 10 posts a year")


def test_each_group_declares_what_is_read_once_and_its_own_rules():
    assert "fields.names" in FIXED_AT_START and "oversight.intensity" not in FIXED_AT_START
    params_type = params_class({"talent": TalentParams})
    assert fixed_at_start(params_type) == (*FIXED_AT_START, "talent.pool")
    validate(params_type(timeline=[{"year": 2016, "key": "talent.rate", "value": 0.2}]))
    with pytest.raises(ParameterError, match=r"timeline\[0\] talent.pool: cannot change"):
        validate(params_type(timeline=[{"year": 2016, "key": "talent.pool", "value": 6}]))
    with pytest.raises(ParameterError, match="talent.rate = 0.5 fills more than 10 posts"):
        with_overrides(params_type(), pool=40, rate=0.5)


def test_timeline_events_are_validated_before_the_run():
    bad = [{"year": 2020, "key": "oversight.intensity", "value": 2.0}]
    with pytest.raises(ParameterError, match=r"timeline\[0\] oversight.intensity = 2.0"):
        ResearchModel(seed=1, timeline=bad)


def test_a_numpy_integer_seed_is_a_seed():
    import numpy as np

    a = ResearchModel(seed=np.int64(3), n_researchers=50, years=0.5).run().run_metrics()
    assert a == ResearchModel(seed=3, n_researchers=50, years=0.5).run().run_metrics()
    with pytest.raises(ParameterError, match="seed = 2.5 must be a whole number"):
        ResearchModel(seed=2.5)
