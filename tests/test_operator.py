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
        (dict(pred_field="predictions", iou=0), "iou", "iou must be in (0, 1]"),
        (dict(pred_field="predictions", iou=1.2), "iou", "iou must be in (0, 1]"),
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
        summary = result.pop("summary")
        assert result.pop("summary_markdown") == f"```\n{summary}\n```"
        assert result.pop("warnings", []) == expected.warnings
        assert result == {**expected.metrics(), "run_key": "from_operator"}
        assert f"Best threshold {expected.best_threshold:.3f}" in summary
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


OBJECTIVE_FORM_ERRORS = [
    (dict(objective="precision"), "target", "needs a target"),
    (dict(objective="recall", target=1.5), "target", "target must be in (0, 1]"),
    (dict(objective="fbeta", beta=-1), "beta", "beta must be"),
    (dict(objective="cost", fp_cost=0, fn_cost=0), "fp_cost", "cannot both be 0"),
    (dict(per_class=True, classwise=False), "per_class", "cannot go with"),
    (dict(n_bootstrap=0), "n_bootstrap", "at least 1"),
    (dict(review_precision=1.5), "review_precision", "in (0, 1]"),
    (dict(max_lost=2), "max_lost", "in [0, 1]"),
]


@pytest.mark.parametrize("params, field, message", OBJECTIVE_FORM_ERRORS)
def test_form_checks_objective_and_extras(op_dataset, params, field, message):
    props = _form(op_dataset, {"pred_field": "predictions", **params})
    invalid = {k: p.error_message for k, p in props.items() if p.invalid}
    assert field in invalid, invalid
    assert message in invalid[field]


def test_form_shows_what_the_objective_needs(op_dataset):
    assert "target" not in _form(op_dataset, {"pred_field": "predictions"})
    props = _form(op_dataset, {"pred_field": "predictions", "objective": "precision", "target": 0.6})
    assert "target" in props and not any(p.invalid for p in props.values())
    props = _form(op_dataset, {"pred_field": "predictions", "objective": "cost"})
    assert {"fp_cost", "fn_cost"} <= set(props)
    assert "min_support" in _form(op_dataset, {"pred_field": "predictions", "per_class": True})


def test_form_defaults_to_the_dataset_after_a_click_filtered_the_view(op_dataset):
    from fiftyone import ViewField as F

    clicked = op_dataset.filter_labels("predictions", F("confidence") >= 0.8, only_matches=False)
    props = _form(op_dataset, {"pred_field": "predictions"}, view=clicked)
    assert props["view_target"].default == "DATASET"
    props = _form(op_dataset, {"pred_field": "predictions"}, view=op_dataset.limit(5))
    assert props["view_target"].default != "DATASET"


def test_form_offers_an_evaluation_to_reuse(op_dataset):
    assert "eval_key" not in _form(op_dataset, {"pred_field": "predictions"})
    op_dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key="oc_user")
    try:
        props = _form(op_dataset, {"pred_field": "predictions"})
        assert "oc_user" in props["eval_key"].type.values
        out = foo.execute_operator(
            URI,
            ctx=dict(view=op_dataset.view(), params=dict(pred_field="predictions", eval_key="oc_user", run_key="reused")),
        ).result
        stored = load_optimal_confidence(op_dataset, "reused")
        assert stored.config.method == "eval_key:oc_user"
        assert out["best_threshold"] == compute_optimal_confidence(op_dataset, "predictions").best_threshold
    finally:
        op_dataset.delete_evaluation("oc_user")
        if "reused" in op_dataset.list_runs():
            op_dataset.delete_run("reused")


def test_execute_with_objective_per_class_bootstrap_and_band(op_dataset):
    params = dict(
        pred_field="predictions", objective="recall", target=0.5, per_class=True,
        n_bootstrap=50, seed=2, review_precision=0.5, max_lost=0.1, run_key="full",
    )
    try:
        out = foo.execute_operator(URI, ctx=dict(view=op_dataset.view(), params=params)).result
        expected = compute_optimal_confidence(
            op_dataset, "predictions", objective="recall", target=0.5, per_class=True,
            n_bootstrap=50, seed=2,
        )
        assert out["objective"] == "precision at recall >= 0.5"
        assert out["best_threshold"] == expected.best_threshold
        assert out["class_thresholds"] == expected.class_thresholds
        assert out["threshold_ci"] == list(expected.threshold_ci)
        band = expected.review_band(0.5, 0.1)
        assert out["review_band"] == band.to_dict()
        assert out["review_band_summary"] == band.summary()
        # the per-class table once, and the intervals in words
        assert out["summary"].count("Per-class thresholds") == 1
        lo, hi = expected.threshold_ci
        assert f"threshold [{lo:.4g}, {hi:.4g}]" in out["summary"]
        assert expected.interval_summary() in out["summary"]
        assert load_optimal_confidence(op_dataset, "full").objective == expected.objective
    finally:
        if "full" in op_dataset.list_runs():
            op_dataset.delete_run("full")


