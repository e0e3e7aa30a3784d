"""Each class's counts a slice of thresholds at a time (curves/by_class.py),
and the macro average over many classes (no FiftyOne needed)."""

import numpy as np
import pytest

from optimal_confidence.curves.by_class import ClassCounts, class_mean
from optimal_confidence.curves.objectives import choose, metric_curves
from optimal_confidence.curves.resample import Resampler
from optimal_confidence.curves.sweep import Counts, MatchRecords, count_at, exact_thresholds
from optimal_confidence.spec.objective import Objective

from test_uncertainty import reference_choices


def many_class_records(num_samples, num_classes, seed, coarse=False):
    """Objects of ``num_classes`` labels (the last one never appears), some
    predictions without a confidence, true positives below their object's
    confidence (as a crowd's second match is), and, with ``coarse``,
    confidences on a grid of 0.05 (ties across classes and images)."""
    rng = np.random.default_rng(seed)
    n_gt = rng.poisson(4, num_samples)
    gt_sample = np.repeat(np.arange(num_samples), n_gt)
    gt_class = rng.integers(0, num_classes - 1, len(gt_sample))
    found = rng.random(len(gt_sample)) < 0.7
    conf = rng.beta(4, 2, len(gt_sample))
    if coarse:
        conf = np.round(conf * 20) / 20
    gt_conf = np.where(found, conf, np.nan)
    n_fp = rng.poisson(2, num_samples)
    fp_sample = np.repeat(np.arange(num_samples), n_fp)
    fp_conf = rng.beta(2, 3, len(fp_sample))
    if coarse:
        fp_conf = np.round(fp_conf * 20) / 20
    fp_conf[rng.random(len(fp_conf)) < 0.1] = np.nan
    tp_conf = gt_conf[found] - 0.1 * (rng.random(int(found.sum())) < 0.2)
    return MatchRecords(
        classes=tuple(f"class{i:02d}" for i in range(num_classes)),
        pred_conf=np.concatenate([tp_conf, fp_conf]),
        pred_tp=np.r_[np.ones(int(found.sum()), bool), np.zeros(len(fp_conf), bool)],
        pred_class=np.concatenate([gt_class[found], rng.integers(0, num_classes - 1, len(fp_conf))]),
        pred_sample=np.concatenate([gt_sample[found], fp_sample]),
        gt_conf=gt_conf,
        gt_class=gt_class,
        gt_sample=gt_sample,
        num_samples=num_samples,
    )


@pytest.mark.parametrize("chunk", [1, 2, 7, None])
def test_class_counts_equal_each_class_counted_alone(chunk):
    records = many_class_records(60, 6, seed=1, coarse=True)
    ex = exact_thresholds(records.pred_conf)
    t = np.sort(np.r_[-1.0, ex, ex[2], 0.97, 2.0])  # a threshold twice
    classes = ["class03", "class00", "class05", "class01"]  # any order, a class without objects
    stacked = ClassCounts(records, t, classes, chunk=chunk).stacked()
    for row, label in enumerate(classes):
        alone = count_at(records.restrict_to_class(label), t)
        for got, want in zip(stacked, alone):
            np.testing.assert_array_equal(got[row], want)
            assert got.dtype == np.int64
    # what a slice serves is the table's columns
    cc = ClassCounts(records, t, classes, chunk=chunk)
    seen = np.zeros(len(t), int)
    for where, part in cc.chunks():
        seen[where] += 1
        np.testing.assert_array_equal(part.fn, stacked.fn[:, where])
    assert (seen == 1).all()


def test_class_counts_refuse_what_they_cannot_count():
    records = many_class_records(10, 3, seed=2)
    with pytest.raises(ValueError, match="ascending"):
        ClassCounts(records, np.array([0.5, 0.2]), ["class00"])
    with pytest.raises(ValueError, match="ascending"):
        ClassCounts(records, np.array([np.nan, 0.2]), ["class00"])
    with pytest.raises(ValueError, match="twice"):
        ClassCounts(records, np.array([0.2]), ["class01", "class00", "class01"])
    with pytest.raises(ValueError, match="'cat'"):
        ClassCounts(records, np.array([0.2]), ["cat"])
    empty = ClassCounts(records, np.zeros(0), ["class00", "class01"]).stacked()
    assert empty.tp.shape == (2, 0)


def test_class_mean_sums_in_class_order_whatever_the_shape():
    """np.mean switches to pairwise sums over a lone column: the macro
    score at one threshold would differ in the last bits from the curve's
    value there."""
    rng = np.random.default_rng(3)
    values = rng.random((23, 5)) / rng.random((23, 5))
    want = []
    for j in range(5):
        acc = 0.0
        for x in values[:, j]:
            acc += x
        want.append(acc / 23)
    np.testing.assert_array_equal(class_mean(values), want)
    for j in range(5):
        assert class_mean(values[:, j : j + 1])[0] == want[j]


def macro_f1_by_hand(records, t, classes):
    f1 = []
    for label in classes:
        c = count_at(records.restrict_to_class(label), t)
        tp, fp, fn = (x.astype(float) for x in c)
        den = 2 * tp + fp + fn
        f1.append(np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0))
    return np.array(f1)


