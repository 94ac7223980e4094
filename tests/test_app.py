"""The dashboard (sim/app.py): its model, inputs and plots, then the page in headless Chromium.

The browser tests start `solara run sim/app.py` and check that every slider holds and shows its
default, that Reset without a change runs `ResearchModel(seed=1)`, how long a step takes on the
page (printed, and saved in tests/artefacts/step-time-*.txt, beside a bare `model.step()`), that
the compare table fits a 1280x720 screen, that each browser session has a model of its own and
that the page fetches nothing from outside. They save screenshots in tests/artefacts/
(git-ignored). They need the system's Chromium (Debian: `apt-get install chromium`) and skip,
saying so, without it.
"""

import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mesa
import pytest

from sim import STEP_METRICS, ParameterError, ResearchModel, parameter_table
from sim.metrics import GROUP_LABELS, GROUPS, grouped
from sim.production import BREAKTHROUGH_RATE

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


def test_plotted_columns_are_the_models_step_metrics():
    plotted = {column for panel in app.PANELS for column in panel.columns}
    assert plotted <= set(STEP_METRICS), plotted - set(STEP_METRICS)


def test_inputs_carry_the_schemas_defaults_ranges_and_labels():
    rows = {row["name"]: row for row in parameter_table()}
    for name in app.LEVERS:
        spec, row = app.INPUTS[name], rows[name]
        assert spec["value"] == row["default"]
        assert spec["label"] == (row["label"] or app.label(name)) and spec["label"]
        if spec["type"] != "Checkbox":
            assert (spec["min"], spec["max"]) == (row["lo"], row["hi"]), name
    assert app.label("oversight.intensity") in {
        rows["oversight.intensity"]["label"],
        "Oversight: intensity",
    }
    n = app.INPUTS["population.n_researchers"]
    assert (
        rows["population.n_researchers"]["lo"]
        <= n["min"]
        < n["max"]
        <= rows["population.n_researchers"]["hi"]
    )


def sliders() -> dict[str, dict]:
    return {k: v for k, v in app.INPUTS.items() if v["type"] in ("SliderInt", "SliderFloat")}


def rounded_by_the_browser(value: float, spec: dict) -> float:
    """What the page's slider (Vuetify 2's `roundValue`) makes of `value`: the nearest step
    from the low end, printed with as many decimals as the step has."""
    step, lo, hi = spec["step"], spec["min"], spec["max"]
    text = repr(float(step)).removesuffix(".0")
    decimals = len(text.partition(".")[2])
    offset = math.fmod(lo, step)
    nearest = math.floor((value - offset) / step + 0.5) * step + offset  # JavaScript's round
    return float(f"{min(nearest, hi):.{decimals}f}")


def test_every_slider_holds_its_default_exactly():
    """A slider rounds its value to its step: the guanxi weight's default 0.738 on steps of
    0.05 became 0.75 on the page, and the page's run was no longer `ResearchModel(seed=1)`."""
    for name, spec in sliders().items():
        assert rounded_by_the_browser(spec["value"], spec) == spec["value"], name
        assert rounded_by_the_browser(spec["max"], spec) == spec["max"], name
        assert (spec["max"] - spec["min"]) / spec["step"] >= 20, name  # still a usable slider


def test_slider_step_fits_the_default():
    assert app.slider_step(0.0, 5.0, 0.738) == 0.002
    assert app.slider_step(0.0, 1.0, 0.3) == 0.01
    assert app.slider_step(0.0, 5.0, 0.5) == 0.05


def test_a_typed_seed_gives_the_models_numbers():
    dashboard = app.DashboardModel(seed=" 12 ", **SMALL).run()
    plain = ResearchModel(seed=12, **SMALL).run()
    assert dashboard.run_metrics() == plain.run_metrics()


@pytest.mark.parametrize("seed", ["x", "1.5", "-3", True])
def test_a_bad_seed_stops_with_one_line(seed):
    with pytest.raises(ParameterError, match=r"^seed = .* must be a whole number >= 0$"):
        app.DashboardModel(seed=seed, **SMALL)


