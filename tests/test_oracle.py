"""Every count equals filter-and-evaluate (DESIGN.md) at every threshold.

The random datasets hold empty images, ground-truth-only and
prediction-only images, tied confidences, predictions without confidence,
crowd objects, duplicates competing for one object and wrong classes.
"""

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

from optimal_confidence import compute_optimal_confidence
from helpers import oracle_counts


def assert_equals_oracle(samples, result, thresholds=None, **kwargs):
    c = result.config
    idx = range(result.num_thresholds) if thresholds is None else thresholds
    for i in idx:
        t = result.thresholds[i]
        expected = oracle_counts(
            samples, c.pred_field, c.gt_field, t, iou=c.iou, classwise=c.classwise
        )
        got = (int(result.tp[i]), int(result.fp[i]), int(result.fn[i]))
        assert got == expected, f"threshold {t}: {got} != oracle {expected}"


def assert_same_as_evaluate_detections(samples, result):
    """The default (fast) engine and one evaluate_detections pass agree."""
    c = result.config
    slow = compute_optimal_confidence(
        samples, c.pred_field, c.gt_field, iou=c.iou, classwise=c.classwise,
        engine="fiftyone",
    )
    assert slow.config.method == "evaluate_detections"
    for name in ("thresholds", "tp", "fp", "fn"):
        np.testing.assert_array_equal(getattr(slow, name), getattr(result, name))
    np.testing.assert_array_equal(slow.records.gt_conf, result.records.gt_conf)


@pytest.mark.parametrize(
    "pred_field, iou, classwise",
    [
        ("predictions", 0.5, True),
        ("predictions", 0.75, True),
        ("predictions", 0.5, False),
        ("logits", 0.3, True),  # confidences far outside [0, 1]
    ],
)
def test_exact_sweep_equals_oracle_at_every_threshold(
    random_dataset, pred_field, iou, classwise
):
    result = compute_optimal_confidence(
        random_dataset, pred_field, iou=iou, classwise=classwise
    )
    assert result.config.method == "fast"
    assert_same_as_evaluate_detections(random_dataset, result)
    # every distinct confidence is a threshold
    confs = random_dataset.distinct(f"{pred_field}.detections.confidence")
    np.testing.assert_array_equal(result.thresholds, sorted(confs))
    assert_equals_oracle(random_dataset, result)


def test_dataset_really_has_the_hard_cases(random_dataset):
    ds = random_dataset
    assert ds.count("predictions.detections") > 100
    assert len(ds.exists("predictions", False)) > 0  # empty images
    assert len(ds.match(F("predictions.detections").length() == 0)) > 0
    assert len(ds.match(F("ground_truth.detections").length() == 0)) > 0
    assert ds.count("predictions.detections") > ds.count(
        "predictions.detections.confidence"
    )  # some without confidence
    crowd = ds.filter_labels("ground_truth", F("iscrowd") == True)
    assert crowd.count("ground_truth.detections") > 0
    confs = ds.values("predictions.detections.confidence", unwind=True)
    assert len(confs) - confs.count(None) > len(set(confs)) + 10  # ties
    assert min(c for c in ds.values("logits.detections.confidence", unwind=True) if c is not None) < -1


def test_grid_sweep_equals_oracle_between_confidences(random_dataset):
    result = compute_optimal_confidence(
        random_dataset, "predictions", lower_bound=0.11, upper_bound=0.93, num_thresholds=7
    )
    np.testing.assert_allclose(result.thresholds, np.linspace(0.11, 0.93, 7))
    assert_equals_oracle(random_dataset, result)


def test_a_view_sweeps_only_its_samples(random_dataset):
    view = random_dataset.skip(10).limit(30)
    result = compute_optimal_confidence(view, "predictions")
    assert result.config.num_samples == 30
    assert_equals_oracle(view, result, thresholds=[0, result.num_thresholds // 2, -1])


def test_images_left_without_predictions_keep_their_false_negatives(random_dataset):
    # The old community plugin filtered with only_matches=True, which drops
    # images left without predictions and their ground truth with them
    result = compute_optimal_confidence(random_dataset, "predictions")
    t = result.thresholds[-2]
    dropping = random_dataset.filter_labels("predictions", F("confidence") >= t)
    dropping.evaluate_detections("predictions", eval_key="oc_naive")
    naive_fn = int(dropping.sum("oc_naive_fn"))
    random_dataset.delete_evaluation("oc_naive")
    assert result.fn[-2] > naive_fn


def test_video_frames_equal_oracle(video_dataset):
    result = compute_optimal_confidence(video_dataset, "frames.pred", "frames.gt")
    assert_same_as_evaluate_detections(video_dataset, result)
    assert result.config.num_samples == len(video_dataset)
    assert result.records.num_preds == video_dataset.count("frames.pred.detections")
    assert_equals_oracle(video_dataset, result)


def test_polylines_equal_oracle():
    rng = np.random.default_rng(5)
    samples = []

    def poly(label, box, conf=None):
        x, y, w, h = box
        pts = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h)]]
        return fo.Polyline(label=label, points=pts, closed=True, filled=True, confidence=conf)

    for i in range(15):
        gts, preds = [], []
        for _ in range(rng.integers(0, 4)):
            label = str(rng.choice(["a", "b"]))
            box = list(rng.uniform(0.05, 0.5, 2)) + list(rng.uniform(0.1, 0.4, 2))
            gts.append(poly(label, box))
            if rng.random() < 0.8:
                jit = [v + rng.normal(0, 0.03) for v in box]
                preds.append(poly(label, jit, round(float(rng.uniform(0, 1)), 1)))
        preds.append(poly("a", [0.6, 0.6, 0.2, 0.2], round(float(rng.uniform(0, 1)), 1)))
        samples.append(
            fo.Sample(
                filepath=f"/tmp/oc-poly/{i}.jpg",
                gt=fo.Polylines(polylines=gts),
                pred=fo.Polylines(polylines=preds),
            )
        )
    ds = fo.Dataset("oc-polylines", overwrite=True)
    ds.add_samples(samples)
    try:
        result = compute_optimal_confidence(ds, "pred", "gt")
        assert result.config.label_type == "Polylines"
        # engine="auto" falls back to evaluate_detections for polylines
        assert result.config.method == "evaluate_detections"
        with pytest.raises(ValueError, match="engine='fast' does not cover this field"):
            compute_optimal_confidence(ds, "pred", "gt", engine="fast")
        assert result.best_tp > 0
        assert_equals_oracle(ds, result)
    finally:
        ds.delete()
