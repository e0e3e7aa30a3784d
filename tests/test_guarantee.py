"""Thresholds with a finite-sample guarantee (Learn-then-Test), no FiftyOne:
the p-values against their formulas, the order and stopping of the fixed
sequence on hand-built cases, the risks against a per-image brute force,
and a simulation that the guarantee holds and is not trivially
conservative.

The simulation helpers here are also used by
``tests/benchmarks/bench_guarantee.py``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import beta, binom

from optimal_confidence.certainty.guarantee import (
    Guarantee,
    bentkus_p_value,
    binomial_p_value,
    certify,
    certify_per_class,
    empirical_risk,
    fixed_sequence_test,
    hoeffding_bentkus_p_value,
    hoeffding_p_value,
    upper_confidence_bound,
)
from optimal_confidence.curves.objectives import UnattainableTargetError
from optimal_confidence.curves.sweep import MatchRecords, count_at, point_metrics, precision_recall_f1

# --------------------------------------------------------------------------
# simulated pools (shared with the benchmark)


def _records(pred, gt, num_images, classes=("a",)):
    """MatchRecords from ``(conf, tp, class, image)`` and ``(conf, class,
    image)`` column tuples."""
    pc, pt, pk, ps = pred
    gc, gk, gs = gt
    return MatchRecords(
        classes=tuple(classes),
        pred_conf=np.asarray(pc, dtype=np.float64),
        pred_tp=np.asarray(pt, dtype=bool),
        pred_class=np.asarray(pk, dtype=np.int64),
        pred_sample=np.asarray(ps, dtype=np.int64),
        gt_conf=np.asarray(gc, dtype=np.float64),
        gt_class=np.asarray(gk, dtype=np.int64),
        gt_sample=np.asarray(gs, dtype=np.int64),
        num_samples=int(num_images),
    )


def detection_pool(
    num_images, seed=0, *, objects=3.0, found=0.9, false_alarms=1.5,
    tp_beta=(5.0, 2.0), fp_beta=(2.0, 5.0), num_classes=1,
):
    """A detector on ``num_images`` images: Poisson(``objects``) objects per
    image, each found with probability ``found`` by one prediction with a
    Beta(``tp_beta``) confidence; Poisson(``false_alarms``) false positives
    with Beta(``fp_beta``) confidences. Some images have no objects."""
    rng = np.random.default_rng(seed)
    n_obj = rng.poisson(objects, num_images)
    gs = np.repeat(np.arange(num_images), n_obj)
    hit = rng.random(gs.size) < found
    gc = np.where(hit, rng.beta(*tp_beta, gs.size), np.nan)
    gk = rng.integers(0, num_classes, gs.size)
    n_fp = rng.poisson(false_alarms, num_images)
    fs = np.repeat(np.arange(num_images), n_fp)
    fc = rng.beta(*fp_beta, fs.size)
    fk = rng.integers(0, num_classes, fs.size)
    pred = (
        np.r_[gc[hit], fc],
        np.r_[np.ones(hit.sum(), bool), np.zeros(fs.size, bool)],
        np.r_[gk[hit], fk],
        np.r_[gs[hit], fs],
    )
    classes = tuple("abcdefgh"[:num_classes])
    return _records(pred, (gc, gk, gs), num_images, classes)


def classifier_pool(num_images, seed=0, *, beta=(5.0, 1.5), power=1.5, missing=0.02):
    """A multiclass classifier that escalates: one answer per image with a
    Beta(``beta``) confidence ``c``, right with probability ``c ** power``
    (over-confident for ``power > 1``); a few answers have no confidence.
    Records as :mod:`optimal_confidence.records.classification` builds them."""
    rng = np.random.default_rng(seed)
    conf = rng.beta(*beta, num_images)
    conf[rng.random(num_images) < missing] = np.nan
    right = rng.random(num_images) < np.nan_to_num(conf) ** power
    images = np.arange(num_images)
    zeros = np.zeros(num_images, dtype=np.int64)
    return _records(
        (conf, right, zeros, images), (np.where(right, conf, np.nan), zeros, images), num_images
    )


def subset(records, images):
    """The records of some images, renumbered ``0..len(images)-1``."""
    images = np.asarray(images)
    new = np.full(records.num_samples, -1)
    new[images] = np.arange(images.size)
    p = new[records.pred_sample] >= 0
    g = new[records.gt_sample] >= 0
    return MatchRecords(
        classes=records.classes,
        pred_conf=records.pred_conf[p], pred_tp=records.pred_tp[p],
        pred_class=records.pred_class[p], pred_sample=new[records.pred_sample[p]],
        gt_conf=records.gt_conf[g], gt_class=records.gt_class[g],
        gt_sample=new[records.gt_sample[g]], num_samples=int(images.size),
    )


def per_image_losses(records, thresholds, objective):
    """Brute force, image by image: ``(num, den)`` arrays of shape
    ``(num_images, num_thresholds)`` such that the risk of a set of images
    ``S`` is ``num[S].sum(0) / den[S].sum(0)``: the miss rate (``den`` 1 on
    images with ground truth), the false discovery proportion (``den`` 1 on
    images with a scored prediction),
    or the wrong and the given automatic answers."""
    t = np.asarray(thresholds, dtype=np.float64)
    n = records.num_samples
    num, den = np.zeros((n, t.size)), np.zeros((n, t.size))
    by_p = np.split(np.argsort(records.pred_sample, kind="stable"),
                    np.cumsum(np.bincount(records.pred_sample, minlength=n))[:-1])
    by_g = np.split(np.argsort(records.gt_sample, kind="stable"),
                    np.cumsum(np.bincount(records.gt_sample, minlength=n))[:-1])
    for i in range(n):
        pc, pt = records.pred_conf[by_p[i]], records.pred_tp[by_p[i]]
        kept = pc[None, :] >= t[:, None]  # NaN is never kept
        wrong = (kept & ~pt[None, :]).sum(1)
        if objective == "recall":
            gc = records.gt_conf[by_g[i]]
            if gc.size:
                num[i] = 1 - (gc[None, :] >= t[:, None]).sum(1) / gc.size
                den[i] = 1
        elif objective == "precision":  # over the images with a scored prediction
            if (~np.isnan(pc)).any():
                num[i] = wrong / np.maximum(kept.sum(1), 1)
                den[i] = 1
        else:
            num[i], den[i] = wrong, kept.sum(1)
    return num, den


def simulate(pool, thresholds, objective, target, guarantee, *, n_cal, draws, seed=0):
    """Draws ``draws`` calibration sets of ``n_cal`` images from ``pool``,
    certifies a threshold on each and measures its risk on the rest of the
    pool. A draw with no certified threshold deploys nothing and is not a
    violation. Also reports the naive choice (the riskiest threshold whose
    risk on the calibration set is within the bound) for contrast."""
    alpha = 1 - target
    t = np.asarray(thresholds, dtype=np.float64)
    num, den = per_image_losses(pool, t, objective)
    tot_num, tot_den = num.sum(0), den.sum(0)
    rng = np.random.default_rng(seed)
    risk, naive = np.full(draws, np.nan), np.full(draws, np.nan)
    ascending = objective == "recall"
    for d in range(draws):
        cal = rng.choice(pool.num_samples, n_cal, replace=False)
        c_num, c_den = num[cal].sum(0), den[cal].sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rest = (tot_num - c_num) / (tot_den - c_den)
            ok = np.flatnonzero(c_num / c_den <= alpha)
        if ok.size:
            naive[d] = rest[ok[-1] if ascending else ok[0]]
        try:
            g = certify(subset(pool, cal), t, objective, target, guarantee)
        except UnattainableTargetError:
            continue
        risk[d] = rest[np.searchsorted(t, g.threshold)]
    done = ~np.isnan(risk)
    return {
        "violation": float(np.mean(risk[done] > alpha) * done.mean()) if done.any() else 0.0,
        "median_risk": float(np.median(risk[done])) if done.any() else float("nan"),
        "uncertified": float(1 - done.mean()),
        "naive_violation": float(np.nanmean(naive > alpha)),
        "naive_median_risk": float(np.nanmedian(naive)),
        "bound": alpha,
    }


# --------------------------------------------------------------------------
# p-values


def test_hoeffding_matches_its_formula():
    def h(a, b):
        return a * math.log(a / b) + (1 - a) * math.log((1 - a) / (1 - b))

    for r, n, a in [(0.05, 100, 0.1), (0.2, 37, 0.3), (0.01, 1000, 0.02)]:
        assert hoeffding_p_value(r, n, a) == pytest.approx(math.exp(-n * h(r, a)), rel=1e-12)
    # a mean at or above the bound is no evidence at all
    assert hoeffding_p_value(0.3, 50, 0.2) == 1.0
    assert hoeffding_p_value(0.2, 50, 0.2) == 1.0
    # no loss at all: (1 - alpha) ** n
    assert hoeffding_p_value(0.0, 30, 0.1) == pytest.approx(0.9**30, rel=1e-12)


def test_bentkus_and_binomial_match_scipy():
    for r, n, a in [(0.05, 100, 0.1), (0.123, 57, 0.2), (0.0, 10, 0.5)]:
        expected = math.e * binom.cdf(math.ceil(n * r), n, a)
        assert bentkus_p_value(r, n, a) == pytest.approx(expected, rel=1e-12)
    # a mean of exactly k / n is not pushed to k + 1 by float noise
    assert 10 * (0.1 + 0.2) > 3
    assert bentkus_p_value(0.1 + 0.2, 10, 0.5) == pytest.approx(math.e * binom.cdf(3, 10, 0.5))
    for k, n, a in [(0, 10, 0.1), (5, 100, 0.1), (12, 40, 0.25)]:
        assert binomial_p_value(k, n, a) == pytest.approx(binom.cdf(k, n, a), rel=1e-12)
    assert binomial_p_value(0, 0, 0.1) == 1.0  # nothing answered: no evidence


def test_hoeffding_bentkus_is_the_smaller_bound():
    # a known value: mean 0.05 over 100 images, bound 0.1
    # Hoeffding exp(-100 h(0.05, 0.1)) = 0.1881; Bentkus e P(Bin(100, 0.1) <= 5) = 0.1565
    assert hoeffding_p_value(0.05, 100, 0.1) == pytest.approx(0.18810, abs=5e-5)
    assert bentkus_p_value(0.05, 100, 0.1) == pytest.approx(0.15651, abs=5e-5)
    assert hoeffding_bentkus_p_value(0.05, 100, 0.1) == pytest.approx(0.15651, abs=5e-5)
    r = np.linspace(0, 0.5, 11)
    hb = hoeffding_bentkus_p_value(r, 80, 0.25)
    assert np.array_equal(hb, np.minimum(1, np.minimum(hoeffding_p_value(r, 80, 0.25),
                                                       bentkus_p_value(r, 80, 0.25))))
    assert np.all(np.diff(hb) >= 0)  # more loss, less evidence
    assert hb.max() <= 1


def test_upper_confidence_bound_inverts_the_p_value():
    r, n, delta = np.array([0.0, 0.05, 0.3]), np.array([100, 400, 50]), 0.1
    ucb = upper_confidence_bound(r, n, delta)
    assert np.all(ucb > r)
    assert np.all(hoeffding_bentkus_p_value(r, n, ucb) <= delta)
    assert np.all(hoeffding_bentkus_p_value(r, n, ucb - 1e-6) > delta)
    # the exact binomial bound: Clopper-Pearson's one-sided upper limit
    k, m = 4, 60
    ub = upper_confidence_bound(k / m, m, 0.05, binary=True)
    assert ub == pytest.approx(beta.ppf(0.95, k + 1, m - k), abs=1e-9)
    assert upper_confidence_bound(0.1, 0, 0.1) == 1.0


# --------------------------------------------------------------------------
# fixed-sequence testing


def test_fixed_sequence_rejects_until_the_first_failure():
    assert fixed_sequence_test([0.01, 0.02, 0.5, 0.01], 0.05) == 2
    assert fixed_sequence_test([0.5, 0.01], 0.05) == 0
    assert fixed_sequence_test([0.01, 0.05], 0.05) == 2  # <= delta rejects
    assert fixed_sequence_test([0.01, np.nan, 0.01], 0.05) == 1
    assert fixed_sequence_test([], 0.05) == 0


def _one_gt_per_image(gt_conf):
    """Images with one object each, found at ``gt_conf`` (NaN: missed)."""
    gc = np.asarray(gt_conf, dtype=np.float64)
    n = gc.size
    hit = ~np.isnan(gc)
    images = np.arange(n)
    return _records(
        (gc[hit], np.ones(hit.sum(), bool), np.zeros(hit.sum()), images[hit]),
        (gc, np.zeros(n), images), n,
    )


def test_recall_tests_ascending_and_returns_the_last_certified():
    # 90 images found at 0.9, 10 missed: miss rate 0.1 up to 0.9, 1.0 above
    rec = _one_gt_per_image([0.9] * 90 + [np.nan] * 10)
    g = certify(rec, [0.5, 0.9, 0.95], "recall", 0.7, 0.9)
    assert g.threshold == 0.9 and g.num_certified == 2
    assert g.empirical_risk == pytest.approx(0.1)
    assert g.p_value == pytest.approx(hoeffding_bentkus_p_value(0.1, 100, 0.3))
    assert g.recall == pytest.approx(0.9) and g.precision == 1.0
    assert g.num_images == 100 and g.risk_bound == 0.3


def test_recall_stops_at_the_first_failure_even_if_later_would_pass():
    # a candidate below every confidence fails first: nothing is certified,
    # although 0.9 alone would pass
    rec = _one_gt_per_image([0.9] * 90 + [np.nan] * 10)
    with pytest.raises(UnattainableTargetError) as e:
        certify(rec, [0.5, 0.9], "recall", 0.95, 0.9)
    assert "5%" in str(e.value) and "more images of the same kind would not help" in str(e.value)


def _images_with_predictions(rows):
    """One image per entry of ``rows``; each entry a list of ``(conf, tp)``."""
    pc, pt, ps, gc, gs = [], [], [], [], []
    for i, preds in enumerate(rows):
        for c, tp in preds:
            pc.append(c), pt.append(tp), ps.append(i)
            if tp:
                gc.append(c), gs.append(i)
    return _records((pc, pt, np.zeros(len(pc)), ps), (gc, np.zeros(len(gc)), gs), len(rows))


def test_precision_tests_descending_and_returns_the_lowest_certified():
    # 200 images: a true positive at 0.8 each; 60 of them also a false
    # positive at 0.3, so the per-image FDP is 0 down to 0.3 and 0.5 on 60
    # images below: FDR 0 at 0.5 and 0.8, 0.15 at 0.3 and 0.1
    rows = [[(0.8, True)] + ([(0.3, False)] if i < 60 else []) for i in range(200)]
    rec = _images_with_predictions(rows)
    t = [0.1, 0.3, 0.5, 0.8]
    g = certify(rec, t, "precision", 0.9, 0.9)  # bound 0.1: 0.3 fails
    assert g.threshold == 0.5 and g.num_certified == 2 and g.empirical_risk == 0
    g = certify(rec, t, "precision", 0.75, 0.9)  # bound 0.25: all pass
    assert g.threshold == 0.1 and g.num_certified == 4
    assert g.empirical_risk == pytest.approx(0.15)
    assert g.precision == pytest.approx(200 / 260)  # pooled, not per image


def test_precision_stops_when_the_safest_threshold_fails():
    # the most confident prediction of every image is a false positive
    rows = [[(0.95, False), (0.5, True), (0.4, True), (0.3, True)] for _ in range(300)]
    rec = _images_with_predictions(rows)
    with pytest.raises(UnattainableTargetError) as e:
        certify(rec, [0.3, 0.9], "precision", 0.7, 0.9)
    assert "drop the candidate thresholds beyond it" in str(e.value)
    # without the failing candidate, 0.3 (FDP 0.25 per image) is certified
    assert certify(rec, [0.3], "precision", 0.7, 0.9).threshold == 0.3


def test_accuracy_skips_thresholds_with_too_few_answers():
    # answers at 1.0 (5), 0.9 (100, 2 wrong), 0.5 (100, 40 wrong); an error
    # rate of 0.05 passes from 5 + 100 answers on, not on 5
    conf = np.r_[np.full(5, 1.0), np.full(100, 0.9), np.full(100, 0.5)]
    right = np.r_[np.ones(5, bool), np.arange(100) >= 2, np.arange(100) >= 40]
    images = np.arange(conf.size)
    z = np.zeros(conf.size)
    rec = _records((conf, right, z, images), (np.where(right, conf, np.nan), z, images), conf.size)
    # the 5 answers at 1.0 are skipped, not a stop
    g = certify(rec, [0.5, 0.9, 1.0], "accuracy", 0.9, 0.9)
    assert g.threshold == 0.9 and g.num_certified == 1
    assert g.p_value == pytest.approx(binom.cdf(2, 105, 0.1))
    assert g.coverage == pytest.approx(105 / 205)
    assert g.precision == pytest.approx(103 / 105)
    assert "answered automatically" in g.summary()


def test_accuracy_refuses_several_predictions_per_image():
    rows = [[(0.9, True), (0.8, False)] for _ in range(50)]
    with pytest.raises(ValueError, match="objective_name='precision'"):
        certify(_images_with_predictions(rows), [0.5], "accuracy", 0.9, 0.9)


# --------------------------------------------------------------------------
# risks against the brute force


@pytest.mark.parametrize("objective", ["recall", "precision", "accuracy"])
def test_empirical_risk_matches_a_per_image_brute_force(objective):
    if objective == "accuracy":
        rec = classifier_pool(300, seed=3)
    else:
        rec = detection_pool(300, seed=3, num_classes=2)
        # ties within and across images, and predictions without confidence
        conf = np.round(rec.pred_conf, 1)
        conf[::17] = np.nan
        rec = MatchRecords(
            rec.classes, conf, rec.pred_tp, rec.pred_class, rec.pred_sample,
            np.round(rec.gt_conf, 1), rec.gt_class, rec.gt_sample, rec.num_samples + 5,
        )
    t = np.r_[-1, np.linspace(0, 1, 41), 2]
    num, den = per_image_losses(rec, t, objective)
    r = empirical_risk(rec, t, objective)
    expected = np.divide(num.sum(0), den.sum(0), out=np.zeros(t.size), where=den.sum(0) > 0)
    np.testing.assert_allclose(r.risk, expected, atol=1e-12)
    np.testing.assert_array_equal(r.n, den.sum(0))


# --------------------------------------------------------------------------
# the guarantee object, arguments, per class


def test_guarantee_round_trips_through_json_and_reads_well():
    rec = detection_pool(300, seed=1)
    g = certify(rec, np.linspace(0, 1, 51), "recall", 0.8, 0.9)
    back = Guarantee.from_dict(json.loads(json.dumps(g.to_dict())))
    assert back == g
    s = g.summary()
    assert s.startswith("With 90% confidence, on images like these the expected miss rate")
    assert "at most 20%" in s and "Learn-then-Test" in s and f"{g.num_images:,} images" in s
    g = certify(rec, np.linspace(0, 1, 51), "precision", 0.8, 0.9)
    assert "false discovery rate (per image)" in g.summary()
    assert "averaged over images" in g.summary()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(objective_name="f1"), "objective_name must be one of"),
        (dict(target=0), r"target must be a number in \(0, 1\]"),
        (dict(target=1.5), r"target must be a number in \(0, 1\]"),
        (dict(guarantee=1), r"guarantee must be a number in \(0, 1\)"),
        (dict(guarantee=0), r"guarantee must be a number in \(0, 1\)"),
        (dict(thresholds=[0.5, 0.2]), "thresholds must be strictly ascending"),
        (dict(thresholds=[]), "thresholds must be a non-empty"),
    ],
)
def test_arguments_are_checked(kwargs, match):
    args = dict(thresholds=[0.2, 0.5], objective_name="recall", target=0.8, guarantee=0.9)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        certify(detection_pool(20), **args)


def test_unattainable_names_the_best_bound_and_the_images_needed():
    rec = detection_pool(60, seed=2)
    with pytest.raises(UnattainableTargetError) as e:
        certify(rec, np.linspace(0, 1, 21), "recall", 0.85, 0.95)
    err = e.value
    msg = str(err)
    assert "best bound they give is" in msg and "images would be needed" in msg
    assert 0 < err.best_value < 0.85 and 0 <= err.best_threshold <= 1
    # the count given is enough: at the same rates, that many images pass
    needed = int(msg.split("roughly ")[1].split(" images")[0].replace(",", ""))
    assert needed > 60
    r = empirical_risk(rec, [0.0], "recall")
    assert hoeffding_bentkus_p_value(r.risk, needed, 0.15)[0] <= 0.05
    assert hoeffding_bentkus_p_value(r.risk, needed - 1, 0.15)[0] > 0.05


def test_a_target_of_one_cannot_be_certified():
    rec = _one_gt_per_image([0.9] * 500)  # a perfect detector
    with pytest.raises(UnattainableTargetError, match="use a target below 1"):
        certify(rec, [0.5], "recall", 1.0, 0.9)


def test_per_class_splits_the_level():
    rec = detection_pool(600, seed=4, num_classes=3)
    out = certify_per_class(rec, np.linspace(0, 1, 51), "recall", 0.8, 0.9)
    assert set(out) == {"a", "b", "c"}
    for name, g in out.items():
        assert isinstance(g, Guarantee)
        assert g.class_name == name and g.num_classes == 3
        assert g.delta == pytest.approx(0.1 / 3)
        assert "jointly for all 3 classes" in g.summary() and "Bonferroni" in g.summary()
        assert g.summary().startswith(f"For class {name!r}, with 90% confidence")
        # the same as certifying the class alone at the split level
        alone = certify(
            rec.restrict_to_class(name), np.linspace(0, 1, 51), "recall", 0.8, 1 - 0.1 / 3
        )
        assert alone.threshold == g.threshold
    # a class that cannot be certified gets the reason
    out = certify_per_class(rec, np.linspace(0, 1, 51), "recall", 0.99, 0.9)
    assert all(isinstance(v, str) and "No threshold can be certified" in v for v in out.values())


@pytest.mark.parametrize("pool", [dict(objects=0.5, false_alarms=0.5), dict(objects=1, false_alarms=2)])
def test_a_precision_guarantee_never_picks_what_the_point_estimate_rejects(pool):
    # few objects and many false alarms per image: the per-image rates weigh
    # the many images with one or two predictions alike, and alone they
    # certify thresholds whose pooled precision is far below the target
    rec = detection_pool(2000, seed=0, **pool)
    t = np.linspace(0, 1, 1001)
    precision, _, _ = precision_recall_f1(count_at(rec, t))
    g = certify(rec, t, "precision", 0.9, 0.9)
    i = int(np.searchsorted(t, g.threshold))
    assert g.precision == pytest.approx(precision[i]) and precision[i] >= 0.9
    assert g.threshold >= t[np.flatnonzero(precision >= 0.9)[0]]  # the point estimate
    # the population: the images with a scored prediction
    assert g.num_images == np.unique(rec.pred_sample).size < rec.num_samples
    assert g.summary().count("images with a prediction") == 1
    # the per-image risk alone certifies a riskier threshold, below the
    # target in pooled terms
    r = empirical_risk(rec, t, "precision")
    assert r.n[0] == g.num_images
    p = hoeffding_bentkus_p_value(r.risk, r.n, 0.1)[::-1]
    riskiest = t.size - fixed_sequence_test(p, 0.1)
    assert t[riskiest] < g.threshold and precision[riskiest] < 0.88


def test_a_recall_guarantee_never_picks_what_the_point_estimate_rejects():
    # 1000 images with one object found at 0.9, 500 with ten found at 0.2:
    # above 0.2 the per-image miss rate is 1/3 (certified within 0.4), the
    # pooled recall 1/6
    gc = np.r_[np.full(1000, 0.9), np.full(5000, 0.2)]
    gs = np.r_[np.arange(1000), np.repeat(np.arange(1000, 1500), 10)]
    zeros = np.zeros(gc.size, dtype=np.int64)
    rec = _records((gc, np.ones(gc.size, bool), zeros, gs), (gc, zeros, gs), 1500)
    t = [0.1, 0.2, 0.5, 0.9]
    assert empirical_risk(rec, t, "recall").risk[2:] == pytest.approx([1 / 3, 1 / 3])
    g = certify(rec, t, "recall", 0.6, 0.9)
    assert g.num_certified == 4  # all four pass the test
    assert g.threshold == 0.2 and g.recall == 1.0  # the riskiest with pooled recall >= 0.6
    with pytest.raises(UnattainableTargetError, match="pooled recall on these images stays below 0.6"):
        certify(rec, [0.5, 0.9], "recall", 0.6, 0.9)


def test_a_classifiers_precision_bounds_the_wrong_answers_among_those_kept():
    # one answer per image: the per-image false discovery rate would be
    # FP / N, far below 1 - precision; the loss is the accuracy loss instead
    rec = classifier_pool(3000, seed=5, beta=(4.0, 2.0), power=2.0)
    t = np.linspace(0, 1, 101)
    g = certify(rec, t, "precision", 0.9, 0.9, task="binary")
    a = certify(rec, t, "accuracy", 0.9, 0.9)
    assert (g.threshold, g.p_value, g.num_images) == (a.threshold, a.p_value, a.num_images)
    assert g.objective == "precision" and g.metric == "share of wrong answers among those kept"
    assert g.precision >= 0.9 and g.empirical_risk == pytest.approx(1 - g.precision)
    assert "of the answers kept; precision" in g.summary() and "averaged over images" not in g.summary()
    # as a detector's per-image rate it would certify a far riskier threshold
    assert certify(rec, t, "precision", 0.9, 0.9).threshold < g.threshold
    with pytest.raises(ValueError, match=r"task must be one of \['detection', 'binary', 'multiclass'\]; got 'detections'"):
        certify(rec, t, "precision", 0.9, 0.9, task="detections")


def test_certified_thresholds_that_keep_nothing_say_so():
    # two images whose only prediction is a confident false positive: only
    # the thresholds above it are certified, and they keep nothing
    rows = [[(0.99, False)] if i < 2 else [(0.5, True)] for i in range(100)]
    with pytest.raises(UnattainableTargetError, match="certifies only thresholds that keep no prediction"):
        certify(_images_with_predictions(rows), [0.5, 0.995, 1.0], "precision", 0.95, 0.9)


def test_the_point_estimate_is_the_best_threshold_without_a_guarantee():
    # the certified threshold joins the curves; the point estimate is still
    # chosen among the swept thresholds: what the same sweep without a
    # guarantee reports, also where the added point would win a tie
    from optimal_confidence.curves.sweep_curves import SweepConfig
    from optimal_confidence.spec.objective import Objective
    from optimal_confidence.outputs.reports_certainty import point_estimate
    from optimal_confidence.result.result import OptimalConfidenceResult
    from optimal_confidence.curves.sweep import exact_thresholds

    ties = checked = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        rec = detection_pool(
            int(rng.integers(150, 400)), seed=seed, objects=float(rng.uniform(0.5, 3)),
            false_alarms=float(rng.uniform(0.5, 2)),
        )
        t = exact_thresholds(rec.pred_conf)
        c = count_at(rec, t)
        cfg = SweepConfig("p", "g", 0.5, True, float(t[0]), float(t[-1]), None, rec.num_samples, "Detections")
        name = ("precision", "recall")[seed % 2]
        kw = dict(config=cfg, thresholds=t, tp=c.tp, fp=c.fp, fn=c.fn, records=rec)
        try:
            certified = OptimalConfidenceResult(**kw, objective=Objective(name, target=0.7, guarantee=0.9))
            plain = OptimalConfidenceResult(**kw, objective=Objective(name, target=0.7))
            want = plain.best_threshold
        except UnattainableTargetError:
            continue
        checked += 1
        assert point_estimate(certified) == want, seed
        # on the curves with the added point, that point would have won
        ties += certified.with_objective(guarantee=None).best_threshold != want
    assert checked > 40 and ties > 0


def test_per_class_precision_and_recall_are_the_class_pooled_ones():
    rec = detection_pool(600, seed=4, num_classes=3, objects=1.0, false_alarms=1.0)
    out = certify_per_class(rec, np.linspace(0, 1, 51), "precision", 0.8, 0.9)
    for name, g in out.items():
        m = point_metrics(count_at(rec.restrict_to_class(name), np.array([g.threshold])))
        # the ground truth of images without a prediction of the class counts
        assert (g.precision, g.recall) == (m["precision"], m["recall"])
        assert g.num_images < np.unique(rec.gt_sample).size


# --------------------------------------------------------------------------
# the guarantee holds, and is not trivially conservative

GRID = np.linspace(0, 1, 101)
DRAWS = 300


@pytest.mark.parametrize(
    "objective, target, pool",
    [
        ("recall", 0.8, lambda: detection_pool(8000, seed=10)),
        ("precision", 0.85, lambda: detection_pool(8000, seed=11)),
        ("accuracy", 0.9, lambda: classifier_pool(8000, seed=12, beta=(6, 1.2), power=1.0)),
    ],
)
def test_simulation_violations_stay_within_one_minus_the_guarantee(objective, target, pool):
    # calibration sets of 300 images from a pool 25 times larger, so that
    # the rest of the pool stands for the images the model will see
    level = 0.9
    out = simulate(pool(), GRID, objective, target, level, n_cal=300, draws=DRAWS, seed=1)
    delta = 1 - level
    # the share of draws whose certified threshold misses the bound on the
    # rest of the pool is at most delta, up to three binomial standard errors
    assert out["violation"] <= delta + 3 * math.sqrt(delta * (1 - delta) / DRAWS), out
    # the check has teeth: the naive choice (the riskiest threshold within
    # the bound on the calibration images) violates far more often
    assert out["naive_violation"] > 0.2, out
    # not trivially conservative: certified in most draws, and the risk at
    # the certified threshold is well on the way to the bound
    assert out["uncertified"] < 0.4, out
    assert out["median_risk"] > 0.5 * out["bound"], out
