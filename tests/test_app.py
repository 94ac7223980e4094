"""The dashboard (sim/app.py): its model and inputs, then the page itself in headless Chromium.

The browser test starts `solara run sim/app.py`, moves a slider, resets, runs steps, turns on the
compare mode, and checks that the page shows the new settings, the plots change and no error
appears. It saves a screenshot of each mode in tests/artefacts/ (git-ignored). It needs the
system's Chromium (Debian: `apt-get install chromium`) and skips, saying so, without it.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mesa
import numpy as np
import pytest

from sim import STEP_METRICS, ParameterError, ResearchModel, parameter_table

app = pytest.importorskip(
    "sim.app", reason="the dashboard needs the app extra: pip install -e .[app]"
)

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = ROOT / "tests" / "artefacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SMALL = {"population.n_researchers": 300, "run.years": 3.0}


def test_plotted_metrics_are_the_models_step_metrics():
    plotted = {name for _, names, _ in app.PANELS for name in names}
    assert plotted <= set(STEP_METRICS), plotted - set(STEP_METRICS)


def test_inputs_carry_the_schemas_defaults_ranges_and_labels():
    rows = {row["name"]: row for row in parameter_table()}
    for name in app.LEVERS:
        spec, row = app.model_params[name], rows[name]
        assert spec["value"] == row["default"]
        assert spec["label"] == (row["label"] or app.label(name)) and spec["label"]
        if spec["type"] != "Checkbox":
            assert (spec["min"], spec["max"]) == (row["lo"], row["hi"]), name
    assert app.label("oversight.intensity") in {
        rows["oversight.intensity"]["label"],
        "Oversight: intensity",
    }
    n = app.model_params["population.n_researchers"]
    assert (
        rows["population.n_researchers"]["lo"]
        <= n["min"]
        < n["max"]
        <= rows["population.n_researchers"]["hi"]
    )


def test_mesa_accepts_the_models_parameters():
    """Mesa 3.3 rejected a catch-all named other than `kwargs` ("Missing required model
    parameter: overrides"); Mesa's own check must pass for this model and these inputs."""
    from mesa.visualization import solara_viz

    solara_viz._check_model_params(app.DashboardModel.__init__, app.model_params)


def test_a_typed_seed_gives_the_models_numbers():
    dashboard = app.DashboardModel(seed=" 12 ", **SMALL).run()
    plain = ResearchModel(seed=12, **SMALL).run()
    assert dashboard.run_metrics() == plain.run_metrics()


@pytest.mark.parametrize("seed", ["x", "1.5", "-3", True])
def test_a_bad_seed_stops_with_one_line(seed):
    with pytest.raises(ParameterError, match=r"^seed = .* must be a whole number >= 0$"):
        app.DashboardModel(seed=seed, **SMALL)


def test_on_the_page_bad_input_is_shown_and_runs_nothing():
    model = app.DashboardModel(seed="abc", on_bad_input="show", **SMALL)
    assert app.summary_text(model) == (
        "**Bad input:** seed = 'abc' must be a whole number >= 0. "
        "Change it in the sidebar and press Reset."
    )
    model.step()
    assert not model.running and not model.datacollector.model_vars["year"]
    assert app.model_params["on_bad_input"] == "show"


def test_mesas_scenario_on_reset_is_taken():
    """Mesa 3.5 passes its own `scenario` object when Reset builds the model again."""
    model = app.DashboardModel(scenario=object(), **app.initial_values())
    assert model.p.run.years == app.model_params["run.years"]["value"]


def test_compare_runs_b_on_the_same_seed():
    model = app.DashboardModel(seed="3", compare_lever="oversight.intensity", **SMALL)
    assert model.compare == ("oversight.intensity", 0.3, 1.0)
    model.run()
    alone = ResearchModel(seed=3, **SMALL, **{"oversight.intensity": 1.0}).run()
    assert model.twin.run_metrics() == alone.run_metrics()
    assert (
        model.twin.run_metrics()["mean_research_time_share"]
        < model.run_metrics()["mean_research_time_share"]
    )


def test_compare_with_the_same_setting_differs_by_nothing():
    """B equal to A: every difference is exactly 0, so any difference B - A shows is the lever's."""
    position = 0.3  # oversight intensity's range is [0, 1]: B = 0.3 = A
    model = app.DashboardModel(
        compare_lever="oversight.intensity", compare_position=position, **SMALL
    )
    model.run()
    for _, names, smoothed in app.PANELS:
        for name in names:
            a, b = app.series(model, name, smoothed), app.series(model.twin, name, smoothed)
            quarters = 12 + model.datacollector.records_times  # and the state at construction
            assert a.size == quarters and np.array_equal(a, b)


def test_scenario_events_are_loaded_and_marked():
    model = app.DashboardModel(
        events="seed_timeline", **{"run.years": 12.0, "population.n_researchers": 300}
    )
    marks = app.marks(model)
    assert 2022.75 in marks and f"{app.short('export_controls.enabled')} True" in marks[2022.75]
    assert all(2015 < year < 2027 for year in marks)
    compared = app.DashboardModel(
        events="seed_timeline", compare_lever="oversight.intensity", **SMALL
    )
    compared.step()
    text = app.summary_text(compared)
    assert f"1. 2017.75: {app.short('leadership.technocrat_share')} 0.176" in text
    assert "the dated events set oversight.intensity in both settings, at 2023.25" in text
    shock_in_b = app.DashboardModel(
        compare_lever="export_controls.enabled",
        **{"run.years": 12.0, "population.n_researchers": 300},
    )
    assert app.marks(shock_in_b) == {2022.75: "export controls"}  # B's shock is marked too
    with pytest.raises(ParameterError, match="events = 'nope'"):
        app.DashboardModel(events="nope", **SMALL)


def test_panels_and_summary_render():
    model = app.DashboardModel(compare_lever="export_controls.enabled", **SMALL)
    for _ in range(4):
        model.step()
    for spec in app.PANELS:
        assert app.panel(*spec)(model) is not None
    text = app.summary_text(model)
    assert "B - A" in text and "export_controls.enabled = True" in text


# --- the page in a real browser ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`solara run sim/app.py` on a free port; its address while the module's tests run."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) or set "
            "CHROMIUM=/path/to/chromium to run the browser test"
        )
    port = free_port()
    log = ARTEFACTS / "solara-server.log"
    ARTEFACTS.mkdir(exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "solara", "run", "sim/app.py", "--host", "127.0.0.1",
             "--port", str(port), "--production", "--no-open"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(url, timeout=5).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the app's server did not start; see {log}") from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def plot_images(page) -> list[str]:
    return page.locator("img").evaluate_all("els => els.map(e => e.src)")


def expect_no_error(page):
    text = page.inner_text("body")
    for sign in ("Traceback", "error in step", "Error:", "Missing required"):
        assert sign not in text, text[:2000]
    assert page.locator(".v-alert.error").count() == 0


def test_dashboard_in_a_browser(server):
    from playwright.sync_api import sync_playwright

    tag = f"py{sys.version_info.major}.{sys.version_info.minor}-mesa{mesa.__version__}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.set_default_timeout(60_000)
            page.goto(server)
            page.get_by_text("Step 0 of 80").wait_for()

            # move a slider as a user does, clicking its track half-way: oversight intensity
            slider = page.locator(".v-input", has_text=app.label("oversight.intensity"))
            track = slider.locator(".v-slider").bounding_box()
            page.mouse.click(track["x"] + track["width"] / 2, track["y"] + track["height"] / 2)
            value = float(slider.locator("[role=slider]").get_attribute("aria-valuenow"))
            assert 0.4 < value < 0.6, value
            page.get_by_role("button", name="Reset").click()
            page.get_by_text(f"oversight.intensity = {value}").wait_for()
            before = plot_images(page)

            for step in range(1, 5):  # a step is a quarter
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"Step {step} of 80").wait_for()
            page.get_by_text("breakthroughs per 1,000 researcher-years").wait_for()
            page.wait_for_timeout(1500)  # the figures arrive after the text
            after = plot_images(page)
            assert len(after) == len(app.PANELS)
            assert len(set(after) - set(before)) == len(app.PANELS), "the plots did not change"
            expect_no_error(page)
            page.screenshot(path=ARTEFACTS / f"dashboard-single-{tag}.png", full_page=True)

            # compare mode: a typed seed, the seed articles' dated events, and B moving the
            # publication weight to the top of its range, on the same seed
            seed = page.get_by_label("Seed")
            seed.fill("seven")
            seed.press("Enter")
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("Bad input: seed = 'seven' must be a whole number >= 0.").wait_for()
            assert "Traceback" not in page.inner_text("body")
            seed.fill("7")
            seed.press("Enter")
            page.locator(".v-select", has_text="Dated events").click()
            page.locator(".v-list-item", has_text="seed_timeline").click()
            page.locator(".v-select", has_text="Compare: the lever").click()
            page.locator(".v-list-item", has_text="incentives.publication_weight").click()
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("seed 7, events: seed_timeline").wait_for()
            page.get_by_text(
                "Setting B: the same with incentives.publication_weight = 1.0"
            ).wait_for()
            for step in range(1, 5):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"Step {step} of 80").wait_for()
            page.get_by_text("B - A").first.wait_for()
            page.wait_for_timeout(1500)
            expect_no_error(page)
            assert len(plot_images(page)) == len(app.PANELS)
            page.screenshot(path=ARTEFACTS / f"dashboard-compare-{tag}.png", full_page=True)
        except Exception:
            page.screenshot(path=ARTEFACTS / f"dashboard-failure-{tag}.png", full_page=True)
            raise
        finally:
            browser.close()
