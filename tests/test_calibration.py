"""Calibration of confidences: reliability bins and ECE on hand-computed
cases, fitted calibrators on simulated detectors, and one check against
FiftyOne's own evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimal_confidence.certainty.calibration import (
    Calibration,
    Calibrator,
    calibration,
    fit_calibrator,
)
from optimal_confidence.curves.sweep import MatchRecords


def records_of(conf, tp, cls=None, classes=("a", "b")):
    """MatchRecords with one prediction per image (ground truth rows for the
    true positives; calibration only reads the predictions)."""
    conf = np.asarray(conf, dtype=np.float64)
    tp = np.asarray(tp, dtype=bool)
    cls = np.zeros(conf.size, dtype=np.int64) if cls is None else np.asarray(cls, dtype=np.int64)
    images = np.arange(conf.size)
    return MatchRecords(
        classes=tuple(classes),
        pred_conf=conf, pred_tp=tp, pred_class=cls, pred_sample=images,
        gt_conf=conf[tp], gt_class=np.maximum(cls[tp], 0), gt_sample=images[tp],
        num_samples=conf.size,
    )


def simulated_detector(n, seed, powers=(3.0,)):
    """Predictions of ``len(powers)`` classes with uniform confidences ``c``,
    true positives with probability ``c ** power``: over-confident for
    ``power > 1``, under-confident for ``power < 1``."""
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, len(powers), n)
    conf = rng.uniform(0.0, 1.0, n)
    tp = rng.random(n) < conf ** np.asarray(powers)[cls]
    return records_of(conf, tp, cls, classes=tuple("abc"[: len(powers)]))


def calibrated(records, calibrator):
    """The records with each prediction's confidence mapped by ``calibrator``."""
    labels = [records.classes[c] if c >= 0 else None for c in records.pred_class]
    conf = calibrator.predict(records.pred_conf, labels)
    return records_of(conf, records.pred_tp, records.pred_class, records.classes)


# --------------------------------------------------------------------------
# bins and ECE


def test_bins_and_ece_by_hand():
    # 0.3 and 0.1 sit on edges (the lower edge belongs to the bin), 1.0 is
    # in the last bin, NaN is left out
    conf = [0.05, 0.15, 0.15, 0.95, 1.0, 0.3, 0.1, np.nan]
    tp = [True, False, True, True, False, True, False, True]
    cal = calibration(records_of(conf, tp))
    np.testing.assert_array_equal(cal.bin_edges, np.arange(11) / 10)
    np.testing.assert_array_equal(cal.count, [1, 3, 0, 1, 0, 0, 0, 0, 0, 2])
    assert cal.count.dtype == np.int64
    np.testing.assert_allclose(cal.mean_confidence[[0, 1, 3, 9]], [0.05, 0.4 / 3, 0.3, 0.975])
    np.testing.assert_allclose(cal.precision[[0, 1, 3, 9]], [1.0, 1 / 3, 1.0, 0.5])
    empty = [2, 4, 5, 6, 7, 8]
    assert np.isnan(cal.mean_confidence[empty]).all() and np.isnan(cal.precision[empty]).all()
    # (1 |0.05 - 1| + 3 |0.4/3 - 1/3| + 1 |0.3 - 1| + 2 |0.975 - 0.5|) / 7
    assert cal.ece == pytest.approx((0.95 + 0.6 + 0.7 + 0.95) / 7)
    assert cal.num_predictions == 7


def test_one_bin_is_the_gap_between_mean_confidence_and_precision():
    cal = calibration(records_of([0.9, 0.8, 0.7, 1.0], [True, False, True, True]), num_bins=1)
    assert cal.count.tolist() == [4]
    assert cal.ece == pytest.approx(abs(0.85 - 0.75))


def test_per_class_ece():
    # class a: 0.8 and right half the time (ECE 0.3); class b: 0.2 and right
    # one time in five (ECE 0); an answer without a class counts only overall
    conf = [0.8] * 4 + [0.2] * 5 + [0.5]
    tp = [True, False, True, False] + [True, False, False, False, False] + [True]
    cls = [0] * 4 + [1] * 5 + [-1]
    cal = calibration(records_of(conf, tp, cls))
    assert set(cal.per_class) == {"a", "b"}
    assert cal.per_class["a"] == pytest.approx(0.3)
    assert cal.per_class["b"] == pytest.approx(0.0, abs=1e-12)
    assert cal.num_predictions == 10
    # a class without scored predictions has no entry
    cal = calibration(records_of([0.8, np.nan], [True, True], [0, 1]))
    assert set(cal.per_class) == {"a"}


