"""The review band and bootstrap intervals through the API, against the oracle."""

import numpy as np
import pytest

from fiftyone import ViewField as F

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.curves.objectives import UnattainableTargetError

from helpers import oracle_counts, snapshot


@pytest.fixture(scope="module")
def result(random_dataset):
    return compute_optimal_confidence(random_dataset, "predictions", progress=False)


def evaluate(view, key):
    """TP/FP/FN of evaluating ``view`` as it is (no further filter)."""
    return oracle_counts(view, "predictions", "ground_truth", float("-inf"))


def test_review_band_counts_equal_the_oracle(random_dataset, result):
    band = result.review_band(precision=0.6, max_lost=0.1, review_cost=0.2, fp_cost=1, fn_cost=3)
    assert band.t_low <= band.t_high
    assert band.accepted_precision >= 0.6
    assert band.lost_share <= 0.1

    # accepted: the filter-and-evaluate oracle at t_high
    tp_h, fp_h, _ = oracle_counts(random_dataset, "predictions", "ground_truth", band.t_high)
    assert (band.accepted_tp, band.accepted_fp) == (tp_h, fp_h)
    # accepted + review = everything at t_low
    tp_l, fp_l, fn_l = oracle_counts(random_dataset, "predictions", "ground_truth", band.t_low)
    assert (band.review_tp, band.review_fp) == (tp_l - tp_h, fp_l - fp_h)
    # dropped: what keeping every scored prediction would add
    tp_all, _, _ = oracle_counts(random_dataset, "predictions", "ground_truth", float("-inf"))
    assert band.lost_tp == tp_all - tp_l

    # after a perfect review: accepted, plus the band's true positives (as
    # an evaluation at t_low marks them), evaluated again from scratch
    low = random_dataset.filter_labels("predictions", F("confidence") >= band.t_low, only_matches=False)
    low.evaluate_detections("predictions", gt_field="ground_truth", eval_key="oc_band")
    try:
        after = low.filter_labels(
            "predictions",
            (F("confidence") >= band.t_high) | (F("oc_band") == "tp"),
            only_matches=False,
        )
        assert evaluate(after, "after") == (
            band.accepted_tp + band.review_tp, band.accepted_fp, band.fn_after_review
        )
        review = low.filter_labels("predictions", F("confidence") < band.t_high)
        assert band.review_images == len(review)
    finally:
        random_dataset.delete_evaluation("oc_band")

    # shares and cost
    n = random_dataset.count("predictions.detections")
    assert band.accepted + band.review + band.dropped == n
    assert band.automatic_share == pytest.approx(1 - band.review / n)
    assert band.cost == pytest.approx(0.2 * band.review + band.accepted_fp + 3 * band.fn_after_review)
    assert "need no person" in band.summary()


def test_review_band_is_the_narrowest_that_meets_both_goals(result):
    band = result.review_band(precision=0.55, max_lost=0.05)
    t = result.thresholds
    feasible = t[result.precision >= 0.55]
    assert band.t_high == feasible.min()
    total = result.tp[0]
    lost = (total - result.tp) / total
    ok = t[(lost <= 0.05) & (t <= band.t_high)]
    assert band.t_low == ok.max()
    # a given band is described, not searched
    same = result.review_band(t_low=band.t_low, t_high=band.t_high)
    assert same.review == band.review and same.cost is None


def test_review_band_errors(random_dataset, result):
    with pytest.raises(UnattainableTargetError, match="highest precision is"):
        result.review_band(precision=0.99)
    with pytest.raises(ValueError, match="either precision"):
        result.review_band(precision=0.6, t_low=0.2, t_high=0.5)
    with pytest.raises(ValueError, match="must not exceed"):
        result.review_band(t_low=0.6, t_high=0.5)
    anyclass = compute_optimal_confidence(random_dataset, "predictions", classwise=False, progress=False)
    with pytest.raises(ValueError, match="classwise"):
        anyclass.review_band(precision=0.5)


def test_bootstrap_through_the_api(random_dataset, result):
    before = snapshot(random_dataset)
    a = compute_optimal_confidence(random_dataset, "predictions", n_bootstrap=200, seed=3, progress=False)
    assert snapshot(random_dataset) == before
    b = result.with_bootstrap(200, seed=3)
    assert a.threshold_ci == b.threshold_ci and a.score_ci == b.score_ci
    assert a.threshold_ci[0] <= a.best_threshold <= a.threshold_ci[1]
    assert a.score_ci[0] <= a.best_f1 <= a.score_ci[1]
    m = a.metrics()
    assert m["threshold_ci"] == list(a.threshold_ci) and m["ci_level"] == 0.95
    lo, hi = a.near_best(0.02)
    assert lo <= a.best_threshold <= hi
    ends = np.isin(a.thresholds, [lo, hi])
    assert np.all(a.f1[ends] >= a.best_f1 - 0.02)
    outside = (a.thresholds < lo) | (a.thresholds > hi)
    assert np.all(a.f1[outside] < a.best_f1 - 0.02)
    assert result.threshold_ci is None
    with pytest.raises(ValueError, match="n_bootstrap"):
        compute_optimal_confidence(random_dataset, "predictions", n_bootstrap=0)


def test_bootstrap_is_stored_with_the_run(random_dataset):
    key = "boot_run"
    try:
        r = compute_optimal_confidence(
            random_dataset, "predictions", n_bootstrap=50, seed=1, ci_level=0.9,
            run_key=key, progress=False,
        )
        back = load_optimal_confidence(random_dataset, key)
        assert back.threshold_ci == r.threshold_ci
        assert back.uncertainty.level == 0.9
    finally:
        if key in random_dataset.list_runs():
            random_dataset.delete_run(key)


def test_held_out_check(random_dataset):
    ids = random_dataset.values("id")
    tune = random_dataset.select(ids[:30])
    held = random_dataset.select(ids[30:])
    r = compute_optimal_confidence(tune, "predictions", progress=False)
    check = r.check_on(held)
    t = r.best_threshold
    assert check.threshold == t
    assert check.tuned["score"] == pytest.approx(r.best_f1)
    tp, fp, fn = oracle_counts(held, "predictions", "ground_truth", t)
    assert (check.held_out["tp"], check.held_out["fp"], check.held_out["fn"]) == (tp, fp, fn)
    assert check.held_out["score"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    alone = compute_optimal_confidence(held, "predictions", progress=False)
    assert check.held_out_best_threshold == alone.best_threshold
    assert check.optimism == pytest.approx(check.tuned["score"] - check.held_out["score"])
    assert "held-out images" in check.summary()

    # a precision target compares the recall the target buys
    strict = r.with_objective("precision", target=0.5)
    s = strict.check_on(held)
    assert s.tuned["score"] == pytest.approx(strict.best_recall)
    assert s.held_out["recall"] == s.held_out["score"]
