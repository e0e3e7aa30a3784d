"""Objectives against brute-force scans of exact curves, in exact arithmetic."""

from fractions import Fraction

import numpy as np
import pytest

from optimal_confidence.spec.objective import Objective
from optimal_confidence.curves.objectives import (
    UnattainableTargetError,
    choose,
    fbeta,
    objective_curve,
)
from optimal_confidence.curves.sweep import Counts


def random_curve(rng, n=40, num_gt=30):
    """Counts of a plausible sweep at ``n`` ascending thresholds: predictions
    whose chance of being right grows with their confidence (rounded so that
    some tie), and ground truth that is partly never found."""
    num_pred = int(rng.integers(5, 60))
    conf = np.round(rng.uniform(0, 1, num_pred), 1)
    tp_flag = rng.random(num_pred) < conf
    thresholds = np.linspace(0, 1, n)
    kept = conf[None, :] >= thresholds[:, None]
    tp = (kept & tp_flag).sum(axis=1)
    fp = (kept & ~tp_flag).sum(axis=1)
    fn = tp_flag.sum() + num_gt - tp
    return Counts(tp.astype(np.int64), fp.astype(np.int64), fn.astype(np.int64))


def ratio(a, b):
    return Fraction(a) / Fraction(b) if b else Fraction(0)


def brute(objective, counts, class_counts=None):
    """The rule of the docstring, scanned threshold by threshold."""
    n = len(counts.tp)
    b2 = Fraction(objective.beta) ** 2

    def metrics(c, i):
        tp, fp, fn = int(c.tp[i]), int(c.fp[i]), int(c.fn[i])
        return {
            "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn),
            "fbeta": ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp),
        }

    def at(i):
        if objective.average == "micro":
            return metrics(counts, i)
        per = [metrics(c, i) for c in class_counts]
        return {k: sum(m[k] for m in per) / len(per) for k in per[0]}

    rows = [at(i) for i in range(n)]
    if objective.name in ("f1", "fbeta"):
        key = [(r["fbeta"],) for r in rows]
        ok = [True] * n
    elif objective.name == "precision":
        t = Fraction(str(objective.target))  # 0.8 means 4/5
        ok = [r["precision"] >= t for r in rows]
        key = [(r["recall"], r["precision"]) for r in rows]
    elif objective.name == "accuracy":
        t = Fraction(str(objective.target))
        ok = [r["precision"] >= t for r in rows]
        key = [(Fraction(0),)] * n  # all feasible tie: the lowest wins
    elif objective.name == "recall":
        t = Fraction(str(objective.target))  # 0.8 means 4/5
        ok = [r["recall"] >= t for r in rows]
        key = [(r["precision"], r["recall"]) for r in rows]
    else:
        cost = [
            Fraction(objective.fp_cost) * int(counts.fp[i])
            + Fraction(objective.fn_cost) * int(counts.fn[i])
            for i in range(n)
        ]
        key = [(-c,) for c in cost]
        ok = [True] * n
    best = None
    for i in range(n):  # ascending thresholds: a strict > keeps the lowest
        if ok[i] and (best is None or key[i] > key[best]):
            best = i
    return best


OBJECTIVES = [
    Objective("f1"),
    Objective("fbeta", beta=0.5),
    Objective("fbeta", beta=2.0),
    Objective("precision", target=0.6),
    Objective("precision", target=0.8),
    Objective("recall", target=0.5),
    Objective("recall", target=0.9),
    Objective("cost", fp_cost=1, fn_cost=5),
    Objective("cost", fp_cost=3, fn_cost=1),
    Objective("accuracy", target=0.7),
    Objective("f1", average="macro"),
    Objective("precision", target=0.6, average="macro"),
    Objective("recall", target=0.5, average="macro"),
]


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: o.label)
def test_choice_equals_brute_force_scan(objective):
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(200):
        class_counts = [random_curve(rng, num_gt=int(rng.integers(0, 10))) for _ in range(3)]
        counts = Counts(*(sum(c[k] for c in class_counts) for k in range(3)))
        expected = brute(objective, counts, class_counts)
        if expected is None:
            with pytest.raises(UnattainableTargetError):
                choose(objective, counts, class_counts)
            continue
        got = choose(objective, counts, class_counts)
        assert got.index == expected
        score = objective_curve(objective, counts, class_counts)
        assert got.score == score[expected]
        checked += 1
    assert checked >= 10  # enough attainable cases to mean something


def test_fbeta_by_hand():
    c = Counts(np.array([6]), np.array([2]), np.array([4]))
    # P = 0.75, R = 0.6
    for beta in (0.5, 1.0, 2.0):
        p, r = 0.75, 0.6
        expected = (1 + beta**2) * p * r / (beta**2 * p + r)
        assert fbeta(c, beta)[0] == pytest.approx(expected)


def test_precision_target_by_hand():
    # thresholds ascending; P: .5 .6 .75 .75 1.0; R: .8 .6 .6 .3 .1
    c = Counts(
        tp=np.array([8, 6, 6, 3, 1]),
        fp=np.array([8, 4, 2, 1, 0]),
        fn=np.array([2, 4, 4, 7, 9]),
    )
    # precision >= 0.7: indices 2, 3, 4; highest recall 0.6 at index 2
    assert choose(Objective("precision", target=0.7), c).index == 2
    # precision >= 0.6 adds index 1 with the same recall 0.6 but lower
    # precision: the tie goes to the higher precision
    assert choose(Objective("precision", target=0.6), c) == (2, 0.6)
    # recall >= 0.6: indices 0, 1, 2; best precision 0.75 at index 2
    assert choose(Objective("recall", target=0.6), c) == (2, 0.75)
    # cost: FP 1, FN 1 -> 10, 8, 6, 8, 9
    assert choose(Objective("cost"), c) == (2, 6.0)
    # FN ten times as costly -> 28, 44, 42, 71, 90
    assert choose(Objective("cost", fn_cost=10), c) == (0, 28.0)


def test_unattainable_target_says_what_is_attainable():
    c = Counts(
        tp=np.array([8, 6, 3]), fp=np.array([8, 2, 1]), fn=np.array([2, 4, 7])
    )
    with pytest.raises(UnattainableTargetError, match=r"highest precision is 0\.7500, at threshold 0\.5") as e:
        choose(Objective("precision", target=0.9), c, thresholds=np.array([0.1, 0.5, 0.9]))
    assert e.value.best_value == 0.75 and e.value.best_threshold == 0.5
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(name="map"), "objective must be one of"),
        (dict(name="accuracy"), "needs a target"),
        (dict(name="precision"), "needs a target"),
        (dict(name="precision", target=1.5), "target must be in (0, 1]"),
        (dict(name="f1", target=0.5), "target only applies"),
        (dict(name="fbeta", beta=0), "beta must be"),
        (dict(name="cost", fp_cost=-1), "fp_cost must be"),
        (dict(name="cost", fp_cost=0, fn_cost=0), "cannot both be 0"),
        (dict(average="weighted"), "average must be"),
        (dict(per_class=True, min_support=0), "min_support"),
    ],
)
def test_bad_objectives_are_refused(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Objective(**kwargs)


def test_round_trip_and_labels():
    o = Objective("precision", target=0.95, average="macro", per_class=True, min_support=5)
    assert Objective.from_dict(o.to_dict()) == o
    assert Objective.from_dict(None) == Objective()
    assert o.label == "recall at precision >= 0.95 (macro)"
    assert Objective("cost", fp_cost=1, fn_cost=5).label == "cost (1 per FP, 5 per FN)"