def test_unattainable_target_fails_with_the_reason_and_stores_nothing(op_dataset):
    before = snapshot(op_dataset)
    with pytest.raises(Exception, match="No threshold reaches recall >= 0.99"):
        foo.execute_operator(
            URI,
            ctx=dict(view=op_dataset.view(), params=dict(pred_field="predictions", objective="recall", target=0.99)),
        ).raise_exceptions()
    assert snapshot(op_dataset) == before


def test_classification_fields_in_the_form_and_the_run():
    import fiftyone as fo

    ds = fo.Dataset("oc-op-classification")
    try:
        for i in range(20):
            truth = "yes" if i % 3 else "no"
            label = truth if i % 4 else ("no" if truth == "yes" else "yes")
            ds.add_sample(fo.Sample(
                filepath=f"/nonexistent/{i}.jpg",
                gt=fo.Classification(label=truth),
                pred=fo.Classification(label=label, confidence=0.5 + i / 50),
            ))
        props = _form(ds, {"gt_field": "gt", "pred_field": "pred"})
        assert props["positive_label"].type.values == ["", "no", "yes"]
        assert "iou" not in props
        assert not any(p.invalid for p in props.values())
        out = foo.execute_operator(
            URI, ctx=dict(view=ds.view(), params=dict(gt_field="gt", pred_field="pred", positive_label="yes")),
        ).result
        expected = compute_optimal_confidence(ds, "pred", "gt", positive_label="yes")
        assert out["best_threshold"] == expected.best_threshold
        assert (out["tp"], out["fp"], out["fn"]) == (expected.best_tp, expected.best_fp, expected.best_fn)
    finally:
        ds.delete()


def test_execute_compares_evaluates_and_exports(op_dataset, tmp_path, monkeypatch):
    """The deployment fold: other models compared, FiftyOne's evaluation at
    the chosen point, the operating point written to a file (in the App's
    export folder: the path is relative to it)."""
    import json

    from optimal_confidence import compare_models

    monkeypatch.setenv("OPTIMAL_CONFIDENCE_EXPORT_DIR", str(tmp_path))

    # the form offers the other label fields of the same type to compare
    props = _form(op_dataset, dict(pred_field="predictions", show_deployment=True))
    assert "compare_with" in props and "evaluate_key" in props and "export_path" in props
    path = tmp_path / op_dataset.name / "point.json"
    params = dict(
        pred_field="predictions", compare_with=["logits"], run_key="op_cmp",
        show_deployment=True, evaluate_key="op_eval", export_path="point.json",
    )
    try:
        out = foo.execute_operator(URI, ctx=dict(view=op_dataset.view(), params=params)).result
        cmp = compare_models(op_dataset, ["predictions", "logits"], progress=False)
        assert [r["model"] for r in out["comparison"]] == ["predictions", "logits"]
        for row in out["comparison"]:
            assert row["threshold"] == cmp.results[row["model"]].best_threshold
        assert "| logits |" in out["comparison_markdown"]
        assert sorted(k for k in op_dataset.list_runs() if k.startswith("op_cmp")) == [
            "op_cmp_logits", "op_cmp_predictions",
        ]
        assert out["exported"] == str(path)
        assert json.loads(path.read_text())["threshold"] == out["best_threshold"]
        assert out["evaluation"] == "op_eval"
        assert int(op_dataset.sum("op_eval_tp")) == out["tp"] == cmp.results["predictions"].best_tp
    finally:
        for key in ("op_cmp_logits", "op_cmp_predictions"):
            if key in op_dataset.list_runs():
                op_dataset.delete_run(key)
        if "op_eval" in op_dataset.list_evaluations():
            op_dataset.delete_evaluation("op_eval")
