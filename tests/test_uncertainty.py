"""Bootstrap over images from stored match records (no FiftyOne needed)."""

import numpy as np
import pytest

from optimal_confidence.curves.objectives import (
    UnattainableTargetError,
    choose,
    metric_curves,
    objective_curve,
)
from optimal_confidence.curves.resample import Resampler, draw_weights
from optimal_confidence.spec.objective import Objective
from optimal_confidence.curves.sweep import Counts, MatchRecords, count_at, exact_thresholds
from optimal_confidence.curves.uncertainty import BootstrapSummary, bootstrap


# The direct way, the oracle of the bootstrap's engine (curves/resample.py):
# each resample's counts as weighted suffix sums over all the records


def _cumulative(conf: np.ndarray, weights: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each row of ``weights`` (shape ``(B, n)``), the sum of the weights
    of the values ``>= t`` at each threshold: shape ``(B, T)``."""
    scored = ~np.isnan(conf)
    conf, weights = conf[scored], weights[:, scored]
    order = np.argsort(conf, kind="stable")
    conf = conf[order]
    # suffix sums: total weight of values from position k on
    w = weights[:, order]
    suffix = np.concatenate(
        [np.cumsum(w[:, ::-1], axis=1)[:, ::-1], np.zeros((w.shape[0], 1))], axis=1
    )
    start = np.searchsorted(conf, thresholds, side="left")
    return suffix[:, start]


def weighted_counts(
    records: MatchRecords, thresholds: np.ndarray, sample_weights: np.ndarray
) -> list[Counts]:
    """Counts at ``thresholds`` with each sample counted ``sample_weights``
    times, for a batch of weight vectors.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: ascending thresholds
        sample_weights: array of shape ``(B, num_samples)``

    Returns:
        a list of ``B`` :class:`~optimal_confidence.curves.sweep.Counts` (float
        arrays holding whole numbers)
    """
    w = np.asarray(sample_weights, dtype=np.float64)
    wp = w[:, records.pred_sample]
    wg = w[:, records.gt_sample]
    tp_conf = np.where(records.pred_tp, records.pred_conf, np.nan)
    tp = _cumulative(tp_conf, wp, thresholds)
    kept = _cumulative(records.pred_conf, wp, thresholds)
    found = _cumulative(records.gt_conf, wg, thresholds)
    total_gt = wg.sum(axis=1, keepdims=True)
    fn = total_gt - found
    return [Counts(tp[b], kept[b] - tp[b], fn[b]) for b in range(w.shape[0])]


def synthetic_records(num_samples, seed=0):
    """A detector on ``num_samples`` images: each object is found with a
    confidence that is higher for true detections, plus false alarms."""
    rng = np.random.default_rng(seed)
    pred_conf, pred_tp, pred_sample, pred_class = [], [], [], []
    gt_conf, gt_sample, gt_class = [], [], []
    for s in range(num_samples):
        for _ in range(rng.poisson(4)):
            c = int(rng.integers(0, 2))
            found = rng.random() < 0.8
            conf = round(float(rng.beta(5, 2)), 2) if found else np.nan
            gt_conf.append(conf)
            gt_sample.append(s)
            gt_class.append(c)
            if found:
                pred_conf.append(conf)
                pred_tp.append(True)
                pred_sample.append(s)
                pred_class.append(c)
        for _ in range(rng.poisson(2)):
            pred_conf.append(round(float(rng.beta(2, 4)), 2))
            pred_tp.append(False)
            pred_sample.append(s)
            pred_class.append(int(rng.integers(0, 2)))
    return MatchRecords(
        classes=("a", "b"),
        pred_conf=np.array(pred_conf),
        pred_tp=np.array(pred_tp, dtype=bool),
        pred_class=np.array(pred_class, dtype=np.int64),
        pred_sample=np.array(pred_sample, dtype=np.int64),
        gt_conf=np.array(gt_conf),
        gt_class=np.array(gt_class, dtype=np.int64),
        gt_sample=np.array(gt_sample, dtype=np.int64),
        num_samples=num_samples,
    )


def repeat_samples(records, times):
    """The records of a dataset where sample ``s`` appears ``times[s]`` times."""
    def rows(sample_of):
        return np.repeat(np.arange(len(sample_of)), times[sample_of])

    p, g = rows(records.pred_sample), rows(records.gt_sample)
    return MatchRecords(
        classes=records.classes,
        pred_conf=records.pred_conf[p], pred_tp=records.pred_tp[p],
        pred_class=records.pred_class[p], pred_sample=records.pred_sample[p],
        gt_conf=records.gt_conf[g], gt_class=records.gt_class[g],
        gt_sample=records.gt_sample[g], num_samples=int(times.sum()),
    )


def test_weighted_counts_equal_counting_a_resampled_dataset():
    records = synthetic_records(50, seed=1)
    t = exact_thresholds(records.pred_conf)
    rng = np.random.default_rng(2)
    weights = rng.multinomial(50, np.full(50, 1 / 50), size=5)
    for w, counts in zip(weights, weighted_counts(records, t, weights)):
        expected = count_at(repeat_samples(records, w), t)
        for got, want in zip(counts, expected):
            np.testing.assert_array_equal(got, want)


def test_unit_weights_give_the_full_data_counts():
    records = synthetic_records(30, seed=3)
    t = np.array([-np.inf, 0.2, 0.5, 0.5000001, 0.9, 2.0])
    (counts,) = weighted_counts(records, t, np.ones((1, 30)))
    for got, want in zip(counts, count_at(records, t)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "objective",
    [Objective("f1"), Objective("precision", target=0.85), Objective("f1", average="macro")],
    ids=lambda o: o.label,
)
def test_intervals_contain_the_full_data_value_and_are_reproducible(objective):
    records = synthetic_records(300, seed=4)
    t = exact_thresholds(records.pred_conf)
    full = choose(objective, count_at(records, t), [count_at(records.restrict_to_class(c), t) for c in records.classes])
    chosen = float(t[full.index])
    summary = bootstrap(records, t, objective, chosen, n_bootstrap=200, seed=7)
    low, high = summary.threshold_ci
    assert low <= chosen <= high
    s_low, s_high = summary.score_ci
    if objective.name == "precision":
        counts = count_at(records, np.array([chosen]))
        recall = counts.tp[0] / (counts.tp[0] + counts.fn[0])
        precision = counts.tp[0] / (counts.tp[0] + counts.fp[0])
        assert s_low <= recall <= s_high
        c_low, c_high = summary.constraint_ci
        assert c_low <= precision <= c_high
    else:
        assert s_low <= full.score <= s_high
    again = bootstrap(records, t, objective, chosen, n_bootstrap=200, seed=7)
    np.testing.assert_array_equal(again.thresholds, summary.thresholds)
    assert again.score_ci == summary.score_ci
    other = bootstrap(records, t, objective, chosen, n_bootstrap=200, seed=8)
    assert not np.array_equal(other.scores, summary.scores)
    assert BootstrapSummary.from_dict(summary.to_dict()).score_ci == summary.score_ci


def test_intervals_shrink_as_the_dataset_grows():
    objective = Objective("f1")
    widths = []
    for n in (100, 1600):
        records = synthetic_records(n, seed=5)
        t = exact_thresholds(records.pred_conf)
        chosen = float(t[choose(objective, count_at(records, t)).index])
        s = bootstrap(records, t, objective, chosen, n_bootstrap=300, seed=0)
        widths.append(s.score_ci[1] - s.score_ci[0])
    # sqrt(16) = 4 times narrower in theory; allow for noise
    assert widths[1] < widths[0] / 2.5


def test_bad_arguments():
    records = synthetic_records(5)
    t = exact_thresholds(records.pred_conf)
    with pytest.raises(ValueError, match="n_bootstrap"):
        bootstrap(records, t, Objective(), 0.5, n_bootstrap=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap(records, t, Objective(), 0.5, level=95)


# --- the fast engine against today's slow path, on the same draws ---------


def reference_choices(records, thresholds, objective, at, weights):
    """The slow path the engine replaced: full weighted count curves per
    resample (:func:`weighted_counts`) and :func:`choose` on each."""
    macro = objective.average == "macro"
    classes = [records.restrict_to_class(c) for c in records.present_classes()] if macro else []
    pooled = weighted_counts(records, thresholds, weights)
    pooled_at = weighted_counts(records, np.array([at]), weights)
    per = [weighted_counts(r, thresholds, weights) for r in classes]
    per_at = [weighted_counts(r, np.array([at]), weights) for r in classes]
    chosen, scores, constraint = (np.full(len(weights), np.nan) for _ in range(3))
    for k in range(len(weights)):
        cc = [p[k] for p in per] if macro else None
        cc_at = [p[k] for p in per_at] if macro else None
        try:
            chosen[k] = thresholds[choose(objective, pooled[k], cc).index]
        except UnattainableTargetError:
            pass
        if objective.constrained is None:
            scores[k] = objective_curve(objective, pooled_at[k], cc_at)[0]
        else:
            m = metric_curves(pooled_at[k], cc_at, objective)
            scores[k], constraint[k] = m[objective.metric][0], m[objective.constrained][0]
    return chosen, scores, constraint


def awkward_records(num_samples, seed):
    """Three classes, coarse confidences (ties across images and classes),
    predictions without a confidence, and crowds: ground truth objects that
    absorb several true positives (their confidence is the highest)."""
    rng = np.random.default_rng(seed)
    rows_p, rows_g = [], []
    for s in range(num_samples):
        for _ in range(rng.poisson(3)):
            c = int(rng.integers(0, 3))
            hits = int(rng.choice([0, 1, 1, 1, 2, 3]))
            confs = np.round(rng.beta(4, 2, size=hits), 1)
            rows_g.append((confs.max() if hits else np.nan, c, s))
            rows_p += [(x, True, c, s) for x in confs]
        for _ in range(rng.poisson(2)):
            x = np.nan if rng.random() < 0.1 else round(float(rng.beta(2, 3)), 1)
            rows_p.append((x, False, int(rng.integers(0, 3)), s))
    p = list(zip(*rows_p)) or [[]] * 4
    g = list(zip(*rows_g)) or [[]] * 3
    return MatchRecords(
        classes=("a", "b", "c"),
        pred_conf=np.array(p[0], dtype=float), pred_tp=np.array(p[1], dtype=bool),
        pred_class=np.array(p[2], dtype=np.int64), pred_sample=np.array(p[3], dtype=np.int64),
        gt_conf=np.array(g[0], dtype=float), gt_class=np.array(g[1], dtype=np.int64),
        gt_sample=np.array(g[2], dtype=np.int64), num_samples=num_samples,
    )


OBJECTIVES = [
    Objective("f1"),
    Objective("fbeta", beta=2.0),
    Objective("f1", average="macro"),
    Objective("precision", target=0.8),
    Objective("precision", target=0.95, average="macro"),
    Objective("recall", target=0.7),
    Objective("accuracy", target=0.85),
    Objective("cost", fp_cost=1.0, fn_cost=3.0),
    Objective("cost", fp_cost=2.0, fn_cost=0.5, average="macro"),
]


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: o.label)
@pytest.mark.parametrize("num_blocks", [1, 3, None])
def test_engine_chooses_exactly_what_the_slow_path_chooses(objective, num_blocks):
    records = awkward_records(40, seed=11)
    t = exact_thresholds(records.pred_conf)
    weights = np.random.default_rng(5).multinomial(40, np.full(40, 1 / 40), size=60)
    for at in (float(t[len(t) // 2]), 0.55, float(t[0]) - 1, np.nan):
        engine = Resampler(records, t, objective, at, num_blocks=num_blocks)
        got = engine.choose_batch(np.ascontiguousarray(weights.T, dtype=np.float32))
        want = reference_choices(records, t, objective, at, weights)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    if objective.name == "precision" and objective.average == "macro":
        # the target is missed in some resamples and reached in others
        assert 0 < np.isnan(got[0]).sum() < len(weights)


def test_engine_on_thresholds_that_are_not_the_confidences():
    records = awkward_records(30, seed=12)
    t = np.array([-np.inf, 0.15, 0.3, 0.30001, 0.5, 0.7, 0.7000001, 0.95, 2.0])
    weights = np.random.default_rng(6).multinomial(30, np.full(30, 1 / 30), size=40)
    for objective in (Objective("f1"), Objective("recall", target=0.5, average="macro")):
        for num_blocks in (2, None):
            engine = Resampler(records, t, objective, 0.5, num_blocks=num_blocks)
            got = engine.choose_batch(np.ascontiguousarray(weights.T, dtype=np.float32))
            for g, w in zip(got, reference_choices(records, t, objective, 0.5, weights)):
                np.testing.assert_array_equal(g, w)


def test_draws_are_a_multinomial_over_the_images():
    w = draw_weights(np.random.default_rng(0), 7, 2000)
    assert w.shape == (7, 2000) and (w.sum(axis=0) == 7).all()
    # each image is drawn Binomial(7, 1/7) times: mean 1, variance 6/7
    np.testing.assert_allclose(w.mean(axis=1), 1, atol=0.06)
    np.testing.assert_allclose(w.var(axis=1), 6 / 7, atol=0.1)


def test_intervals_agree_with_the_slow_path_within_monte_carlo_error():
    """The draws changed (n uniform draws, not numpy's multinomial): the
    same distribution, so the intervals agree within Monte-Carlo error."""
    records = synthetic_records(200, seed=9)
    t = exact_thresholds(records.pred_conf)
    objective = Objective("f1")
    chosen = float(t[choose(objective, count_at(records, t)).index])
    rng = np.random.default_rng(1)
    slow = reference_choices(records, t, objective, chosen, rng.multinomial(200, np.full(200, 0.005), size=400))
    fast = bootstrap(records, t, objective, chosen, n_bootstrap=400, seed=2)
    # the score's standard error over resamples is ~0.02 here; the 2.5% and
    # 97.5% quantiles of 400 draws move by about a third of it
    for q in (2.5, 50, 97.5):
        assert abs(np.percentile(slow[1], q) - np.percentile(fast.scores, q)) < 0.015
    assert abs(np.nanmedian(slow[0]) - np.nanmedian(fast.thresholds)) < 0.05