@pytest.mark.parametrize("position", ["abc", 1.5, -0.1, True, None])
def test_a_bad_compare_position_stops_with_one_line(position):
    """`compare_position="abc"` raised Python's own ValueError from deep inside."""
    with pytest.raises(ParameterError) as caught:
        app.DashboardModel(compare_lever="oversight.intensity", compare_position=position)
    assert str(caught.value) == f"compare_position = {position!r} must be a number from 0 to 1"


def test_on_the_page_bad_input_is_shown_and_runs_nothing():
    model = app.DashboardModel(seed="abc", on_bad_input="show", **SMALL)
    assert app.summary_lines(model) == (
        "Bad input: seed = 'abc' must be a whole number >= 0. "
        "Change it in the sidebar and press Reset.",
        [],
    )
    model.step()
    assert not model.running and not model.datacollector.model_vars["year"]


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


def test_reset_and_compare_share_one_burn_in(monkeypatch):
    """A and B, and a second Reset on the same seed, branch from one spin-up (sim.model)."""
    built = []
    spun_up = ResearchModel.spun_up.__func__
    monkeypatch.setattr(
        ResearchModel,
        "spun_up",
        classmethod(lambda cls, *a, **k: built.append(1) or spun_up(cls, *a, **k)),
    )
    monkeypatch.setattr(app, "SPUN_UP", {})
    for _ in range(2):
        app.DashboardModel(seed="21", compare_lever="oversight.intensity", **SMALL)
    assert len(built) == 1


def test_compare_with_the_same_setting_differs_by_nothing():
    """B equal to A: every difference is exactly 0, so any difference B - A shows is the lever's."""
    position = 0.3  # oversight intensity's range is [0, 1]: B = 0.3 = A
    model = app.DashboardModel(
        compare_lever="oversight.intensity", compare_position=position, **SMALL
    )
    model.run()
    for panel in app.PANELS:
        for column in panel.columns:
            d, _ = app.difference(model, column, panel.cumulative)
            assert d.size == 12 and not d.any()


def test_the_rate_so_far_is_the_runs_rate_with_its_noise():
    """The breakthrough panels plot the rate so far (a quarter's rate swings by more than the
    effects a user looks for): at each step it is the run's rate up to then, and its band is
    the Poisson noise of the count so far."""
    model = app.DashboardModel(seed=2, **SMALL)
    for _ in range(6):
        model.step()
    metrics = model.run_metrics()
    sizes = {app.COUNT: model.n} | {grouped(app.COUNT, g): model.group_sizes[g] for g in GROUPS}
    for column, size in sizes.items():
        rate, half = app.curve(model, column, cumulative=True)
        name = column.replace(app.COUNT, BREAKTHROUGH_RATE.name)
        assert rate.size == 6 and math.isclose(rate[-1], metrics[name]), column
        count, researcher_years = sum(model.history[column]), size * 6 * 0.25
        assert math.isclose(half[-1], 1000 * 1.96 * math.sqrt(max(count, 1)) / researcher_years)


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
    text = app.summary_html(compared)
    assert f"1. 2017.75: {app.short('leadership.technocrat_share')} 0.176" in text
    assert "the dated events set oversight.intensity in both settings, at 2023.25" in text
    shock_in_b = app.DashboardModel(
        compare_lever="export_controls.enabled",
        **{"run.years": 12.0, "population.n_researchers": 300},
    )
    assert app.marks(shock_in_b) == {2022.75: "export controls"}  # B's shock is marked too
    with pytest.raises(ParameterError, match="events = 'nope'"):
        app.DashboardModel(events="nope", **SMALL)


def test_the_compare_subtitle_follows_dated_events():
    """A dated event that sets the compared lever changes it in both runs: the plots' subtitle
    said "A: oversight 0.3" after the event had set it to 0.5."""
    model = app.DashboardModel(
        events="seed_timeline",
        compare_lever="oversight.intensity",
        **{"run.years": 12.0, "population.n_researchers": 300},
    )
    oversight = app.short("oversight.intensity")
    assert app.subtitle(model) == f"A: {oversight} 0.3, B: {oversight} 1.0"
    while model.year < 2023.25:
        model.step()
    assert app.subtitle(model) == f"A: {oversight} 0.5, B: {oversight} 0.5"


