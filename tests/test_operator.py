"""The App glue: registration, the form, immediate and delegated runs."""

import os

import pytest
import yaml

import fiftyone.operators as foo
import fiftyone.plugins as fop
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionContext, ExecutionRunState, Executor
from fiftyone.operators.registry import OperatorRegistry

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from helpers import make_random_dataset, snapshot

PLUGIN = "@threshold-lab/optimal_confidence"
URI = f"{PLUGIN}/optimal_confidence"


@pytest.fixture(scope="module")
def op_dataset():
    ds = make_random_dataset("oc-operator", num_samples=30, seed=21)
    yield ds
    DelegatedOperationService().delete_for_dataset(ds._doc.id)
    ds.delete()


def _manifest():
    with open(os.path.join(ROOT, "fiftyone.yml")) as f:
        return yaml.safe_load(f)


def test_plugin_loads_without_errors_and_matches_its_manifest():
    registry = OperatorRegistry()
    assert registry.list_errors() == []
    ours = {
        op.uri.rsplit("/", 1)[1]
        for op in registry.list_operators(builtin=False)
        if op.plugin_name == PLUGIN
    }
    manifest = _manifest()
    assert manifest["name"] == PLUGIN
    assert ours == set(manifest.get("operators", [])) | set(manifest.get("panels", []))
    plugin = fop.get_plugin(PLUGIN)
    assert plugin.version == manifest["version"]
    assert plugin.fiftyone_compatibility


def _form(dataset, params, view=None):
    ctx = ExecutionContext(
        request_params=dict(
            dataset_name=dataset.name,
            params=params,
            **({"view": view._serialize()} if view is not None else {}),
        ),
        executor=Executor(),
    )
    op = OperatorRegistry().get_operator(URI)
    return op.resolve_input(ctx).type.properties


def test_form_defaults_let_the_user_press_execute(op_dataset):
    props = _form(op_dataset, {})
    assert props["gt_field"].default == "ground_truth"
    assert props["pred_field"].default in ("logits", "predictions")
    assert props["run_key"].default == "optimal_confidence"
    assert props["iou"].default == 0.5 and props["classwise"].default is True
    assert not any(p.invalid for p in props.values())
    # the dropdowns list only label fields of the right type
    choices = {c.value for c in props["pred_field"].view.choices}
    assert choices == {"ground_truth", "logits", "predictions"}


@pytest.mark.parametrize(
    "params, field, message",
    [
        (dict(gt_field="predictions", pred_field="predictions"), "pred_field", "both 'predictions'"),
        (dict(pred_field="predictions", lower_bound=0.7, upper_bound=0.2), "upper_bound", "must be above the lower bound"),
        (dict(pred_field="predictions", iou=0), "iou", "IoU must be in (0, 1]"),
        (dict(pred_field="predictions", iou=1.2), "iou", "IoU must be in (0, 1]"),
        (dict(pred_field="predictions", run_key="bad key"), "run_key", "not a valid run key"),
    ],
)
def test_form_disables_execute_on_bad_input(op_dataset, params, field, message):
    props = _form(op_dataset, params)
    assert props[field].invalid
    assert message in props[field].error_message


def test_form_flags_an_existing_run_key_unless_overwrite(op_dataset):
    compute_optimal_confidence(op_dataset, "predictions", run_key="taken")
    try:
        props = _form(op_dataset, dict(pred_field="predictions", run_key="taken"))
        assert props["run_key"].invalid and "already exists" in props["run_key"].error_message
        props = _form(op_dataset, dict(pred_field="predictions", run_key="taken", overwrite=True))
        assert not props["run_key"].invalid
    finally:
        op_dataset.delete_run("taken")


def test_form_flags_predictions_without_confidence(op_dataset):
    view = op_dataset.set_field("predictions.detections.confidence", None)
    props = _form(op_dataset, dict(pred_field="predictions", view_target="CURRENT_VIEW"), view=view)
    assert props["pred_field"].invalid
    assert "has a confidence" in props["pred_field"].error_message


def test_execute_operator_returns_numbers_and_stores_the_run(op_dataset):
    before = snapshot(op_dataset)
    result = foo.execute_operator(
        URI,
        ctx=dict(
            view=op_dataset.view(),
            params=dict(pred_field="predictions", iou=0.6, run_key="from_operator"),
        ),
    ).result
    try:
        expected = compute_optimal_confidence(op_dataset, "predictions", iou=0.6)
        assert result == {**expected.metrics(), "run_key": "from_operator"}
        assert type(result["tp"]) is int and type(result["best_f1"]) is float
        stored = load_optimal_confidence(op_dataset, "from_operator")
        assert stored.best_threshold == result["best_threshold"]
        after = snapshot(op_dataset)
        assert after["runs"] == before["runs"] + ["from_operator"]
        after["runs"] = before["runs"]
        assert after == before
    finally:
        op_dataset.delete_run("from_operator")


def test_execute_operator_on_the_current_view(op_dataset):
    view = op_dataset.limit(12)
    result = foo.execute_operator(
        URI,
        ctx=dict(
            view=view,
            params=dict(pred_field="predictions", view_target="CURRENT_VIEW", num_thresholds=5, run_key="on_view"),
        ),
    ).result
    try:
        stored = load_optimal_confidence(op_dataset, "on_view")
        assert stored.config.num_samples == 12 and result["num_thresholds"] == 5
        assert result["tp"] == compute_optimal_confidence(view, "predictions", num_thresholds=5).best_tp
    finally:
        op_dataset.delete_run("on_view")


def test_execute_operator_bad_input_raises_and_changes_nothing(op_dataset):
    before = snapshot(op_dataset)
    with pytest.raises(Exception, match="'nope' is not a Detections field like 'ground_truth'"):
        foo.execute_operator(URI, ctx=dict(view=op_dataset.view(), params=dict(pred_field="nope")))
    assert snapshot(op_dataset) == before


def test_delegated_execution(op_dataset):
    queued = foo.execute_operator(
        URI,
        ctx=dict(
            view=op_dataset.view(),
            params=dict(pred_field="logits", run_key="delegated"),
        ),
        request_delegation=True,
    )
    assert queued.delegated
    svc = DelegatedOperationService()
    assert "delegated" not in op_dataset.list_runs()
    svc.execute_queued_operations(operator=URI, dataset_name=op_dataset.name)
    try:
        doc = svc.get(queued.result["id"])
        assert doc.run_state == ExecutionRunState.COMPLETED, doc.result
        expected = compute_optimal_confidence(op_dataset, "logits")
        assert doc.result.result["best_threshold"] == expected.best_threshold
        assert load_optimal_confidence(op_dataset, "delegated").best_f1 == expected.best_f1
    finally:
        op_dataset.reload()
        op_dataset.delete_run("delegated")
