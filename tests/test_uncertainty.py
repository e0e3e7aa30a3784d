"""Bootstrap over images from stored match records (no FiftyOne needed)."""

import numpy as np
import pytest

from optimal_confidence.curves.objectives import choose
from optimal_confidence.spec.objective import Objective
from optimal_confidence.curves.sweep import MatchRecords, count_at, exact_thresholds
from optimal_confidence.curves.uncertainty import BootstrapSummary, bootstrap, weighted_counts


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