@pytest.mark.parametrize("chunk", [3, None])
def test_macro_choice_over_many_classes(chunk):
    records = many_class_records(300, 13, seed=4)
    t = exact_thresholds(records.pred_conf)
    classes = records.present_classes()
    assert len(classes) == 12
    f1 = macro_f1_by_hand(records, t, classes)
    o = Objective("f1", average="macro")
    counts = count_at(records, t)
    got = metric_curves(counts, ClassCounts(records, t, classes, chunk=chunk), o)["fbeta"]
    np.testing.assert_allclose(got, f1.mean(axis=0), rtol=1e-13)
    # the same floats as a list of per-class counts, or the stacked table
    listed = [count_at(records.restrict_to_class(c), t) for c in classes]
    np.testing.assert_array_equal(got, metric_curves(counts, listed, o)["fbeta"])
    table = ClassCounts(records, t, classes).stacked()
    np.testing.assert_array_equal(got, metric_curves(counts, table, o, ("fbeta",))["fbeta"])
    # and at one threshold, the curve's own value
    i = len(t) // 3
    one = ClassCounts(records, t[i : i + 1], classes)
    assert metric_curves(count_at(records, t[i : i + 1]), one, o)["fbeta"][0] == got[i]
    ch = choose(o, counts, ClassCounts(records, t, classes, chunk=chunk))
    assert ch.index == int(np.argmax(f1.mean(axis=0)))


@pytest.mark.parametrize(
    "objective",
    [Objective("f1", average="macro"), Objective("precision", target=0.75, average="macro")],
    ids=lambda o: o.label,
)
def test_bootstrap_engine_over_many_classes(objective):
    """Twelve classes: the engine's stacked class counts and its default
    blocks (no longer fewer for more classes) choose what full weighted
    curves choose."""
    records = many_class_records(80, 13, seed=5, coarse=True)
    t = exact_thresholds(records.pred_conf)
    weights = np.random.default_rng(6).multinomial(80, np.full(80, 1 / 80), size=40)
    for num_blocks in (4, None):
        engine = Resampler(records, t, objective, float(t[len(t) // 2]), num_blocks=num_blocks)
        got = engine.choose_batch(np.ascontiguousarray(weights.T, dtype=np.float32))
        want = reference_choices(records, t, objective, float(t[len(t) // 2]), weights)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    assert engine.groups == 12 and len(engine.cuts) == len(np.unique(t))


def test_counts_is_not_taken_for_a_list_of_classes():
    """A stacked table is a Counts (a tuple of three arrays): three classes
    given as a list of Counts must not be read as one."""
    records = many_class_records(50, 4, seed=7)
    t = exact_thresholds(records.pred_conf)
    classes = records.present_classes()
    assert len(classes) == 3
    listed = [count_at(records.restrict_to_class(c), t) for c in classes]
    o = Objective("recall", target=0.5, average="macro")
    got = metric_curves(count_at(records, t), listed, o)
    table = Counts(*(np.stack([c[i] for c in listed]) for i in range(3)))
    want = metric_curves(count_at(records, t), table, o)
    for k in ("precision", "recall", "fbeta"):
        np.testing.assert_array_equal(got[k], want[k])


def test_a_nan_threshold_and_an_object_without_a_class_count_as_count_at_does():
    """A NaN threshold (last) is passed by nothing, as count_at counts it
    (a macro ``result.point(nan)``); an object of class -1 is in no row."""
    records = many_class_records(40, 3, seed=8)
    pred_class = records.pred_class.copy()
    pred_class[::5] = -1
    records = MatchRecords(**{**vars(records), "pred_class": pred_class})
    t = np.r_[exact_thresholds(records.pred_conf)[::3], np.nan]
    stacked = ClassCounts(records, t, ["class00", "class01"], chunk=4).stacked()
    for row, label in enumerate(["class00", "class01"]):
        for got, want in zip(stacked, count_at(records.restrict_to_class(label), t)):
            np.testing.assert_array_equal(got[row], want)
    assert stacked.tp[:, -1].sum() == 0 and stacked.fp[:, -1].sum() == 0


def test_class_counts_at_other_thresholds_than_the_pooled_are_refused():
    records = many_class_records(30, 3, seed=9)
    t = exact_thresholds(records.pred_conf)
    classes = records.present_classes()
    o = Objective("f1", average="macro")
    one_class = count_at(records.restrict_to_class(classes[0]), t)
    with pytest.raises(ValueError, match="one row per class at the same thresholds"):
        metric_curves(count_at(records, t), one_class, o)  # a bare Counts, not a list
    with pytest.raises(ValueError, match="one row per class at the same thresholds"):
        metric_curves(count_at(records, t), ClassCounts(records, t[:5], classes), o)
    with pytest.raises(ValueError, match="needs per-class counts"):
        metric_curves(count_at(records, t), [], o)
    # one point as 0-d counts, as a list of classes
    point = [Counts(*(x[3] for x in count_at(records.restrict_to_class(c), t))) for c in classes]
    pooled = Counts(*(x[3] for x in count_at(records, t)))
    assert metric_curves(pooled, point, o)["fbeta"] == metric_curves(count_at(records, t), [count_at(records.restrict_to_class(c), t) for c in classes], o)["fbeta"][3]