@pytest.mark.parametrize("bad", [[0.5, 1.2], [-0.1, 0.5], [np.inf, 0.5]])
def test_confidences_outside_the_unit_interval_are_refused(bad):
    with pytest.raises(ValueError, match=r"confidences in \[0, 1\].*fit_calibrator") as e:
        calibration(records_of(bad, [True, False]))
    assert "range from" in str(e.value) and "sigmoid or softmax" in str(e.value)


@pytest.mark.parametrize("num_bins", [0, -3, 2.5, True, "10"])
def test_num_bins_must_be_a_positive_integer(num_bins):
    with pytest.raises(ValueError, match="num_bins must be an integer >= 1"):
        calibration(records_of([0.5], [True]), num_bins=num_bins)


def test_no_scored_prediction_is_an_error():
    with pytest.raises(ValueError, match="no predictions with a confidence"):
        calibration(records_of([np.nan], [True]))


def test_calibration_round_trips_through_json_and_summarizes():
    cal = calibration(simulated_detector(2000, seed=0), num_bins=15)
    d = json.loads(json.dumps(cal.to_dict()))
    back = Calibration.from_dict(d)
    for name in ("bin_edges", "count", "mean_confidence", "precision"):
        np.testing.assert_array_equal(getattr(back, name), getattr(cal, name))
    assert (back.ece, back.per_class, back.num_predictions) == (
        cal.ece, cal.per_class, cal.num_predictions)
    # empty bins are stored as None
    sparse = calibration(records_of([0.05, 0.95], [False, True]))
    assert sparse.to_dict()["precision"][5] is None
    s = cal.summary()
    assert s.startswith(f"ECE {cal.ece:.3f} over 2,000 predictions in 15 bins (over-confident")
    assert "are right" in s and "of the time" in s


# --------------------------------------------------------------------------
# calibrators


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_lowers_held_out_ece_of_an_over_confident_detector(method):
    fit_on, check_on = simulated_detector(4000, seed=1), simulated_detector(4000, seed=2)
    before = calibration(check_on).ece
    assert before > 0.15
    c = fit_calibrator(fit_on, method=method)
    after = calibration(calibrated(check_on, c)).ece
    assert after < 0.03 < before


def test_per_class_maps_fix_classes_that_err_in_opposite_directions():
    # class a over-confident, class b under-confident: one global map cannot
    # fix both, a map per class can
    fit_on = simulated_detector(6000, seed=3, powers=(3.0, 0.3))
    check_on = simulated_detector(6000, seed=4, powers=(3.0, 0.3))
    per = calibration(calibrated(check_on, fit_calibrator(fit_on))).per_class
    one = calibration(calibrated(check_on, fit_calibrator(fit_on, per_class=False))).per_class
    assert max(per.values()) < 0.03
    assert min(one.values()) > 0.08


def test_isotonic_predicts_as_scikit_learn_does():
    from sklearn.isotonic import IsotonicRegression

    rec = simulated_detector(3000, seed=5)
    c = fit_calibrator(rec, per_class=False)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
        rec.pred_conf, rec.pred_tp.astype(float))
    x = np.r_[-0.5, np.linspace(0, 1, 1001), 1.5]  # out of bounds: clipped
    np.testing.assert_allclose(c.predict(x), ref.predict(x), atol=1e-12)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_round_trips_through_json_exactly(method):
    rec = simulated_detector(3000, seed=6, powers=(3.0, 0.5))
    c = fit_calibrator(rec, method=method, min_per_class=10)
    back = Calibrator.from_dict(json.loads(json.dumps(c.to_dict())))
    x = np.random.default_rng(0).uniform(0, 1, 500)
    labels = np.random.default_rng(1).choice(["a", "b", "z"], 500)
    np.testing.assert_array_equal(back.predict(x, labels), c.predict(x, labels))
    assert back.to_dict() == c.to_dict()
    with pytest.raises(ValueError, match="format version"):
        Calibrator.from_dict({**c.to_dict(), "format_version": 99})


def test_predict_keeps_nan_and_picks_the_map_by_label():
    rec = simulated_detector(2000, seed=7, powers=(3.0, 0.3))
    c = fit_calibrator(rec, min_per_class=10)
    x = np.array([0.5, np.nan, 0.5, 0.5, 0.5])
    out = c.predict(x, ["a", "a", "b", "unknown", None])
    assert np.isnan(out[1]) and not np.isnan(out[[0, 2, 3, 4]]).any()
    assert out[0] < 0.3 < out[2]  # a over-, b under-confident
    assert out[3] == out[4] == c.predict([0.5])[0]  # the global map
    assert np.isnan(c.predict([np.nan])).all()
    with pytest.raises(ValueError, match="one class per confidence"):
        c.predict([0.5, 0.6], ["a"])


