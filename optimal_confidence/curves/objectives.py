"""Which threshold to choose: objectives over exact count curves.

Pure numpy, like :mod:`optimal_confidence.curves.sweep`: an :class:`Objective` turns
the counts at every threshold into a score and :func:`choose` picks the
threshold. Every rule below is a scan of the exact curve, so a test can
check it with a brute-force loop.

Objectives (``name``):

-   ``"f1"``: the highest F1;
-   ``"fbeta"``: the highest F-beta, ``(1 + b^2) TP / ((1 + b^2) TP +
    b^2 FN + FP)``; ``beta > 1`` favours recall, ``beta < 1`` precision;
-   ``"precision"``: among thresholds whose precision is at least
    ``target``, the one with the highest recall;
-   ``"recall"``: among thresholds whose recall is at least ``target``, the
    one with the highest precision;
-   ``"cost"``: the lowest ``fp_cost * FP + fn_cost * FN``;
-   ``"accuracy"``: the lowest threshold whose kept predictions reach a
    precision of ``target`` (for a classifier that escalates uncertain
    answers: the most answers given automatically at that accuracy).

``average="micro"`` pools the counts of all classes; ``"macro"`` averages
the per-class metric at each threshold (over the classes with ground truth
or predictions). Costs are totals either way.

Ties: among thresholds with the same score, the one that is better on the
other side of the trade-off wins (for a precision target, equal recall
goes to the higher precision; for a recall target, equal precision to the
higher recall); remaining ties go to the lowest threshold, which keeps the
most predictions.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from ..spec.objective import Objective
from .by_class import ClassCounts, class_mean
from .sweep import Counts, precision, recall, safe_divide

__all__ = [
    "Choice",
    "UnattainableTargetError",
    "choose",
    "fbeta",
    "metric_curves",
    "objective_curve",
    "used_metrics",
]

#: the metrics :func:`metric_curves` gives
_METRICS = ("precision", "recall", "fbeta")

# Float noise in averaged ratios must not turn a reached target into a miss
_EPS = 1e-12


class UnattainableTargetError(ValueError):
    """No threshold reaches the target of a ``"precision"`` or ``"recall"``
    objective. The message gives the best attainable value and where.

    Attributes:
        best_value: the highest precision (or recall) on the curve
        best_threshold: the threshold where it is reached
    """

    def __init__(self, message: str, best_value: float, best_threshold: float):
        super().__init__(message)
        self.best_value = best_value
        self.best_threshold = best_threshold


class Choice(NamedTuple):
    """A chosen threshold: its index in the thresholds and the objective's
    value there."""

    index: int
    score: float


def fbeta(counts: Counts, beta: float) -> np.ndarray:
    """F-beta at each threshold; 0 where ``TP + FP + FN`` is 0."""
    b2 = float(beta) ** 2
    tp = counts.tp.astype(np.float64, copy=False)
    return safe_divide(
        (1 + b2) * tp,
        (1 + b2) * tp + b2 * counts.fn.astype(np.float64, copy=False) + counts.fp,
    )


def used_metrics(objective: Objective) -> tuple[str, ...]:
    """The metrics an objective's score and constraint read."""
    return tuple(dict.fromkeys(k for k in (objective.metric, objective.constrained) if k in _METRICS))


