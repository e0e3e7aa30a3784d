"""The operator called from Python, as Voxel51's plugins are
(``op = foo.get_operator(uri); op(dataset, ...)``), and the one rule for
default fields on every front end."""

import json

from bson import ObjectId
import pytest

import fiftyone as fo
import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionRunState

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.cli import main

from helpers import make_random_dataset, snapshot
from test_operator import URI, _form


@pytest.fixture(scope="module")
def ds():
    dataset = make_random_dataset("oc-call", num_samples=25, seed=8)
    yield dataset
    DelegatedOperationService().delete_for_dataset(dataset._doc.id)
    dataset.delete()


@pytest.fixture(scope="module")
def coco_like(ds):
    """Ground truth in `detections` (no confidences), predictions in
    `best_model`, as a dataset imported from COCO with a model's
    predictions added later."""
    dataset = fo.Dataset("oc-call-coco")
    dataset.add_samples(
        [
            fo.Sample(filepath=s.filepath, detections=s["ground_truth"], best_model=s["predictions"])
            for s in ds
        ]
    )
    yield dataset
    dataset.delete()


def test_calling_the_operator_returns_the_result_and_stores_the_run(ds):
    op = foo.get_operator(URI)
    result = op(ds, "predictions", "ground_truth")
    expected = compute_optimal_confidence(ds, "predictions")
    assert type(result).__name__ == "OptimalConfidenceResult"
    assert result.best_threshold == expected.best_threshold
    assert (result.best_tp, result.best_fp, result.best_fn) == (expected.best_tp, expected.best_fp, expected.best_fn)
    assert result.run_key in ds.list_runs()  # a free key
    assert load_optimal_confidence(ds, result.run_key).best_f1 == expected.best_f1

    # on a view, with options as compute_optimal_confidence takes them
    view = ds.limit(15)
    strict = op(view, pred_field="predictions", objective="precision", target=0.3, run_key="strict")
    want = compute_optimal_confidence(view, "predictions", objective="precision", target=0.3)
    assert strict.run_key == "strict" and strict.config.num_samples == 15
    assert strict.best_threshold == want.best_threshold
    assert len(ds.load_run_view("strict")) == 15


def test_calling_refuses_what_it_would_ignore_and_writes_nothing(ds):
    op = foo.get_operator(URI)
    before = snapshot(ds)
    with pytest.raises(TypeError, match="Unknown option 'iuo'"):
        op(ds, iuo=0.5)
    with pytest.raises(ValueError, match="fp_cost does not apply here: it applies when objective is 'cost' or review_cost is given"):
        op(ds, fp_cost=2)
    with pytest.raises(ValueError, match="positive_label applies to binary and multiclass tasks"):
        op(ds, positive_label="cat")
    with pytest.raises(Exception, match="iou must be in"):
        op(ds, iou=2.0)
    assert snapshot(ds) == before


def test_calling_with_delegate_queues_the_run(ds):
    op = foo.get_operator(URI)
    queued = op(ds, "logits", "ground_truth", delegate=True, run_key="later")
    assert queued.delegated and queued.state == "queued"
    assert repr(queued) == (
        f"<QueuedRun {queued.id} of optimal_confidence on {ds.name!r}, queued: "
        f"`fiftyone delegated launch` runs it; .result() then loads it>"
    )
    with pytest.raises(RuntimeError, match="is queued: a worker runs it .`fiftyone delegated launch`."):
        queued.result()
    ds.reload()
    assert "later" not in ds.list_runs()
    svc = DelegatedOperationService()
    svc.execute_queued_operations(operator=URI, dataset_name=ds.name)
    doc = svc.get(ObjectId(queued.id))
    assert doc.run_state == ExecutionRunState.COMPLETED, doc.result
    assert queued.state == "completed" and queued.run_key == "later"
    ds.reload()
    result = queued.result()
    assert result.config.pred_field == "logits" and result.run_key == "later"
    assert result.best_threshold == load_optimal_confidence(ds, "later").best_threshold


def test_the_form_execute_the_call_the_cli_and_the_api_choose_the_same_fields(coco_like, capsys):
    """No field named anywhere: `detections` is the ground truth (its labels
    carry no confidences) and `best_model` the predictions."""
    props = _form(coco_like, {})
    assert (props["gt_field"].default, props["pred_field"].default) == ("detections", "best_model")
    assert not any(p.invalid for p in props.values())
    expected = compute_optimal_confidence(coco_like, "best_model", "detections")

    out = foo.execute_operator(URI, ctx=dict(view=coco_like.view(), params={})).result
    assert out["best_threshold"] == expected.best_threshold
    result = foo.get_operator(URI)(coco_like)
    assert (result.config.gt_field, result.config.pred_field) == ("detections", "best_model")
    code = main(["--dataset", coco_like.name, "--json"])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(printed)["best_threshold"] == expected.best_threshold
    api = compute_optimal_confidence(coco_like, None, None)
    assert (api.config.gt_field, api.config.pred_field) == ("detections", "best_model")
    # a field given keeps its place; the other one is chosen to go with it
    assert _form(coco_like, {"gt_field": "detections"})["pred_field"].default == "best_model"


def test_predictions_without_confidences_name_the_fields_that_would_work(coco_like):
    with pytest.raises(ValueError, match=r"None of the .* predictions in 'detections' has a confidence"):
        compute_optimal_confidence(coco_like, "detections", "best_model")
    props = _form(coco_like, {"gt_field": "best_model", "pred_field": "detections"})
    assert props["pred_field"].invalid
    assert "Fields whose labels carry confidences: ['best_model']" in props["pred_field"].error_message


def test_the_rule_prefers_predictions_then_the_newest_scored_field(ds):
    from optimal_confidence.records.fields import default_fields

    assert default_fields(ds)[:2] == ("ground_truth", "predictions")
    view = ds.exclude_fields("predictions")
    assert default_fields(view)[:2] == ("ground_truth", "logits")