def test_small_classes_use_the_global_map():
    rng = np.random.default_rng(8)
    conf = rng.uniform(0, 1, 120)
    rec = records_of(conf, rng.random(120) < conf, [0] * 100 + [1] * 20)
    c = fit_calibrator(rec, min_per_class=50)
    assert set(c.class_maps) == {"a"}
    assert "1 class with a map of its own" in c.summary()
    x = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(c.predict(x, ["b"] * 11), c.predict(x))
    c = fit_calibrator(rec, min_per_class=10_000)
    assert c.class_maps == {}
    assert "one global map" in c.summary()


def test_sigmoid_works_on_the_logit_and_keeps_calibrated_confidences():
    rng = np.random.default_rng(9)
    conf = rng.uniform(0.01, 0.99, 20000)
    rec = records_of(conf, rng.random(conf.size) < conf)
    c = fit_calibrator(rec, method="sigmoid", per_class=False)
    assert c.global_map.on == "logit"
    assert c.global_map.coef == pytest.approx(1.0, abs=0.1)
    assert c.global_map.intercept == pytest.approx(0.0, abs=0.1)
    with pytest.raises(ValueError, match="fit on confidences in"):
        c.predict([1.5])


def test_sigmoid_fits_raw_scores_outside_the_unit_interval():
    rng = np.random.default_rng(10)
    logits = rng.normal(0, 3, 5000)
    rec = records_of(logits, rng.random(logits.size) < 1 / (1 + np.exp(-logits / 2)))
    c = fit_calibrator(rec, method="sigmoid", per_class=False)
    assert c.global_map.on == "score"
    assert c.global_map.coef == pytest.approx(0.5, abs=0.1)
    p = c.predict(logits)
    assert p.min() >= 0 and p.max() <= 1
    # isotonic takes any scores too
    assert fit_calibrator(rec, per_class=False).predict([-100.0, 100.0]).tolist() == [
        pytest.approx(0, abs=0.05), pytest.approx(1, abs=0.05)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method="beta"), "method must be one of"),
        (dict(per_class="yes"), "per_class must be True or False"),
        (dict(min_per_class=0), "min_per_class must be an integer >= 1"),
    ],
)
def test_fit_options_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_calibrator(simulated_detector(100, seed=0), **kwargs)


def test_one_outcome_only_gives_a_constant_sigmoid():
    c = fit_calibrator(records_of([0.2, 0.5, 0.9], [True] * 3), method="sigmoid")
    assert np.allclose(c.predict([0.1, 0.9]), 1.0, atol=1e-5)


# --------------------------------------------------------------------------
# against FiftyOne's evaluation


def test_calibration_matches_a_recount_from_evaluate_detections():
    import optimal_confidence
    from helpers import make_random_dataset

    ds = make_random_dataset("oc-calibration", num_samples=60, seed=0)
    try:
        records = optimal_confidence.compute_optimal_confidence(ds, "predictions").records
        cal = calibration(records)
        ds.evaluate_detections("predictions", gt_field="ground_truth", eval_key="oc_cal")
        confs = ds.values("predictions.detections.confidence", unwind=True)
        status = ds.values("predictions.detections.oc_cal", unwind=True)
        ds.delete_evaluation("oc_cal")
    finally:
        ds.delete()

    scored = [(c, s == "tp") for c, s in zip(confs, status) if c is not None]
    assert any(c is None for c in confs)  # the dataset has unscored predictions
    count, sum_conf, sum_tp = np.zeros(10), np.zeros(10), np.zeros(10)
    for c, tp in scored:
        b = max(i for i in range(10) if c >= i / 10)
        count[b] += 1
        sum_conf[b] += c
        sum_tp[b] += tp
    assert cal.num_predictions == len(scored)
    np.testing.assert_array_equal(cal.count, count)
    full = count > 0
    np.testing.assert_allclose(cal.mean_confidence[full], sum_conf[full] / count[full])
    np.testing.assert_allclose(cal.precision[full], sum_tp[full] / count[full])
    ece = np.sum(count[full] / count.sum() * np.abs(sum_conf[full] - sum_tp[full]) / count[full])
    assert cal.ece == pytest.approx(ece)