def metric_curves(
    counts: Counts,
    class_counts: Sequence[Counts] | Counts | ClassCounts | None,
    objective: Objective,
    keys: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Precision, recall and F-beta curves, micro or macro averaged; only
    those named in ``keys`` when given (all three by default).

    For a macro average, ``class_counts`` is a list of per-class counts,
    one :class:`~optimal_confidence.curves.sweep.Counts` whose arrays have
    one row per class, or a
    :class:`~optimal_confidence.curves.by_class.ClassCounts` (computed a
    slice of thresholds at a time); the classes' metrics are averaged in
    class order (:func:`~optimal_confidence.curves.by_class.class_mean`).
    """

    keys = _METRICS if keys is None else tuple(keys)
    ratios = {"precision": precision, "recall": recall, "fbeta": lambda c: fbeta(c, objective.beta)}

    def one(c: Counts) -> dict[str, np.ndarray]:
        return {k: ratios[k](c) for k in keys}

    if objective.average == "micro":
        return one(counts)
    out = {k: np.empty(np.shape(counts.tp), dtype=np.float64) for k in keys}
    for where, stacked in _class_slices(counts, class_counts):
        for k, v in one(stacked).items():
            out[k][where] = class_mean(v)
    return out


def _class_slices(
    counts: Counts, class_counts: Sequence[Counts] | Counts | ClassCounts | None
) -> Iterable[tuple[Any, Counts]]:
    """The per-class counts as ``(slice of thresholds, stacked counts)``
    pairs, checked against the pooled ``counts``."""
    if isinstance(class_counts, ClassCounts):
        num_classes, shape, pieces = len(class_counts), (len(class_counts.thresholds),), class_counts.chunks()
    else:
        if not isinstance(class_counts, Counts):  # a list: one Counts per class
            listed = list(class_counts or ())
            class_counts = Counts(*(np.stack([c[i] for c in listed]) for i in range(3))) if listed else None
        if class_counts is None:
            raise ValueError("average='macro' needs per-class counts")
        num_classes, shape = len(class_counts.tp), np.shape(class_counts.tp)[1:]
        pieces = [(..., class_counts)]
    if num_classes == 0:
        raise ValueError("average='macro' needs per-class counts")
    if tuple(shape) != np.shape(counts.tp):
        raise ValueError(
            f"The per-class counts are at {shape} thresholds, the pooled counts at "
            f"{np.shape(counts.tp)}: give one row per class at the same thresholds"
        )
    return pieces


def objective_curve(
    objective: Objective,
    counts: Counts,
    class_counts: Sequence[Counts] | Counts | ClassCounts | None = None,
) -> np.ndarray:
    """The objective's score at each threshold.

    For ``"precision"`` (``"recall"``) this is the recall (precision) where
    the target is reached and ``NaN`` elsewhere; for ``"accuracy"`` the
    precision where it reaches the target, ``NaN`` elsewhere.

    Args:
        objective: an :class:`Objective`
        counts: the pooled :class:`~optimal_confidence.curves.sweep.Counts`
        class_counts (None): the per-class counts at the same thresholds,
            for ``average="macro"``

    Returns:
        a ``float64`` array aligned with ``counts``
    """
    if objective.name == "cost":
        return objective.fp_cost * counts.fp.astype(np.float64) + (
            objective.fn_cost * counts.fn.astype(np.float64)
        )
    return _score(objective, metric_curves(counts, class_counts, objective, used_metrics(objective)))


def _score(objective: Objective, m: dict[str, np.ndarray]) -> np.ndarray:
    """The score of a ratio objective from its metric curves ``m``."""
    score = m[objective.metric]
    if objective.constrained is None:
        return score
    reached = m[objective.constrained] >= objective.target - _EPS
    return np.where(reached, score, np.nan)


def choose(
    objective: Objective,
    counts: Counts,
    class_counts: Sequence[Counts] | Counts | ClassCounts | None = None,
    thresholds: np.ndarray | None = None,
) -> Choice:
    """Chooses the threshold that is best by ``objective``.

    Args:
        objective: an :class:`Objective`
        counts: the pooled counts at thresholds in ascending order
        class_counts (None): per-class counts, for ``average="macro"``
        thresholds (None): the thresholds, only used in error messages

    Returns:
        a :class:`Choice`

    Raises:
        UnattainableTargetError: if no threshold reaches the target
        ValueError: if there are no thresholds
    """
    n = len(counts.tp)
    if n == 0:
        raise ValueError("There are no thresholds to choose from")
    if objective.constrained is None:
        score = objective_curve(objective, counts, class_counts)
    else:
        # one pass over the class counts for the score and the constraint
        m = metric_curves(counts, class_counts, objective, used_metrics(objective))
        score = _score(objective, m)
        given = m[objective.constrained]
        feasible = ~np.isnan(score)
        if not feasible.any():
            i = int(np.argmax(given))
            where = (
                f"threshold {thresholds[i]:g}" if thresholds is not None else f"index {i}"
            )
            metric = objective.name
            raise UnattainableTargetError(
                f"No threshold reaches {metric} >= {objective.target:g}: "
                f"the highest {metric} is {given[i]:.4f}, at {where}. "
                f"Lower the target or widen the threshold bounds",
                best_value=float(given[i]),
                best_threshold=float(thresholds[i]) if thresholds is not None else float("nan"),
            )
        if objective.name == "accuracy":
            # the lowest threshold that reaches the target
            i = int(np.flatnonzero(feasible)[0])
            return Choice(i, float(score[i]))
        # best score, then best on the constrained metric, then lowest index
        keys = np.where(feasible, score, -np.inf)
        best = keys.max()
        cand = np.flatnonzero(keys >= best - _EPS)
        tie = given[cand]
        i = int(cand[np.flatnonzero(tie >= tie.max() - _EPS)[0]])
        return Choice(i, float(score[i]))

    if objective.minimize:
        best = score.min()
        i = int(np.flatnonzero(score <= best)[0])
    else:
        best = score.max()
        i = int(np.flatnonzero(score >= best - _EPS)[0])
    return Choice(i, float(score[i]))
