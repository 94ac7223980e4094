"""The parameter schema: defaults valid, overrides by name, one-line errors on bad input."""

import pytest

from sim import ParameterError, Params, ResearchModel, parameter_table, validate, with_overrides
from sim.params import resolve_key


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
