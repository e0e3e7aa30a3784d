"""Reusing an evaluation the user already ran: no matching at all."""

import numpy as np
import pytest

from fiftyone import ViewField as F

from optimal_confidence import compute_optimal_confidence

from helpers import snapshot


@pytest.fixture(scope="module")
def evaluated(random_dataset):
    ds = random_dataset.clone("oc-evalkey")
    ds.evaluate_detections("predictions", gt_field="ground_truth", eval_key="user_eval", progress=False)
    ds.evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="user_any", iou=0.75,
        classwise=False, progress=False,
    )
    # the old way: evaluated on a filtered view, so low predictions never competed
    ds.filter_labels("predictions", F("confidence") >= 0.5).evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="user_filtered", progress=False
    )
    yield ds
    ds.delete()


def same_records(a, b):
    for name in ("pred_conf", "pred_tp", "pred_class", "pred_sample", "gt_conf", "gt_class", "gt_sample", "pred_iou"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.classes == b.classes and a.num_samples == b.num_samples


@pytest.mark.parametrize("key, iou, classwise", [("user_eval", 0.5, True), ("user_any", 0.75, False)])
def test_reuse_equals_a_new_pass(evaluated, key, iou, classwise):
    before = snapshot(evaluated)
    reused = compute_optimal_confidence(evaluated, "predictions", eval_key=key, progress=False)
    assert snapshot(evaluated) == before
    assert (reused.config.iou, reused.config.classwise) == (iou, classwise)
    assert reused.config.method == f"eval_key:{key}"
    fresh = compute_optimal_confidence(evaluated, "predictions", iou=iou, classwise=classwise, progress=False)
    same_records(reused.records, fresh.records)
    np.testing.assert_array_equal(reused.tp, fresh.tp)
    np.testing.assert_array_equal(reused.fn, fresh.fn)


def test_reuse_on_a_view_of_whole_images(evaluated):
    view = evaluated.limit(25)
    reused = compute_optimal_confidence(view, "predictions", eval_key="user_eval", progress=False)
    fresh = compute_optimal_confidence(view, "predictions", progress=False)
    same_records(reused.records, fresh.records)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(eval_key="nope"), "has no evaluation 'nope'"),
        (dict(eval_key="user_eval", iou=0.7), "used iou=0.5, not 0.7"),
        (dict(eval_key="user_eval", classwise=False), "used classwise=True, not False"),
        (dict(eval_key="user_filtered"), "did not cover .* predictions with a confidence"),
    ],
)
def test_reuse_refuses_what_does_not_fit(evaluated, kwargs, message):
    before = snapshot(evaluated)
    with pytest.raises(ValueError, match=message):
        compute_optimal_confidence(evaluated, "predictions", **kwargs)
    assert snapshot(evaluated) == before


def test_reuse_needs_the_same_fields(evaluated):
    with pytest.raises(ValueError, match="evaluated 'predictions' against 'ground_truth', not 'logits'"):
        compute_optimal_confidence(evaluated, "logits", eval_key="user_eval")
