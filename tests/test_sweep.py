"""The math, without a database: hand-computed cases and a brute recount."""

import os
import subprocess
import sys

import numpy as np
import pytest

from optimal_confidence.curves.sweep import (
    Counts,
    MatchRecords,
    best_index,
    count_at,
    exact_thresholds,
    grid_thresholds,
    precision_recall_f1,
)

nan = np.nan


def records(pred_conf, pred_tp, gt_conf, pred_class=None, gt_class=None, classes=("a",)):
    pred_conf = np.asarray(pred_conf, dtype=float)
    gt_conf = np.asarray(gt_conf, dtype=float)
    return MatchRecords(
        classes=tuple(classes),
        pred_conf=pred_conf,
        pred_tp=np.asarray(pred_tp, dtype=bool),
        pred_class=np.zeros(len(pred_conf), int) if pred_class is None else np.asarray(pred_class),
        pred_sample=np.zeros(len(pred_conf), int),
        gt_conf=gt_conf,
        gt_class=np.zeros(len(gt_conf), int) if gt_class is None else np.asarray(gt_class),
        gt_sample=np.zeros(len(gt_conf), int),
        num_samples=1,
    )


def test_the_math_imports_no_fiftyone():
    # A fresh interpreter: importing the math must not pull in fiftyone
    code = (
        "import sys, optimal_confidence.curves.sweep; "
        "sys.exit('fiftyone' in sys.modules)"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code], cwd=root)
    assert done.returncode == 0