def test_panels_and_summary_render():
    model = app.DashboardModel(compare_lever="export_controls.enabled", **SMALL)
    for _ in range(4):
        model.step()
    for panel in app.PANELS:
        page = app.panel_html(model, panel)
        lines = re.findall(r'<polyline class="series" points="([^"]*)"', page)
        # A and B, then B - A, for each column; each line has a point per quarter
        assert len(lines) == 3 * len(panel.columns), panel.title
        assert all(len(points.split()) == 4 for points in lines)
        svg_end = page.rindex("</svg>")
        for group in GROUPS if len(panel.columns) > 1 else ():
            assert page.index(GROUP_LABELS[group]) > svg_end  # the legend is below the plot
    text = app.summary_html(model)
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


def expect_no_error(page):
    text = page.inner_text("body")
    for sign in ("Traceback", "Error:", "error in"):
        assert sign not in text, text[:2000]
    assert page.locator(".v-alert.error").count() == 0


def step(page, k: int, total: int) -> float:
    """Press Step; the seconds until the page shows step k: the heading, and every line of
    every plot with k points."""
    start = time.perf_counter()
    page.get_by_role("button", name="Step").click()
    page.wait_for_function(
        """([k, total]) => document.body.innerText.includes(`Step ${k} of ${total},`) &&
        [...document.querySelectorAll('.panel polyline.series')].every(
            line => line.points.numberOfItems === k)""",
        arg=[k, total],
    )
    return time.perf_counter() - start


def table(page) -> list[list[str]]:
    return page.locator(".summary-table tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.innerText.trim()))"
    )


