"""The curves panel's callbacks, through ``execute_operator`` with the params
the App sends (see docs/DESIGN.md), and the operator opening the panel.
"""

import copy

import numpy as np
import pydash
import pytest

import fiftyone as fo
import fiftyone.operators as foo
from fiftyone import ViewField as F
from fiftyone.operators.delegated import DelegatedOperationService

from optimal_confidence import apply_thresholds, compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.plots import threshold_id

from helpers import oracle_counts, random_dataset_with_operations, snapshot
from test_plots import make_classification_dataset, recount_multiclass

PLUGIN = "@threshold-lab/optimal_confidence"
PANEL = f"{PLUGIN}/confidence_curves"
OPERATOR = f"{PLUGIN}/optimal_confidence"


class AppPanel:
    """What the App keeps of one open panel: its state and data, patched by
    the operations the panel triggers and sent back with every event."""

    def __init__(self, dataset, panel_id="panel-1"):
        self.dataset = dataset
        self.panel_id = panel_id
        self.state = {}
        self.data = {}
        self.output = None
        self.requests = []

    def event(self, method, **params):
        result = foo.execute_operator(
            PANEL,
            ctx=dict(
                dataset=self.dataset,
                params=dict(
                    __method__=method,
                    panel_id=self.panel_id,
                    panel_state=copy.deepcopy(self.state),
                    **params,
                ),
            ),
        )
        self.requests = [(r.operator_uri, r.params) for r in result.executor._requests]
        for uri, p in self.requests:
            if uri == "patch_panel_state":
                for k, v in p["state"].items():
                    pydash.set_(self.state, k, v)
            elif uri == "patch_panel_data":
                for k, v in p["data"].items():
                    pydash.set_(self.data, k, v)
            elif uri == "show_panel_output":
                self.output = p["output"]
        return self.requests

    def triggered(self, uri):
        return [p for u, p in self.requests if u == uri]

    def prop(self, path):
        """A property of the rendered panel, by its path."""
        node = self.output
        for name in path.split("."):
            node = node["type"]["properties"][name]
        return node

    def click(self, plot, point):
        """A click on a point of a plot, as the App's PlotlyView sends it."""
        stack = "plots_pr" if plot == "pr" else "plots"
        trace_idx, trace = next(
            (i, t) for i, t in enumerate(self.data[stack][plot]) if point in t["ids"]
        )
        idx = trace["ids"].index(point)
        return self.event(
            "on_click_curve",
            event="onClick",
            path=f"{stack}.{plot}",
            relative_path=plot,
            id=point,
            x=trace["x"][idx],
            y=trace["y"][idx],
            idx=idx,
            trace=trace["name"],
            trace_idx=trace_idx,
            shift_pressed=False,
        )


@pytest.fixture
def panel_dataset():
    with random_dataset_with_operations("oc-panel", num_samples=30, seed=7) as ds:
        yield ds


def _view_of(request, dataset):
    """The view a ``set_view`` request loads."""
    return fo.DatasetView._build(dataset, request["view"])


def test_without_runs_the_panel_says_so_and_offers_the_operator(panel_dataset):
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert panel.state["runs"] == []
    assert "No results yet" in panel.prop("empty")["default"]
    button = panel.prop("run_operator")["view"]
    assert button["operator"] == f"{PANEL}#on_click_run"

    panel.event("on_click_run")
    (prompt,) = panel.triggered("prompt_user_for_operation")
    assert prompt["operator_uri"] == OPERATOR
    assert prompt["on_success"] == f"{PANEL}#on_run_success"


def test_loading_a_run_sends_its_curves(panel_dataset):
    older = compute_optimal_confidence(panel_dataset, "predictions", run_key="older")
    newer = compute_optimal_confidence(
        panel_dataset, "logits", iou=0.6, run_key="newer"
    )
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    # newest first, and the newest is shown
    assert panel.state["runs"] == ["newer", "older"]
    assert panel.state["controls"]["run_key"] == "newer"
    assert panel.state["info"]["best_threshold"] == newer.best_threshold
    curves = panel.data["plots"]["threshold"]
    assert [t["name"] for t in curves] == ["Precision", "Recall", "F1", "best F1"]
    assert curves[2]["x"] == newer.thresholds.tolist()
    assert curves[2]["y"] == newer.f1.tolist()
    assert panel.data["plots_pr"]["pr"][0]["x"] == newer.recall.tolist()
    # plots as wide as the panel (plotly follows its box), a height in CSS
    # pixels (the App reads a bare number as a percentage of the panel), no
    # zoom on the mouse wheel (it scrolls the panel), layouts in the state
    for path in ("plots.threshold", "plots_pr.pr"):
        plot = panel.prop(path)["view"]
        assert plot["width"] == "100%" and plot["height"].endswith("px")
        assert int(plot["height"][:-2]) > 200
        assert plot["on_click"] == f"{PANEL}#on_click_curve"
        assert plot["layout"]["height"] == int(plot["height"][:-2])
        name = path.split(".")[1]
        assert "width" not in plot["layout"]
        assert plot["config"]["scrollZoom"] is False and plot["config"]["responsive"] is True
    assert f"Best threshold {newer.best_threshold:.4g}" in panel.prop("summary")["default"]

    # choosing the other run in the selector
    panel.event("on_change_run", path="controls.run_key", value="older")
    assert panel.state["controls"]["run_key"] == "older"
    assert panel.data["plots"]["threshold"][2]["y"] == older.f1.tolist()

    # opened by the operator on a given run
    other = AppPanel(panel_dataset, panel_id="panel-2")
    other.state = {"open_run": "older"}
    other.event("on_load")
    assert other.state["controls"]["run_key"] == "older"
    assert other.state["open_run"] is None


