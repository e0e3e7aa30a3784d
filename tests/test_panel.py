"""The curves panel's callbacks, through ``execute_operator`` with the params
the App sends (see docs/DESIGN.md), and the operator opening the panel.
"""

import copy

import pydash
import pytest

import fiftyone as fo
import fiftyone.operators as foo
from fiftyone import ViewField as F
from fiftyone.operators.delegated import DelegatedOperationService

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.plots import threshold_id

from helpers import make_random_dataset, snapshot

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
        trace_idx, trace = next(
            (i, t) for i, t in enumerate(self.data["plots"][plot]) if point in t["ids"]
        )
        idx = trace["ids"].index(point)
        return self.event(
            "on_click_curve",
            event="onClick",
            path=f"plots.{plot}",
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
    ds = make_random_dataset("oc-panel", num_samples=30, seed=7)
    yield ds
    DelegatedOperationService().delete_for_dataset(ds._doc.id)
    ds.delete()


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
    assert panel.data["plots"]["pr"][0]["x"] == newer.recall.tolist()
    # plots with explicit sizes, their layouts in the state
    for name in ("threshold", "pr"):
        plot = panel.prop(f"plots.{name}")["view"]
        assert plot["width"] > 200 and plot["height"] > 200
        assert plot["on_click"] == f"{PANEL}#on_click_curve"
        assert plot["layout"]["height"] == plot["height"]
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
    tp, fp, fn = (int(c[0]) for c in result.counts_at(t))
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
