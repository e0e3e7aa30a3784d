"""The App in a real browser: the operator's form, its output, the curves
panel, a click on a curve.

Starts the App on loopback in a subprocess (with the tests' plugins directory
and database) and drives Debian's Chromium with Playwright. Screenshots go to
``tests/artifacts/``. There is no skip: if the browser cannot start, the test
fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from fiftyone import ViewField as F

from database import stop_process
from optimal_confidence import compute_optimal_confidence
from optimal_confidence.demo import make_demo_dataset

pytestmark = pytest.mark.browser

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(HERE, "artifacts")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NAME = "oc-browser"

# Serves the App until killed; prints READY once the server answers
_APP_SCRIPT = """
import sys
import fiftyone as fo
session = fo.launch_app(
    fo.load_dataset(sys.argv[1]), port=int(sys.argv[2]), address="127.0.0.1",
    remote=True,
)
print("READY", flush=True)
session.wait(-1)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_http(url: str, proc: subprocess.Popen, log_path: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(log_path) as f:
                raise RuntimeError(f"The App exited with {proc.returncode}:\n{f.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    with open(log_path) as f:
        raise RuntimeError(f"The App did not answer at {url} in {timeout} s:\n{f.read()[-3000:]}")


@pytest.fixture(scope="module")
def browser_dataset(tmp_path_factory):
    # persistent: the App runs in another process
    ds = make_demo_dataset(
        NAME,
        num_samples=30,
        seed=3,
        images_dir=str(tmp_path_factory.mktemp("images")),
        overwrite=True,
        persistent=True,
    )
    yield ds
    ds.delete()


@pytest.fixture
def app_url(browser_dataset):
    """The URL of an App serving ``browser_dataset`` on loopback; one App per
    test, as the App's session keeps the panels a test opened."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    port = _free_port()
    log_path = os.path.join(ARTIFACTS, "app.log")
    env = dict(
        os.environ,  # the tests' FIFTYONE_PLUGINS_DIR and database name
        # the sidebar shows label counts only without query performance mode
        FIFTYONE_APP_ENABLE_QUERY_PERFORMANCE="false",
        FIFTYONE_APP_DEFAULT_QUERY_PERFORMANCE="false",
    )
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _APP_SCRIPT, browser_dataset.name, str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_http(url, proc, log_path)
        yield url
    finally:
        stop_process(proc, timeout=20)


def _shot(page, name: str) -> None:
    page.screenshot(path=os.path.join(ARTIFACTS, name))


def _dismiss_popup(page, wait: float = 0) -> None:
    """Closes the App's "Explore Enterprise" popup, which covers the page."""
    button = page.get_by_role("button", name="Dismiss")
    try:
        button.first.wait_for(timeout=wait * 1000 if wait else 1)
    except Exception:
        return
    if button.first.is_visible():
        button.first.click()


def _label_count(page) -> int:
    """The number of predictions the App's sidebar shows for the view."""
    count = page.locator(
        "[data-cy='sidebar-field-container-predictions'] [data-cy^='entry-count']"
    ).first
    count.wait_for(timeout=30_000)
    text = count.inner_text()
    numbers = [int(n.replace(",", "")) for n in re.findall(r"[\d,]+", text)]
    assert numbers, f"No count in {text!r}"
    return numbers[0]


def _wait_until(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # the page is still updating
            last = e
        time.sleep(0.25)
    raise AssertionError(f"Timed out waiting for {what}; last: {last!r}")


def _router_race(error) -> bool:
    """FiftyOne 1.22.1's App router throws "entry is loading" from
    ``history.replaceState`` when the URL is replaced while its previous
    route entry still loads (a view set while the last one loads). It is
    the App's own race, seen now and then in these tests since the panel
    sends more (also on the commit before this check, in the test of
    compared models); the page keeps working, which the test's next steps
    check. Any other page error fails the test."""
    return str(error) == "entry is loading" and "replaceState" in (error.stack or "")


@contextlib.contextmanager
def _app_page(app_url: str, dataset, profile: str, height: int):
    """A page of the App on ``dataset`` in headless Chromium, with the
    predictions field expanded in the sidebar; yields ``(page, before)``
    (the sidebar's prediction count). Fails the test on any page error."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": height},
        )
        errors = []
        try:
            page = context.new_page()
            page.on("pageerror", lambda e: None if _router_race(e) else errors.append(str(e)))
            page.on("crash", lambda: errors.append("the page crashed"))
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)

            page.goto(f"{app_url}/datasets/{dataset.name}")
            page.get_by_text(f"{len(dataset)} samples", exact=True).wait_for()
            _dismiss_popup(page, wait=5)
            # the sidebar shows a field's count once the field is expanded
            page.locator("[data-cy='sidebar-field-arrow-enabled-predictions']").click()
            yield page, _label_count(page)
        finally:
            context.close()
    assert errors == []


def test_operator_panel_and_click_in_the_app(browser_dataset, app_url, tmp_path):
    from playwright.sync_api import expect

    ds = browser_dataset
    expected = compute_optimal_confidence(ds, "predictions")
    num_preds = ds.count("predictions.detections")

    with _app_page(app_url, ds, str(tmp_path / "profile"), 1000) as (page, before):
        assert before == num_preds
        _shot(page, "01-app.png")

        # the operator browser, the form, Execute
        execute = _open_the_operator_form(page)
        page.wait_for_timeout(1_000)
        _shot(page, "02-operator-form.png")
        execute.click()

        # the output: the best threshold
        page.get_by_text("Best threshold:").wait_for()
        output = page.get_by_text("Best threshold:").locator("xpath=..").inner_text()
        shown = float(re.search(r"Best threshold:\s*([-\d.e]+)", output).group(1))
        assert shown == pytest.approx(expected.best_threshold)
        _shot(page, "03-operator-output.png")
        page.get_by_role("button", name="Close").click()

        # the panel opened on the new run, with drawn curves
        panel = page.locator(".js-plotly-plot")
        # the curves, the PR curve and the reliability diagram
        _wait_until(lambda: panel.count() == 3, 60, "the panel's three plots")
        # one under the other, the selection and its buttons between them
        # (with a bare number as its height a plot's box was as tall as
        # the whole panel)
        top, below = panel.nth(0).bounding_box(), panel.nth(1).bounding_box()
        assert top["height"] == below["height"] == 360
        assert 0 <= below["y"] - (top["y"] + top["height"]) < 300
        line = panel.first.locator(".scatterlayer .trace path.js-line").first
        _wait_until(
            lambda: len(line.get_attribute("d") or "") > 50, 60, "a drawn curve"
        )
        page.get_by_text(
            re.compile(r"Best threshold " + re.escape(f"{expected.best_threshold:.4g}"))
        ).wait_for()
        assert page.get_by_text("optimal_confidence", exact=True).count() >= 1
        _shot(page, "04-panel.png")

        # click a point of the threshold plot, right of the best one:
        # fewer predictions are kept
        t, kept, total = _click_the_curve(page, panel.first, 0.8)
        assert total == num_preds and kept < total

        # the App's view: the predictions kept there, all samples
        # the sidebar may show a count on the way (the view loads)
        _wait_until(
            lambda: _label_count(page) == kept, 60,
            f"the sidebar to count the {kept} predictions kept",
        )
        assert page.get_by_text(f"{len(ds)} samples").count() >= 1
        # the panel shows 4 significant digits of the threshold clicked
        exact = expected.thresholds[abs(expected.thresholds - t).argmin()]
        assert kept == ds.filter_labels(
            "predictions", F("confidence") >= exact, only_matches=False
        ).count("predictions.detections")
        page.wait_for_timeout(3_000)  # the grid reloads its images
        _shot(page, "05-after-click.png")

        # save the view: once, under the field and the threshold
        page.get_by_role("button", name="Save this view").click()
        page.get_by_text(re.compile(r"Saved view 'predictions@")).first.wait_for()
        ds.reload()  # the App's process saved it
        saved = [v for v in ds.list_saved_views() if v.startswith("predictions@")]
        assert len(saved) == 1
        assert ds.load_saved_view(saved[0]).count("predictions.detections") == kept

        # a new sweep from the panel's button shows in that panel
        page.get_by_role("button", name="New sweep").click()
        execute = page.get_by_role("button", name="Execute")
        expect(execute).to_be_enabled()
        execute.click()
        page.get_by_text("Stored as run:").wait_for()
        page.get_by_role("button", name="Close").click()
        page.get_by_text("optimal_confidence_2", exact=True).wait_for()
        assert panel.count() == 3  # still one panel
        _shot(page, "06-new-sweep-from-panel.png")



def test_panel_per_class_table_band_and_interval(browser_dataset, app_url, tmp_path):
    """A stored result with per-class thresholds and bootstrap intervals,
    opened from the "+" tab: the table, the interval, a review band shaded
    on the plot, and the per-class view applied in the App."""

    ds = browser_dataset
    result = compute_optimal_confidence(
        ds,
        "predictions",
        per_class=True,
        min_support=1,
        n_bootstrap=200,
        seed=0,
        run_key="per_class_browser",
        overwrite=True,
    )
    kept = result.view(ds).count("predictions.detections")
    assert kept < ds.count("predictions.detections")

    with _app_page(app_url, ds, str(tmp_path / "profile"), 1900) as (page, before):

        # a new panel from the "+" tab, on the newest run: this one
        page.locator("[data-cy='new-panel-btn']").first.click()
        page.get_by_text("Confidence curves", exact=True).first.click()
        page.get_by_text("Per-class thresholds", exact=True).wait_for()
        for label, choice in result.class_choices.items():
            row = page.locator("tr", has_text=label).first
            assert f"{choice.threshold:.4g}" in row.inner_text()
        page.get_by_text(re.compile(r"95% interval of the threshold")).wait_for()

        # the review band, shaded on the threshold plot (beside the
        # interval's shading)
        plot = page.locator(".js-plotly-plot").first
        shapes = plot.locator(".shapelayer path")
        _wait_until(lambda: shapes.count() >= 1, 30, "the interval's shading")
        shaded = shapes.count()
        # the input under the label (the App does not tie them)
        precision = page.get_by_text("Precision of the accepted set").locator(
            "xpath=ancestor::*[.//input][1]//input"
        ).first
        precision.fill("0.95")
        precision.press("Tab")
        page.wait_for_timeout(500)  # the App sends the input's change
        page.get_by_role("button", name="Find the band").click()
        band = result.review_band(0.95, 0.05)
        assert band.review > 0 and band.t_low < band.t_high
        page.get_by_role(
            "button", name=f"Show the {band.review} predictions to review"
        ).wait_for()
        _wait_until(lambda: shapes.count() > shaded, 30, "the shaded band")
        page.get_by_text(re.compile(r"review", re.I)).last.scroll_into_view_if_needed()
        page.wait_for_timeout(1_000)
        _shot(page, "07-panel-per-class-band.png")

        # the per-class view in the App
        page.get_by_role("button", name="Show the per-class view").click()
        # the sidebar may show a count on the way (the view loads)
        _wait_until(
            lambda: _label_count(page) == kept, 60,
            f"the sidebar to count the {kept} predictions kept",
        )
        page.get_by_text(re.compile(rf"{kept} of \d+ predictions kept")).wait_for()
        _shot(page, "08-per-class-view.png")

        # the predictions to review: on their images only
        page.get_by_role(
            "button", name=f"Show the {band.review} predictions to review"
        ).click()
        _wait_until(
            lambda: _label_count(page) == band.review, 60,
            "the sidebar to count the predictions to review",
        )
        page.get_by_text(f"{band.review_images} of {len(ds)} samples").or_(
            page.get_by_text(f"{band.review_images} samples")
        ).first.wait_for()



def _open_the_operator_form(page):
    """The operator browser, then the form with its defaults resolved;
    returns the (enabled) Execute button."""
    from playwright.sync_api import expect

    _dismiss_popup(page)
    page.keyboard.press("`")
    page.keyboard.type("optimal")
    page.get_by_text("Find the optimal confidence threshold").first.click()
    execute = page.get_by_role("button", name="Execute")
    page.get_by_text("Predictions field", exact=True).wait_for()
    expect(execute).to_be_enabled()  # the form resolved its defaults
    return execute


def _run_operator_from_the_app(page):
    """The operator browser, the form's defaults, Execute, Close."""
    _open_the_operator_form(page).click()
    page.get_by_text("Stored as run:").wait_for()
    page.get_by_role("button", name="Close").click()


def _panel_box(page):
    """The Confidence curves panel's box: the scrolling box around its
    plots."""
    return page.evaluate(
        """() => {
            let el = document.querySelector('.js-plotly-plot').parentElement;
            while (el && !['auto', 'scroll'].includes(getComputedStyle(el).overflowY))
                el = el.parentElement;
            const r = el.getBoundingClientRect();
            return {x: r.x, y: r.y, width: r.width, height: r.height};
        }"""
    )


_PANEL_BOX_JS = """(() => {
    let el = document.querySelector('.js-plotly-plot').parentElement;
    while (el && !['auto', 'scroll'].includes(getComputedStyle(el).overflowY))
        el = el.parentElement;
    return el;
})()"""


def _click_the_curve(page, plot, at: float):
    """Clicks the threshold plot at ``at`` of its width; returns the
    threshold the panel shows, the predictions it says are kept and their
    total."""
    drag = plot.locator(".nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    x, y = box["x"] + box["width"] * at, box["y"] + box["height"] * 0.5
    selection = page.get_by_text(re.compile(r"\d+ of \d+ predictions kept"))
    # (a run selected its best already: wait for the counts to change)
    before = selection.inner_text() if selection.count() else None

    def changed():
        return selection.count() and selection.inner_text() != before and selection.inner_text()

    page.mouse.move(x, y)
    page.mouse.click(x, y)
    try:
        text = _wait_until(changed, 20, "the counts at the threshold clicked")
    except AssertionError:  # on a loaded machine the plot may still redraw and drop the click
        page.mouse.click(x, y)
        text = _wait_until(changed, 30, "the counts at the threshold clicked (clicked twice)")
    t = float(re.search(r"At threshold ([-\d.e]+)", text).group(1))
    kept, total = (int(n) for n in re.search(r"(\d+) of (\d+) predictions kept", text).groups())
    return t, kept, total


def _clipped(page, box):
    """Buttons and inputs of the panel that reach past its right edge."""
    return page.evaluate(
        """(box) => {
            const right = box.x + box.width + 1;
            const out = [];
            for (const el of document.querySelectorAll('button, input')) {
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.x < box.x) continue;
                if (r.x + r.width > right) out.push((el.innerText || el.name || el.id) + ' ' + (r.x + r.width));
            }
            return out;
        }""",
        box,
    )


def test_one_panel_threshold_box_objective_switch_in_the_app(browser_dataset, app_url, tmp_path):
    """Two runs from the App leave one panel, showing the second; the mouse
    wheel scrolls the panel instead of zooming a plot; a typed threshold and
    the objective switch set the App's view and the counts; at 1280 and
    1920 px nothing of the panel is clipped."""
    from optimal_confidence import suggest_run_key

    ds = browser_dataset
    ds.reload()
    first = suggest_run_key(ds)
    with _app_page(app_url, ds, str(tmp_path / "profile"), 800) as (page, before):
        page.set_viewport_size({"width": 1280, "height": 800})
        _run_operator_from_the_app(page)
        plots = page.locator(".js-plotly-plot")
        _wait_until(lambda: plots.count() == 3, 60, "the panel's three plots")
        page.wait_for_timeout(1_500)
        _shot(page, "panel-1280x800-after-run.png")
        # at 1280x800 the first plot is in sight without scrolling, the
        # panel's scroll box ends in the window, the content keeps off its
        # right edge
        box, top = _panel_box(page), plots.first.bounding_box()
        assert page.evaluate(f"() => {_PANEL_BOX_JS}.scrollTop") == 0
        assert box["y"] <= top["y"] and top["y"] + 200 < 800, (top, box)
        assert box["y"] + box["height"] <= 800, box
        assert box["x"] + box["width"] - (top["x"] + top["width"]) > 0, (top, box)

        # a click on the curve, then Export: the file holds that threshold
        t, kept, _ = _click_the_curve(page, plots.first, 0.8)
        expected = compute_optimal_confidence(ds, "predictions")
        exact = float(expected.thresholds[abs(expected.thresholds - t).argmin()])
        # the App sends the box's change after the click's: let it settle
        page.wait_for_timeout(1_500)
        export = page.get_by_role("button", name=f"Export threshold {exact:.4g}")
        export.click()
        said = page.locator("p", has_text="Exported threshold").first
        said.wait_for()
        path = re.search(r"to (\S+\.json)", said.inner_text()).group(1)
        with open(path) as f:
            written = json.load(f)
        os.remove(path)  # written by the App's process, in its export folder
        assert written["threshold"] == exact != expected.best_threshold
        assert written["chosen"]["threshold"] == expected.best_threshold
        # what it did, in sight next to the button
        said_box = said.bounding_box()
        assert 0 <= said_box["y"] and said_box["y"] + 20 < 800, said_box
        assert said_box["y"] - export.bounding_box()["y"] < 120
        _shot(page, "panel-after-export.png")

        ds.reload()
        second = suggest_run_key(ds)
        assert second != first
        _run_operator_from_the_app(page)
        page.get_by_text(second, exact=True).first.wait_for()
        page.wait_for_timeout(1_500)
        # the new run's best is selected: its counts, the box, the view
        best = expected.best_threshold
        page.get_by_text(re.compile(rf"At threshold {re.escape(f'{best:.4g}')}\b")).first.wait_for()
        page.get_by_role("button", name=f"Export threshold {best:.4g}").wait_for()
        kept_best = int((expected.records.pred_conf >= best).sum())
        _wait_until(lambda: _label_count(page) == kept_best, 60, f"the sidebar to count {kept_best}")
# (the box's state is the new best too, see test_panel.py; the App's
        # number input may still draw the value typed before: FiftyOne's)
        tabs = page.get_by_text("Confidence curves", exact=True)
        assert tabs.count() == 1, f"{tabs.count()} Confidence curves panels"
        assert plots.count() == 3

        # the plots fill the panel; the wheel scrolls, it does not zoom
        box = _panel_box(page)
        plot = plots.first.bounding_box()
        assert plot["width"] > 0.85 * box["width"], (plot, box)
        ranges = "() => document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range"
        before_range = page.evaluate(ranges)
        page.mouse.move(plot["x"] + plot["width"] / 2, plot["y"] + plot["height"] / 2)
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(500)
        assert page.evaluate(ranges) == before_range
        _shot(page, "09-panel-1280.png")
        assert _clipped(page, box) == []

        # a typed threshold: the view and the counts follow
        t = 0.7
        kept = ds.filter_labels("predictions", F("confidence") >= t, only_matches=False).count(
            "predictions.detections"
        )
        box_input = page.get_by_text("Type a threshold").locator(
            "xpath=ancestor::*[.//input][1]//input"
        ).first
        box_input.fill(str(t))
        box_input.press("Tab")
        page.get_by_text(re.compile(rf"{kept} of \d+ predictions kept")).wait_for()
        page.wait_for_timeout(2_000)  # the App loads the view
        _wait_until(lambda: _label_count(page) == kept, 60, f"the sidebar to count {kept}")

        # the objective switch: a precision target, chosen again from the
        # stored curves; the view follows the new choice
        strict = compute_optimal_confidence(ds, "predictions").with_objective("precision", target=0.9)
        page.get_by_text("Choose by", exact=True).first.locator(
            "xpath=ancestor::*[.//*[@role='combobox']][1]//*[@role='combobox']"
        ).first.click()
        page.get_by_role("option", name="Precision target").click()
        target = page.get_by_text("For example 0.9").locator("xpath=ancestor::*[.//input][1]//input").first
        target.fill("0.9")
        target.press("Tab")
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Choose again").click()
        page.get_by_text(re.compile(r"by recall at precision >= 0\.9")).first.wait_for()
        kept = int((strict.records.pred_conf >= strict.best_threshold).sum())
        _wait_until(lambda: _label_count(page) == kept, 60, f"the sidebar to count {kept}")

        page.set_viewport_size({"width": 1920, "height": 1000})
        page.wait_for_timeout(1_500)
        box = _panel_box(page)
        assert plots.first.bounding_box()["width"] > 0.85 * box["width"]
        _shot(page, "10-panel-1920.png")
        assert _clipped(page, box) == []


def test_panel_overlays_compared_models_and_evaluates_in_the_app(browser_dataset, app_url, tmp_path):
    """A comparison of two models stored from Python: the panel overlays
    them with their table, and "Evaluate at the chosen threshold" stores an
    evaluation FiftyOne loads, whose sums are the panel's counts."""
    from optimal_confidence import compare_models

    ds = browser_dataset
    cmp = compare_models(ds, ["predictions", "baseline"], run_key="browser_cmp", overwrite=True)
    shown = cmp.results["baseline"]  # stored last: the newest run
    ds.reload()
    evals = set(ds.list_evaluations())
    try:
        with _app_page(app_url, ds, str(tmp_path / "profile"), 1400) as (page, before):
            page.locator("[data-cy='new-panel-btn']").first.click()
            page.get_by_text("Confidence curves", exact=True).first.click()
            page.get_by_text("Models compared").first.wait_for()
            plots = page.locator(".js-plotly-plot")
            # the curves, the two overlays and the reliability diagram
            _wait_until(lambda: plots.count() == 5, 60, "the panel's plots and the two overlays")
            # each overlay draws both models' lines
            names = page.evaluate(
                "() => document.querySelectorAll('.js-plotly-plot')[2].data"
                ".filter(t => t.mode === 'lines').map(t => t.name)"
            )
            assert names == ["predictions", "baseline"]
            page.get_by_text("Models compared").first.scroll_into_view_if_needed()
            page.wait_for_timeout(1_000)
            _shot(page, "11-panel-compared.png")

            page.get_by_role(
                "button", name=f"Evaluate at the chosen threshold {shown.best_threshold:.4g}"
            ).click()
            page.get_by_text(re.compile(r"Stored FiftyOne's evaluation")).first.wait_for()
            ds.reload()
            (key,) = set(ds.list_evaluations()) - evals
            assert key == "browser_cmp_baseline_eval"
            counts = tuple(int(ds.sum(f"{key}_{k}")) for k in ("tp", "fp", "fn"))
            assert counts == (shown.best_tp, shown.best_fp, shown.best_fn)
            said = page.get_by_text(re.compile(rf"TP {counts[0]}, FP {counts[1]}, FN {counts[2]}")).first
            said.wait_for()
            said.scroll_into_view_if_needed()
            assert ds.load_evaluation_results(key).report()
            _shot(page, "12-panel-evaluated.png")
    finally:
        ds.reload()
        for key in set(ds.list_evaluations()) - evals:
            ds.delete_evaluation(key)
        for key in ("browser_cmp_predictions", "browser_cmp_baseline"):
            if key in ds.list_runs():
                ds.delete_run(key)