def test_class_selector_sends_that_class_curves(panel_dataset):
    result = compute_optimal_confidence(panel_dataset, "predictions", run_key="r")
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    choices = [c["value"] for c in panel.prop("controls.class_name")["view"]["choices"]]
    assert choices == ["__all__"] + result.classes

    label = result.classes[1]
    panel.event("on_change_class", path="controls.class_name", value=label)
    assert panel.state["controls"]["class_name"] == label
    counts = result.class_counts()[label]
    custom = panel.data["plots"]["threshold"][2]["customdata"]
    assert [c[4] for c in custom] == counts.tp.tolist()
    assert [c[6] for c in custom] == counts.fn.tolist()


def test_click_sets_the_view_to_the_run_target_filtered_at_the_threshold(panel_dataset):
    target = panel_dataset.skip(5).limit(20)
    result = compute_optimal_confidence(target, "predictions", run_key="on_view")
    panel = AppPanel(panel_dataset)
    panel.event("on_load")

    t = float(result.thresholds[len(result.thresholds) // 2])
    panel.click("threshold", threshold_id(t))
    (request,) = panel.triggered("set_view")
    view = _view_of(request, panel_dataset)
    expected = target.filter_labels(
        "predictions", F("confidence") >= t, only_matches=False
    )
    assert view._serialize(include_uuids=False) == expected._serialize(include_uuids=False)
    assert len(view) == 20
    assert view.count("predictions.detections") == expected.count("predictions.detections")

    # the counts at the threshold, in the panel
    tp, fp, fn = result.counts_at(t)
    selected = panel.state["selected"]
    assert (selected["threshold"], selected["tp"], selected["fp"], selected["fn"]) == (t, tp, fp, fn)
    assert selected["kept"] == expected.count("predictions.detections")
    assert f"At threshold {t:.4g}" in panel.prop("selection")["default"]
    # the clicked threshold is marked on the plot
    shapes = panel.state["layouts"]["threshold"]["shapes"]
    assert [s["x0"] for s in shapes] == [result.best_threshold, t]
    assert not panel.prop("actions.save_view")["view"]["disabled"]

    # a click on the PR curve (x is the recall there) selects by the id
    t2 = float(result.thresholds[-1])
    panel.click("pr", threshold_id(t2))
    assert panel.state["selected"]["threshold"] == t2
    # a click on the threshold plot without an id uses x
    panel.event("on_click_curve", path="plots.threshold", x=t, y=0.5)
    assert panel.state["selected"]["threshold"] == t

    # the best threshold, and back to all predictions of the target
    panel.event("on_click_best")
    assert panel.state["selected"]["threshold"] == result.best_threshold
    assert _view_of(panel.triggered("set_view")[0], panel_dataset).count(
        "predictions.detections"
    ) == int((result.records.pred_conf >= result.best_threshold).sum())
    panel.event("on_click_reset")
    assert panel.state["selected"] is None
    assert len(_view_of(panel.triggered("set_view")[0], panel_dataset)) == 20


def test_save_view_creates_it_once_and_never_overwrites(panel_dataset):
    result = compute_optimal_confidence(panel_dataset, "predictions", run_key="r")
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    panel.event("on_click_save")  # nothing selected yet
    assert panel_dataset.list_saved_views() == []
    assert "Click a threshold" in panel.state["message"]

    t = result.best_threshold
    panel.click("threshold", threshold_id(t))
    name = f"predictions@{t!r}"

    panel.event("on_click_save")
    panel_dataset.reload()
    assert panel_dataset.list_saved_views() == [name]
    saved = panel_dataset.load_saved_view(name)
    assert saved.count("predictions.detections") == int((result.records.pred_conf >= t).sum())
    assert panel.state["message"] == f"Saved view '{name}'."
    assert panel.triggered("notify")

    # the same view again: nothing new, nothing overwritten
    panel.event("on_click_save")
    panel_dataset.reload()
    assert panel_dataset.list_saved_views() == [name]
    assert "already saved" in panel.state["message"]

    # another view holds the name: a free name, the other view untouched
    panel_dataset.delete_saved_view(name)
    panel_dataset.save_view(name, panel_dataset.limit(3))
    panel.event("on_click_save")
    panel_dataset.reload()
    assert sorted(panel_dataset.list_saved_views()) == [name, f"{name} (2)"]
    assert len(panel_dataset.load_saved_view(name)) == 3
    assert f"'{name} (2)'" in panel.state["message"]


def test_operator_opens_the_panel_on_its_new_result(panel_dataset):
    before = snapshot(panel_dataset)
    result = foo.execute_operator(
        OPERATOR,
        ctx=dict(view=panel_dataset.view(), params=dict(pred_field="predictions", run_key="fresh")),
    )
    (opened,) = [r.params for r in result.executor._requests if r.operator_uri == "open_panel"]
    assert opened["name"] == "confidence_curves"
    assert opened["state"] == {"open_run": "fresh"}
    # nothing else changed but the new run
    after = snapshot(panel_dataset)
    assert after["runs"] == before["runs"] + ["fresh"]

    # started from a panel (its "New sweep" button): that panel shows it
    result = foo.execute_operator(
        OPERATOR,
        ctx=dict(
            view=panel_dataset.view(),
            params=dict(pred_field="predictions", run_key="from_panel", panel_id="panel-1", panel_state={}),
        ),
    )
    assert not [r for r in result.executor._requests if r.operator_uri == "open_panel"]
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    panel.event("on_run_success", result=result.result, original_params={})
    assert panel.state["controls"]["run_key"] == "from_panel"
    assert load_optimal_confidence(panel_dataset, "from_panel").best_threshold == (
        panel.state["info"]["best_threshold"]
    )

    # a delegated run opens nothing and runs to completion
    queued = foo.execute_operator(
        OPERATOR,
        ctx=dict(view=panel_dataset.view(), params=dict(pred_field="logits", run_key="later")),
        request_delegation=True,
    )
    assert not [r for r in queued.executor._requests if r.operator_uri == "open_panel"]
    svc = DelegatedOperationService()
    svc.execute_queued_operations(operator=OPERATOR, dataset_name=panel_dataset.name)
    panel_dataset.reload()
    assert "later" in panel_dataset.list_runs()
    # a panel told of a delegated run keeps its run and says when it appears
    panel.event("on_run_success", result={"id": queued.result["id"]}, original_params={})
    assert panel.state["controls"]["run_key"] == "from_panel"
    assert "scheduled" in panel.state["message"]


# ---------------------------------------------------------------------------
# Objectives, per-class thresholds, the review band, intervals, classification


def _shape(panel, name):
    shapes = panel.state["layouts"]["threshold"]["shapes"]
    return [s for s in shapes if s["name"] == name]


def test_objective_point_and_per_class_table(panel_dataset):
    target = panel_dataset.skip(2)
    f1 = compute_optimal_confidence(target, "predictions", progress=False)
    result = compute_optimal_confidence(
        target, "predictions", objective="recall", target=0.5, per_class=True,
        min_support=20, run_key="pc", progress=False,
    )
    panel = AppPanel(panel_dataset)
    panel.event("on_load")

    # the point the objective chose, not the best F1
    assert result.best_threshold != f1.best_threshold
    marker = panel.data["plots"]["threshold"][-1]
    assert marker["name"] == "best precision at recall >= 0.5"
    assert marker["x"] == [result.best_threshold]
    assert marker["y"] == [result.best_precision]
    assert marker["text"][0].startswith(f"precision at recall >= 0.5 = {result.best_score:.3f}")
    assert [s["x0"] for s in _shape(panel, "best")] == [result.best_threshold]
    assert [s["y0"] for s in _shape(panel, "target")] == [0.5]
    summary = panel.prop("summary")["default"]
    assert (
        f"Best threshold {result.best_threshold:.4g}** by precision at recall >= 0.5 "
        f"= {result.best_score:.3f}" in summary
    )

    # the table: one row per class choice, the fallbacks with their reason
    choices = result.class_choices
    assert {ch.own for ch in choices.values()} == {True, False}
    rows = panel.state["class_table"]
    assert [
        (r["class"], r["threshold"], r["support"], r["own"]) for r in rows
    ] == [(c.label, c.threshold, c.support, c.own) for c in choices.values()]
    for r, c in zip(rows, choices.values()):
        assert r["score"] == (None if np.isnan(c.score) else c.score)
        assert r["note"] == ("" if c.own else f"global threshold: {c.reason}")
    table = panel.prop("class_table_text")["default"]
    for c in choices.values():
        assert f"| {c.label} | {c.threshold:.4g} | {c.support} |" in table
    # the totals of the per-class operating point, against the oracle on the
    # per-class view of the run's target
    per_class_view = result.view(target)
    tp, fp, fn = oracle_counts(per_class_view, "predictions", "ground_truth", -1e9)
    op = panel.state["operating"]
    assert (op["tp"], op["fp"], op["fn"]) == (tp, fp, fn)
    assert f"TP {tp}, FP {fp}, FN {fn}" in table

    # show the per-class view: the run's target, each class at its threshold
    panel.event("on_click_per_class_view")
    (request,) = panel.triggered("set_view")
    view = _view_of(request, panel_dataset)
    assert view._serialize(include_uuids=False) == per_class_view._serialize(include_uuids=False)
    assert len(view) == len(target)
    kept = view.values("predictions.detections", unwind=True)
    assert len(kept) == tp + fp
    for d in kept:
        assert d.confidence >= result.class_thresholds[d.label]
    # a click on the per-class point of the PR plot does the same
    panel.click("pr", "per-class")
    (request,) = panel.triggered("set_view")
    assert _view_of(request, panel_dataset).count("predictions.detections") == tp + fp

    # save it: once, under a clear name; another view holding the name is
    # left alone
    name = "predictions@per-class"
    panel_dataset.save_view(name, panel_dataset.limit(2))
    panel.event("on_click_save_per_class")
    panel.event("on_click_save_per_class")
    panel_dataset.reload()
    assert sorted(panel_dataset.list_saved_views()) == [name, f"{name} (2)"]
    assert len(panel_dataset.load_saved_view(name)) == 2
    saved = panel_dataset.load_saved_view(f"{name} (2)")
    assert saved.count("predictions.detections") == tp + fp
    assert "already saved" in panel.state["message"]
    assert "already saved" in panel.prop("per_class_message")["default"]
    assert "message_text" not in panel.output["type"]["properties"]


def test_review_band_is_shaded_and_shows_the_predictions_to_review(panel_dataset):
    target = panel_dataset.limit(25)
    result = compute_optimal_confidence(target, "predictions", run_key="r", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert panel.state["band_inputs"] == {"precision": 0.9, "max_lost": 0.05, "review_cost": None}
    assert panel.prop("band_inputs.precision")["type"]["name"] == "Number"

    # what the user types lands in the state, then the button
    panel.state["band_inputs"] = {"precision": 0.55, "max_lost": 0.1, "review_cost": 0.25}
    panel.event("on_click_band")
    band = result.review_band(0.55, 0.1, review_cost=0.25)
    assert panel.state["band_error"] is None
    assert panel.state["band"]["summary"] == band.summary()
    assert "Expected cost" in panel.prop("band_text")["default"]
    (rect,) = _shape(panel, "review band")
    assert (rect["x0"], rect["x1"]) == (band.t_low, band.t_high)
    assert band.t_low < band.t_high and band.review > 0
    # the band stays when the class changes
    panel.event("on_change_class", path="controls.class_name", value=result.classes[0])
    assert [s["x0"] for s in _shape(panel, "review band")] == [band.t_low]

    panel.event("on_click_review_view")
    (request,) = panel.triggered("set_view")
    view = _view_of(request, panel_dataset)
    confs = view.values("predictions.detections.confidence", unwind=True)
    assert len(confs) == band.review
    assert all(band.t_low <= c < band.t_high for c in confs)
    # only the images with something to review, all of them
    assert len(view) == band.review_images
    expected_ids = {
        d.id
        for dets in target.values("predictions.detections")
        for d in (dets or [])
        if d.confidence is not None and band.t_low <= d.confidence < band.t_high
    }
    assert set(view.values("predictions.detections.id", unwind=True)) == expected_ids
    assert f"{band.review} predictions to review" in panel.prop("band_message")["default"]
    assert not panel.prop("review_view")["view"]["disabled"]

    # a target no threshold reaches: the message, and no band
    panel.state["band_inputs"]["precision"] = 0.99
    panel.event("on_click_band")
    assert panel.state["band"] is None
    assert "No threshold reaches precision >= 0.99" in panel.state["band_error"]
    assert "No threshold reaches precision" in panel.prop("band_text")["default"]
    assert not _shape(panel, "review band")
    # a bound out of range
    panel.state["band_inputs"] = {"precision": 0.55, "max_lost": 2}
    panel.event("on_click_band")
    assert "max_lost must be in [0, 1]" in panel.state["band_error"]


def test_review_band_needs_a_classwise_result(panel_dataset):
    compute_optimal_confidence(panel_dataset, "predictions", classwise=False, run_key="any", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert "needs a classwise result" in panel.prop("band_header")["default"]
    assert "band_inputs" not in panel.output["type"]["properties"]


def test_bootstrap_interval_in_words_and_shaded(panel_dataset):
    result = compute_optimal_confidence(
        panel_dataset, "predictions", n_bootstrap=200, seed=3, run_key="boot", progress=False
    )
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    (lo, hi), (s_lo, s_hi) = result.threshold_ci, result.score_ci
    assert lo < hi
    text = panel.prop("ci_text")["default"]
    assert text.startswith(
        f"95% interval of the threshold [{lo:.4g}, {hi:.4g}]; F1 at "
        f"{result.best_threshold:.4g}: [{s_lo:.3f}, {s_hi:.3f}]"
    )
    assert "200 bootstrap resamples" in text
    (rect,) = _shape(panel, "threshold CI")
    assert (rect["x0"], rect["x1"]) == (lo, hi)

    # a precision target: the interval of the recall there, and of the precision
    strict = compute_optimal_confidence(
        panel_dataset, "predictions", objective="precision", target=0.5,
        n_bootstrap=100, seed=3, run_key="boot_p", progress=False,
    )
    panel.event("on_change_run", path="controls.run_key", value="boot_p")
    text = panel.prop("ci_text")["default"]
    r_lo, r_hi = strict.score_ci
    p_lo, p_hi = strict.uncertainty.constraint_ci
    assert f"; recall at {strict.best_threshold:.4g}: [{r_lo:.3f}, {r_hi:.3f}]" in text
    assert f"; precision there: [{p_lo:.3f}, {p_hi:.3f}]" in text

    # no interval, no text
    compute_optimal_confidence(panel_dataset, "predictions", run_key="plain", progress=False)
    panel.event("on_change_run", path="controls.run_key", value="plain")
    assert "ci_text" not in panel.output["type"]["properties"]
    assert not _shape(panel, "threshold CI")


@pytest.fixture
def cls_panel_dataset():
    ds = make_classification_dataset("oc-panel-classification")
    yield ds
    ds.delete()


def test_multiclass_panel_says_what_is_answered_and_escalated(cls_panel_dataset):
    ds = cls_panel_dataset
    result = compute_optimal_confidence(
        ds, "animal", "animal_gt", objective="accuracy", target=0.8, run_key="mc",
        progress=False,
    )
    panel = AppPanel(ds)
    panel.event("on_load")
    t = result.best_threshold
    coverage, accuracy = recount_multiclass(ds, t)
    assert accuracy >= 0.8
    summary = panel.prop("summary")["default"]
    assert (
        f"Answer automatically at confidence >= {t:.4g}: accuracy {accuracy:.3f}, "
        f"{1 - coverage:.1%} escalated" in summary
    )
    curves = panel.data["plots"]["threshold"]
    assert [c["name"] for c in curves[:2]] == ["Accuracy", "Coverage"]
    k = curves[1]["x"].index(t)
    assert curves[1]["y"][k] == pytest.approx(coverage, abs=1e-12)
    assert panel.data["plots_pr"]["pr"][0]["x"] == curves[1]["y"]

    # a click: the answers given automatically there
    t2 = float(result.thresholds[len(result.thresholds) // 2])
    panel.click("threshold", threshold_id(t2))
    cov2, acc2 = recount_multiclass(ds, t2)
    selection = panel.prop("selection")["default"]
    assert f"accuracy {acc2:.3f}" in selection
    judged = sum(g is not None for g in ds.values("animal_gt"))
    assert f"{round(cov2 * judged)} of {judged} images answered automatically" in selection

    # the review band of the answers
    panel.state["band_inputs"] = {"precision": 0.8, "max_lost": 0.2}
    panel.event("on_click_band")
    band = result.review_band(0.8, 0.2)
    assert panel.state["band"]["t_high"] == band.t_high
    panel.event("on_click_review_view")
    view = _view_of(panel.triggered("set_view")[0], ds)
    assert len(view) == band.review
    assert all(band.t_low <= c < band.t_high for c in view.values("animal.confidence"))


def test_binary_review_view_uses_the_positive_score(cls_panel_dataset):
    ds = cls_panel_dataset
    result = compute_optimal_confidence(
        ds, "answer", "answer_gt", positive_label="yes", run_key="yes", progress=False
    )
    panel = AppPanel(ds)
    panel.event("on_load")
    assert "positive label `yes`" in panel.prop("summary")["default"]
    panel.state["band_inputs"] = {"precision": 0.8, "max_lost": 0.1}
    panel.event("on_click_band")
    band = result.review_band(0.8, 0.1)
    assert panel.state["band"]["review"] == band.review > 0
    panel.event("on_click_review_view")
    view = _view_of(panel.triggered("set_view")[0], ds)
    # a "no" answer at confidence c has positive score 1 - c
    expected = [
        s.id
        for s, gt, pred in zip(ds, ds.values("answer_gt"), ds.values("answer"))
        if gt is not None and pred is not None and pred.confidence is not None
        and band.t_low
        <= (pred.confidence if pred.label == "yes" else 1 - pred.confidence)
        < band.t_high
    ]
    assert sorted(view.values("id")) == sorted(expected)
    assert len(expected) == band.review


# ---------------------------------------------------------------------------
# One panel, the threshold box, the objective switch, the selection kept


def test_a_run_from_the_app_shows_in_the_open_panel(panel_dataset):
    """With a Confidence curves panel open (in the App's spaces), a run
    from the operator browser shows there; with none open, one opens."""
    import fiftyone as fo

    spaces = fo.Space(
        children=[
            fo.Panel(type="Samples", pinned=True),
            fo.Panel(type="confidence_curves", component_id="curves-1"),
        ]
    )
    result = foo.execute_operator(
        OPERATOR,
        ctx=dict(
            view=panel_dataset.view(),
            params=dict(pred_field="predictions", run_key="second"),
            spaces=spaces.to_dict(),
        ),
    )
    requests = [(r.operator_uri, r.params) for r in result.executor._requests]
    shown = [p for u, p in requests if u == PANEL]
    assert shown == [{"__method__": "on_show_run", "panel_id": "curves-1", "run_key": "second"}]
    # brought to the front, not opened again on a state it would ignore
    assert [p for u, p in requests if u == "open_panel"] == [
        {"name": "confidence_curves", "isActive": True, "force": False,
         "forceDuplicate": False, "state": None, "data": None}
    ]
    # what the triggered method does to that panel
    compute_optimal_confidence(panel_dataset, "logits", run_key="first", progress=False)
    panel = AppPanel(panel_dataset, panel_id="curves-1")
    panel.event("on_load")
    assert panel.state["controls"]["run_key"] == "first"
    panel.event("on_show_run", run_key="second")
    assert panel.state["controls"]["run_key"] == "second"
    assert panel.state["info"]["pred_field"] == "predictions"


def test_the_threshold_box_sets_the_view_and_the_counts(panel_dataset):
    result = compute_optimal_confidence(panel_dataset, "predictions", run_key="r", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert panel.prop("threshold_input")["type"]["name"] == "Number"
    t = 0.4321  # between swept thresholds: still exact
    panel.event("on_change_threshold", path="threshold_input", value=t)
    (request,) = panel.triggered("set_view")
    view = _view_of(request, panel_dataset)
    assert view.count("predictions.detections") == panel_dataset.filter_labels(
        "predictions", F("confidence") >= t, only_matches=False
    ).count("predictions.detections")
    tp, fp, fn = result.counts_at(t)
    s = panel.state["selected"]
    assert (s["threshold"], s["tp"], s["fp"], s["fn"]) == (t, tp, fp, fn)
    # not a number: a message, nothing changes
    panel.event("on_change_threshold", path="threshold_input", value="high")
    assert "threshold must be a number" in panel.state["message"]
    assert panel.state["selected"]["threshold"] == t


def test_the_objective_switch_chooses_again_from_the_stored_curves(panel_dataset):
    stored = compute_optimal_confidence(panel_dataset, "predictions", run_key="r", progress=False)
    strict = stored.with_objective("precision", target=0.5)
    assert strict.best_threshold != stored.best_threshold
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert panel.state["objective_inputs"]["objective"] == "f1"
    assert "target" not in panel.output["type"]["properties"]["objective_inputs"]["type"]["properties"]
    panel.event("on_change_objective_input", path="objective_inputs.objective", value="precision")
    assert "target" in panel.prop("objective_inputs")["type"]["properties"]

    # a bad target: the spec's message where the switch is
    panel.state["objective_inputs"]["target"] = 1.5
    panel.event("on_click_apply_objective")
    assert panel.state["message"] == "target must be in (0, 1]; got 1.5"
    assert panel.prop("objective_message")

    panel.state["objective_inputs"]["target"] = 0.5
    panel.event("on_click_apply_objective")
    assert panel.state["info"]["best_threshold"] == strict.best_threshold
    assert panel.state["info"]["objective"] == "recall at precision >= 0.5"
    # the view and the counts at the new choice
    assert panel.state["selected"]["threshold"] == strict.best_threshold
    assert _view_of(panel.triggered("set_view")[0], panel_dataset).count(
        "predictions.detections"
    ) == int((stored.records.pred_conf >= strict.best_threshold).sum())
    marker = panel.data["plots"]["threshold"][-1]
    assert marker["x"] == [strict.best_threshold]
    # nothing matched again, nothing stored yet
    panel_dataset.reload()
    assert panel_dataset.list_runs() == ["r"]

    # store it: a new run, the stored one untouched
    panel.event("on_click_store_choice")
    panel_dataset.reload()
    assert sorted(panel_dataset.list_runs()) == ["r", "r_precision"]
    assert load_optimal_confidence(panel_dataset, "r_precision").best_threshold == strict.best_threshold
    assert load_optimal_confidence(panel_dataset, "r").objective.name == "f1"
    assert panel.state["controls"]["run_key"] == "r_precision"
    assert "Stored as run 'r_precision'" in panel.state["message"]

    # back on the first run, back to its stored objective
    panel.event("on_change_run", path="controls.run_key", value="r")
    panel.state["objective_inputs"] = {"objective": "cost", "fp_cost": 1, "fn_cost": 4}
    panel.event("on_click_apply_objective")
    assert panel.state["info"]["objective"] == "cost (1 per FP, 4 per FN)"
    panel.event("on_click_stored_objective")
    assert panel.state["choice"] is None
    assert panel.state["info"]["best_threshold"] == stored.best_threshold


def test_the_selection_comes_back_after_a_reload(panel_dataset):
    """After a reload the App keeps its view; the panel selects the
    threshold that view keeps again."""
    result = compute_optimal_confidence(panel_dataset.limit(20), "predictions", run_key="r", progress=False)
    t = float(result.thresholds[3])
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    panel.click("threshold", threshold_id(t))
    view = _view_of(panel.triggered("set_view")[0], panel_dataset)

    reloaded = AppPanel(panel_dataset)
    reloaded.state = {"controls": panel.state["controls"]}
    foo_result = foo.execute_operator(
        PANEL,
        ctx=dict(
            view=view,
            params=dict(__method__="on_load", panel_id=reloaded.panel_id, panel_state=reloaded.state),
        ),
    )
    selected = [
        r.params["state"]["selected"]
        for r in foo_result.executor._requests
        if r.operator_uri == "patch_panel_state" and "selected" in r.params["state"]
    ]
    assert selected[-1]["threshold"] == t
    # a view the panel did not make selects nothing
    other = foo.execute_operator(
        PANEL,
        ctx=dict(
            view=panel_dataset.limit(3),
            params=dict(__method__="on_load", panel_id="p", panel_state={}),
        ),
    )
    assert all(
        r.params["state"].get("selected") is None
        for r in other.executor._requests
        if r.operator_uri == "patch_panel_state" and "selected" in r.params["state"]
    )


def test_a_compared_run_overlays_the_other_models(panel_dataset):
    from optimal_confidence import compare_models

    cmp = compare_models(panel_dataset, ["predictions", "logits"], run_key="cmp", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_show_run", run_key="cmp_logits")
    found = panel.state["comparison"]
    assert found["runs"] == ["cmp_predictions", "cmp_logits"]
    # one line and one chosen star per model on each overlay
    lines = [t for t in panel.data["compare"]["threshold"] if t["mode"] == "lines"]
    assert [t["name"] for t in lines] == ["predictions", "logits"]
    for field, line in zip(["predictions", "logits"], lines):
        r = cmp.results[field]
        assert line["y"][-1] == pytest.approx(float(r.f1[-1]))
    stars = [t for t in panel.data["compare"]["pr"] if t["mode"] == "markers"]
    assert [s["y"][0] for s in stars] == pytest.approx([cmp.results[f].best_precision for f in ["predictions", "logits"]])
    assert panel.prop("compare.threshold")["view"]["name"] == "PlotlyView"
    text = panel.prop("comparison_text")["view"]
    assert "| logits |" in panel.state["comparison"]["markdown"] and text
    # a run compared with none shows no overlay
    compute_optimal_confidence(panel_dataset, "predictions", run_key="alone", progress=False)
    panel.event("on_change_run", value="alone")
    assert panel.state["comparison"] is None
    assert "compare" not in panel.output["type"]["properties"]


def test_evaluate_at_the_threshold_stores_an_evaluation_never_over_another(panel_dataset):
    result = compute_optimal_confidence(panel_dataset, "predictions", run_key="r", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert panel.prop("deploy_actions.evaluate")["view"]["label"] == (
        f"Evaluate at the chosen threshold {result.best_threshold:.4g}"
    )
    before = snapshot(panel_dataset)
    panel.event("on_click_evaluate")
    assert panel_dataset.list_evaluations() == ["r_eval"]
    tp, fp, fn = (int(panel_dataset.sum(f"r_eval_{k}")) for k in ("tp", "fp", "fn"))
    assert (tp, fp, fn) == (result.best_tp, result.best_fp, result.best_fn)
    assert f"TP {tp}, FP {fp}, FN {fn}" in panel.state["message"]
    assert panel.state["message_at"] == "deploy"
    # at a selected threshold, under a new key; the first one is kept
    t = 0.25
    panel.event("on_change_threshold", path="threshold_input", value=t)
    assert panel.prop("deploy_actions.evaluate")["view"]["label"] == "Evaluate at threshold 0.25"
    panel.event("on_click_evaluate")
    assert sorted(panel_dataset.list_evaluations()) == ["r_eval", "r_eval_2"]
    counts = tuple(int(panel_dataset.sum(f"r_eval_2_{k}")) for k in ("tp", "fp", "fn"))
    assert counts == result.counts_at(t) == oracle_counts(panel_dataset, "predictions", "ground_truth", t)
    assert panel_dataset.load_evaluation_results("r_eval_2").report()
    for key in ("r_eval", "r_eval_2"):
        panel_dataset.delete_evaluation(key)
    # labels as they were (an evaluation writes its samples, so they have
    # a new last_modified_at; its fields are gone with it)
    after = snapshot(panel_dataset)
    for s in (after, before):
        s["labels"].pop("last_modified_at")
    assert after == before


def test_export_writes_a_new_file_and_shows_the_config(panel_dataset, tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path))
    result = compute_optimal_confidence(panel_dataset, "predictions", run_key="r", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    panel.event("on_click_export")
    folder = tmp_path / "optimal_confidence" / panel_dataset.name
    assert [p.name for p in folder.iterdir()] == ["r.json"]
    config = json.loads((folder / "r.json").read_text())
    assert config["threshold"] == result.best_threshold and config["run_key"] == "r"
    assert str(folder / "r.json") in panel.state["message"]
    assert '"threshold": ' in panel.state["message"]
    panel.event("on_click_export")  # never over the file written before
    assert sorted(p.name for p in folder.iterdir()) == ["r.json", "r_2.json"]

    # a clicked threshold: Export writes it (the button names it), not the
    # chosen one, as Evaluate does
    t = float(result.thresholds[-5])
    assert t != result.best_threshold
    panel.click("threshold", threshold_id(t))
    assert panel.prop("deploy_actions.export")["view"]["label"] == f"Export threshold {t:.4g}"
    panel.event("on_click_export")
    written = folder / f"r_t{t:.4g}.json"
    config = json.loads(written.read_text())
    assert config["threshold"] == t
    tp, fp, fn = result.counts_at(t)
    assert (config["counts"]["tp"], config["counts"]["fp"], config["counts"]["fn"]) == (tp, fp, fn)
    assert config["objective"]["score"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert config["chosen"] == {"threshold": result.best_threshold, "score": result.best_score}
    # the file keeps what the selected view keeps
    kept = apply_thresholds(
        [(d.label, d.confidence) for d in panel_dataset.values("predictions.detections", unwind=True)],
        str(written),
    )
    assert len(kept) == panel_dataset.filter_labels(
        "predictions", F("confidence") >= t, only_matches=False
    ).count("predictions.detections")
    # said under the buttons, first of all what was written
    assert panel.state["message_at"] == "deploy"
    assert panel.state["message"].startswith(f"**Exported threshold {t!r} (selected")
    assert panel.prop("deploy_message")


def test_a_per_class_export_writes_the_class_thresholds_until_a_selection_overrides_them(
    panel_dataset, tmp_path, monkeypatch
):
    import json

    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path))
    result = compute_optimal_confidence(
        panel_dataset, "predictions", per_class=True, min_support=1, run_key="pc", progress=False
    )
    panel = AppPanel(panel_dataset)
    panel.event("on_show_run", run_key="pc")  # as after a run from the App
    # no single threshold selected: the per-class view, and its thresholds
    assert panel.state["selected"] is None
    assert panel.state["threshold_input"] is None
    assert panel.prop("deploy_actions.export")["view"]["label"] == "Export the per-class thresholds"
    panel.event("on_click_export")
    folder = tmp_path / "optimal_confidence" / panel_dataset.name
    config = json.loads((folder / "pc.json").read_text())
    assert config["class_thresholds"] == result.class_thresholds and "chosen" not in config

    t = 0.5
    panel.event("on_change_threshold", path="threshold_input", value=t)
    assert "overrides the per-class thresholds" in panel.prop("deploy_note")["default"]
    panel.event("on_click_export")
    config = json.loads((folder / "pc_t0.5.json").read_text())
    assert config["threshold"] == t and "class_thresholds" not in config
    assert config["chosen"]["class_thresholds"] == result.class_thresholds
    assert tuple(config["counts"][k] for k in ("tp", "fp", "fn")) == result.counts_at(t)


def test_a_new_run_resets_the_selection_to_its_best(panel_dataset):
    """The threshold box, the counts, the marks and the App's view of the
    run shown before do not stay: a new run selects its own best."""
    first = compute_optimal_confidence(panel_dataset, "predictions", run_key="first", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    t = float(first.thresholds[-3])
    panel.event("on_change_threshold", path="threshold_input", value=t)
    assert panel.state["threshold_input"] == t

    second = compute_optimal_confidence(
        panel_dataset.limit(20), "predictions", run_key="second", progress=False
    )
    assert second.best_threshold != t
    # what the panel's "New sweep" calls once the operator ran
    panel.event("on_run_success", result={"run_key": "second"})
    best = second.best_threshold
    assert panel.state["controls"]["run_key"] == "second"
    assert panel.state["threshold_input"] == best
    s = panel.state["selected"]
    assert (s["threshold"], s["tp"], s["fp"], s["fn"]) == (best, second.best_tp, second.best_fp, second.best_fn)
    assert f"At threshold {best:.4g}" in panel.prop("selection")["default"]
    assert [x["x0"] for x in panel.state["layouts"]["threshold"]["shapes"]] == [best, best]
    # the App's view: the new run's target at its best, not the old filter
    (request,) = panel.triggered("set_view")
    view = _view_of(request, panel_dataset)
    assert len(view) == 20
    assert view.count("predictions.detections") == int((second.records.pred_conf >= best).sum())
    assert panel.prop("deploy_actions.export")["view"]["label"] == f"Export threshold {best:.4g}"

    # the same for a run from the operator browser, and another result
    # chosen in the selector
    panel.event("on_change_threshold", path="threshold_input", value=t)
    panel.event("on_show_run", run_key="first")
    assert panel.state["selected"]["threshold"] == first.best_threshold
    assert panel.state["threshold_input"] == first.best_threshold
    panel.event("on_change_run", path="controls.run_key", value="second")
    assert panel.state["selected"]["threshold"] == best
    assert len(_view_of(panel.triggered("set_view")[0], panel_dataset)) == 20

    # the App reloading the same dataset keeps the run and the selection
    panel.event("on_change_threshold", path="threshold_input", value=t)
    panel.event("on_change_dataset")
    assert panel.state["controls"]["run_key"] == "second"
    assert panel.state["selected"]["threshold"] == t
    assert panel.triggered("set_view") == []


def test_a_guarantee_marks_the_certified_point_beside_the_estimate(panel_dataset):
    r = compute_optimal_confidence(
        panel_dataset, "predictions", objective="precision", target=0.5, guarantee=0.8,
        calibrate="sigmoid", run_key="certified", progress=False,
    )
    point = r.with_objective(guarantee=None).best_threshold
    assert point != r.best_threshold
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    traces = {t["name"]: t for t in panel.data["plots"]["threshold"]}
    assert traces["certified (80%)"]["x"] == [r.best_threshold]
    assert traces["point estimate (no guarantee)"]["x"] == [point]
    assert "**Guarantee:** " + r.guarantee.summary() in panel.prop("summary")["default"]
    # the reliability diagram, before and after the calibrator stored with the run
    curves = {t["name"]: t for t in panel.data["calibration"]["reliability"]}
    cal = r.calibration()
    full = cal.count > 0
    assert curves["before"]["y"] == pytest.approx(cal.precision[full].tolist())
    assert "after calibration" in curves
    assert f"ECE {cal.ece:.3f}" in panel.state["calibration"]["markdown"]
    # and the LaECE at the certified threshold, in the same sentence
    assert cal.laece.summary() in panel.state["calibration"]["markdown"]
    assert panel.prop("calibration.reliability")["view"]["name"] == "PlotlyView"


def test_logits_have_no_reliability_diagram(panel_dataset):
    compute_optimal_confidence(panel_dataset, "logits", run_key="logits", progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_load")
    assert panel.state["calibration"] is None
    assert "calibration" not in panel.output["type"]["properties"]


def test_the_box_echoing_its_old_value_after_a_new_selection_changes_nothing(panel_dataset, monkeypatch):
    """The App's number box may send the value it showed before once the
    panel selected another threshold (FiftyOne 1.22.1): an echo within a
    moment is no choice; the same value typed later is."""
    from optimal_confidence.app import panel_actions

    run = compute_optimal_confidence(panel_dataset, "predictions", run_key="echo", overwrite=True, progress=False)
    panel = AppPanel(panel_dataset)
    panel.event("on_show_run", run_key="echo")
    t = float(run.thresholds[-3])
    panel.event("on_change_threshold", path="threshold_input", value=t)
    assert panel.state["selected"]["threshold"] == t
    panel.event("on_show_run", run_key="echo")  # a new run: its best
    best = run.best_threshold
    panel.event("on_change_threshold", path="threshold_input", value=t)  # the echo
    assert panel.state["selected"]["threshold"] == best
    assert panel.triggered("set_view") == []
    # typed again, later: a choice
    panel.event("on_show_run", run_key="echo")
    monkeypatch.setattr(panel_actions, "STALE_SECONDS", 0.0)
    panel.event("on_change_threshold", path="threshold_input", value=t)
    assert panel.state["selected"]["threshold"] == t