TAG = f"py{sys.version_info.major}.{sys.version_info.minor}-mesa{mesa.__version__}"


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(request, server, browser):
    """A new browser session (its own context) on the dashboard, at a viewport size; each
    session's page is saved as a screenshot when the test ends, passed or failed."""
    contexts = []

    def opened(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        page.goto(server)
        page.get_by_text("Step 0 of 80,").wait_for()
        return page

    yield opened
    for i, context in enumerate(contexts):
        for page in context.pages:
            name = f"session-{request.node.name}-{i}-{TAG}.png"
            page.screenshot(path=ARTEFACTS / name, full_page=True)
        context.close()


def test_the_page_opens_on_the_defaults_and_runs_them(server, open_page):
    """Every slider holds and shows its default, Reset without a change runs exactly
    `ResearchModel(seed=1)`, a step takes a fraction of a second, and nothing is fetched
    from outside (the page's title is the dashboard's, not "Page 0")."""
    page = open_page(1600, 1400)
    assert page.title() == app.TITLE
    assert "page 0" not in page.inner_text("body").lower()

    levers = page.locator(".lever")
    assert levers.count() == len(sliders())
    for i, (name, spec) in enumerate(sliders().items()):
        lever = levers.nth(i)
        value = float(lever.locator("[role=slider]").get_attribute("aria-valuenow"))
        assert value == spec["value"], name
        shown = lever.locator(".lever-value").inner_text()
        assert shown.split()[0] == app.shown(spec["value"]), (name, shown)
        assert lever.locator(".lever-value").is_visible()

    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Setting A now: the defaults").wait_for()
    seconds = [step(page, k, 80) for k in range(1, 11)]
    plain = ResearchModel(seed=1)
    for _ in range(10):
        plain.step()
    metrics = plain.run_metrics()
    for (key, text), row in zip(app.SUMMARY, table(page)[1:], strict=True):
        assert row[0] == text and row[1].split()[0] == f"{metrics[key]:.3g}", row
    start = time.perf_counter()
    for _ in range(10):
        plain.step()
    bare = (time.perf_counter() - start) / 10
    start = time.perf_counter()
    page.get_by_role("button", name="▶").click()
    page.get_by_text("Step 80 of 80,").wait_for()
    played = time.perf_counter() - start
    assert page.get_by_role("button", name="Step").is_disabled()
    expect_no_error(page)
    page.screenshot(path=ARTEFACTS / f"dashboard-single-{TAG}.png", full_page=True)
    report = (
        f"a step on the page, {app.INPUTS['population.n_researchers']['value']} researchers: "
        f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s; "
        f"a bare model.step(): {bare:.4f} s; the play button ran steps 11 to 80 in {played:.1f} s"
    )
    print(report)
    (ARTEFACTS / f"step-time-single-{TAG}.txt").write_text(report + "\n")
    # a generous bound (it was 1.4 s a step): the page must not redraw what did not change
    assert statistics.median(seconds) < 1.0, report

    # move a slider as a user does, clicking its track half-way: oversight intensity
    lever = page.locator(".lever", has_text=app.label("oversight.intensity"))
    track = lever.locator(".v-slider").bounding_box()
    page.mouse.click(track["x"] + track["width"] / 2, track["y"] + track["height"] / 2)
    value = float(lever.locator("[role=slider]").get_attribute("aria-valuenow"))
    assert 0.4 < value < 0.6, value
    lever.locator(".lever-value", has_text=app.shown(value)).wait_for()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text(f"oversight.intensity = {value}").wait_for()
    assert all(url.startswith(server) for url in page.requested), [
        url for url in page.requested if not url.startswith(server)
    ]
    # nor does the server fetch for the page (it fetched KaTeX from a CDN, for Markdown)
    assert "Could not load URL" not in (ARTEFACTS / "solara-server.log").read_text()


def test_compare_mode_fits_a_small_screen(open_page):
    """At 1280x720 the compare table (A, B, B - A) is on screen without scrolling, and B's
    value slider has room beside its label."""
    page = open_page(1280, 720)
    seed = page.get_by_label("Seed")
    seed.fill("seven")
    seed.press("Enter")
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Bad input: seed = 'seven' must be a whole number >= 0.").wait_for()
    expect_no_error(page)
    seed.fill("7")
    seed.press("Enter")
    page.locator(".v-select", has_text="Dated events").click()
    page.locator(".v-list-item", has_text="seed_timeline").click()
    page.locator(".v-select", has_text="Compare: the lever").click()
    page.locator(".v-list-item", has_text="incentives.publication_weight").click()
    b_value = page.locator(".lever", has_text="B's")
    b_value.get_by_text(f"B's {app.label('incentives.publication_weight')}: 1").wait_for()
    assert b_value.locator(".v-slider").bounding_box()["width"] > 200
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Setting B: the same with incentives.publication_weight = 1.0").wait_for()
    seconds = [step(page, k, 80) for k in range(1, 6)]
    report = f"a step on the page in compare mode: median {statistics.median(seconds):.3f} s"
    print(report)
    (ARTEFACTS / f"step-time-compare-{TAG}.txt").write_text(report + "\n")
    expect_no_error(page)
    rows = table(page)
    assert rows[0] == ["so far", "A", "B", "B - A"] and len(rows) == 1 + len(app.SUMMARY)
    box = page.locator(".summary-table").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720, box
    assert page.get_by_role("button", name="Step").is_enabled()
    page.screenshot(path=ARTEFACTS / f"dashboard-compare-1280x720-{TAG}.png")
    # the page scrolls inside its own frame: a tall window shows it whole
    page.set_viewport_size({"width": 1600, "height": 2000})
    page.wait_for_timeout(500)
    box = page.locator(".summary-table").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 2000, box
    page.screenshot(path=ARTEFACTS / f"dashboard-compare-{TAG}.png")


def test_each_browser_session_has_its_own_model(open_page):
    """A second session opened on the first one's model, at its step."""
    first = open_page(1280, 900)
    for k in range(1, 4):
        step(first, k, 80)
    second = open_page(1280, 900)  # waits for "Step 0 of 80"
    assert "Step 3 of 80" not in second.inner_text("body")
    step(second, 1, 80)
    step(first, 4, 80)
    assert "Step 1 of 80," in second.inner_text("body")
