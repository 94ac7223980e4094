from sim import ResearchModel


def test_default_model_runs_and_reports_a_breakthrough_rate():
    model = ResearchModel(seed=1, n_researchers=300, years=2)
    model.run()
    assert model.steps == 8
    assert model.run_metrics()["breakthrough_rate"] >= 0