def test_hand_computed_counts():
    # preds: 0.9 TP, 0.8 FP, 0.7 TP, no-confidence FP; three objects, one
    # never found
    r = records([0.9, 0.8, 0.7, nan], [1, 0, 1, 0], [0.9, 0.7, nan])
    t = exact_thresholds(r.pred_conf)
    np.testing.assert_array_equal(t, [0.7, 0.8, 0.9])
    c = count_at(r, t)
    np.testing.assert_array_equal(c.tp, [2, 1, 1])
    np.testing.assert_array_equal(c.fp, [1, 1, 0])
    np.testing.assert_array_equal(c.fn, [1, 2, 2])
    p, rec, f1 = precision_recall_f1(c)
    np.testing.assert_allclose(p, [2 / 3, 1 / 2, 1])
    np.testing.assert_allclose(rec, [2 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(f1, [2 / 3, 2 / 5, 1 / 2])
    assert best_index(f1) == 0


def test_ties_are_kept_or_dropped_together():
    r = records([0.5, 0.5, 0.5, 0.2], [1, 0, 1, 1], [0.5, 0.5, 0.2])
    c = count_at(r, [0.2, 0.5, 0.50001])
    np.testing.assert_array_equal(c.tp, [3, 2, 0])
    np.testing.assert_array_equal(c.fp, [1, 1, 0])
    np.testing.assert_array_equal(c.fn, [0, 1, 3])


def test_crowd_object_absorbs_several_predictions_and_counts_once():
    # one crowd object matched by 0.9 and 0.4, both TP; found while 0.9 kept
    r = records([0.9, 0.4], [1, 1], [0.9])
    c = count_at(r, [0.4, 0.5, 0.95])
    np.testing.assert_array_equal(c.tp, [2, 1, 0])
    np.testing.assert_array_equal(c.fn, [0, 0, 1])


def test_confidences_outside_unit_interval():
    r = records([-3.5, 0.0, 7.25], [1, 0, 1], [7.25, -3.5])
    t = exact_thresholds(r.pred_conf)
    np.testing.assert_array_equal(t, [-3.5, 0.0, 7.25])
    c = count_at(r, t)
    np.testing.assert_array_equal(c.tp, [2, 1, 1])
    np.testing.assert_array_equal(c.fn, [0, 1, 1])


def test_edges_divide_by_zero_to_zero():
    # nothing kept at 2.0; no ground truth at all
    r = records([0.5], [0], [])
    c = count_at(r, [0.5, 2.0])
    p, rec, f1 = precision_recall_f1(c)
    np.testing.assert_array_equal(p, [0, 0])
    np.testing.assert_array_equal(rec, [0, 0])
    np.testing.assert_array_equal(f1, [0, 0])


def test_best_index_breaks_ties_toward_the_lowest_threshold():
    assert best_index(np.array([0.2, 0.5, 0.5, 0.1])) == 1
    with pytest.raises(ValueError, match="no thresholds"):
        best_index(np.array([]))


def test_exact_thresholds_respect_bounds_and_ignore_nan():
    c = np.array([0.3, nan, 0.1, 0.3, 0.9, 0.5])
    np.testing.assert_array_equal(exact_thresholds(c), [0.1, 0.3, 0.5, 0.9])
    np.testing.assert_array_equal(exact_thresholds(c, 0.3, 0.5), [0.3, 0.5])
    assert exact_thresholds(c, 0.6, 0.8).size == 0


def test_grid_thresholds():
    np.testing.assert_allclose(grid_thresholds(0, 1, 5), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(grid_thresholds(0.3, 0.3, 4), [0.3])
    with pytest.raises(ValueError, match="at least 1"):
        grid_thresholds(0, 1, 0)
    with pytest.raises(ValueError, match="must not exceed"):
        grid_thresholds(1, 0, 3)


def _brute_counts(r, t):
    """The obvious loop, one threshold and one object at a time."""
    tp = fp = fn = 0
    for conf, is_tp in zip(r.pred_conf, r.pred_tp):
        if not np.isnan(conf) and conf >= t:
            tp += bool(is_tp)
            fp += not is_tp
    for conf in r.gt_conf:
        fn += np.isnan(conf) or conf < t
    return tp, fp, fn


def _random_records(rng, n_pred, n_gt, n_classes=3):
    pred_conf = np.round(rng.normal(0.3, 1.0, n_pred), 1)  # ties, negatives
    pred_conf[rng.random(n_pred) < 0.1] = nan
    pred_tp = rng.random(n_pred) < 0.5
    pred_tp[np.isnan(pred_conf)] = False
    gt_conf = np.full(n_gt, nan)
    matched = rng.choice(n_gt, size=min(n_gt, pred_tp.sum()), replace=False)
    gt_conf[matched] = rng.choice(pred_conf[pred_tp], size=len(matched))
    return MatchRecords(
        classes=tuple("abc"[:n_classes]),
        pred_conf=pred_conf,
        pred_tp=pred_tp,
        pred_class=rng.integers(0, n_classes, n_pred),
        pred_sample=rng.integers(0, 10, n_pred),
        gt_conf=gt_conf,
        gt_class=rng.integers(0, n_classes, n_gt),
        gt_sample=rng.integers(0, 10, n_gt),
        num_samples=10,
    )


@pytest.mark.parametrize("seed", range(5))
def test_counts_equal_a_brute_recount(seed):
    rng = np.random.default_rng(seed)
    r = _random_records(rng, 200, 120)
    t = np.concatenate([exact_thresholds(r.pred_conf), rng.normal(0.3, 1.2, 20)])
    c = count_at(r, t)
    for i, ti in enumerate(t):
        assert (c.tp[i], c.fp[i], c.fn[i]) == _brute_counts(r, ti)


def test_class_restriction_partitions_the_counts():
    rng = np.random.default_rng(7)
    r = _random_records(rng, 150, 90)
    t = exact_thresholds(r.pred_conf)
    total = count_at(r, t)
    parts = [count_at(r.restrict_to_class(c), t) for c in r.classes]
    for k in range(3):
        np.testing.assert_array_equal(sum(p[k] for p in parts), total[k])
    with pytest.raises(ValueError, match="not in this result"):
        r.restrict_to_class("zebra")


def test_records_round_trip_through_json_types():
    import json

    rng = np.random.default_rng(3)
    r = _random_records(rng, 50, 30)
    r2 = MatchRecords.from_dict(json.loads(json.dumps(r.to_dict())))
    for name in ("pred_conf", "gt_conf"):
        np.testing.assert_array_equal(getattr(r2, name), getattr(r, name))
    for name in ("pred_tp", "pred_class", "pred_sample", "gt_class", "gt_sample"):
        np.testing.assert_array_equal(getattr(r2, name), getattr(r, name))
    assert r2.classes == r.classes and r2.num_samples == r.num_samples


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="pred_tp has 1 rows; expected 2"):
        records([0.1, 0.2], [1], [])


def test_counts_is_a_named_tuple():
    c = Counts(np.array([1]), np.array([2]), np.array([3]))
    assert c.fp[0] == 2
