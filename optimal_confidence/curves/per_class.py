"""Per-class thresholds: each class's own threshold by an objective, and the
counts where every class is kept at its own threshold.

Pure numpy, like :mod:`optimal_confidence.curves.sweep`. With ``classwise=True``
classes never compete for a ground truth object, so a class's counts at its
threshold do not depend on the other classes' thresholds and the totals
below are exactly those of evaluating the per-class view.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..spec.objective import Objective
from .objectives import UnattainableTargetError, choose, objective_curve
from .sweep import Counts, MatchRecords, count_at, exact_thresholds

__all__ = ["ClassChoice", "choose_per_class", "class_counts", "operating_counts"]


@dataclass(frozen=True)
class ClassChoice:
    """The threshold one class gets with ``per_class=True``.

    Attributes:
        label: the class
        threshold: its threshold
        support: its number of ground truth objects
        score: the objective at ``threshold`` on this class alone
        own: whether the threshold was chosen on this class (False: the
            global threshold, see ``reason``)
        reason: why the class keeps the global threshold, or ``""``
    """

    label: str
    threshold: float
    support: int
    score: float
    own: bool
    reason: str = ""


def class_counts(records: MatchRecords, thresholds: np.ndarray) -> dict[str, Counts]:
    """Each class's counts at ``thresholds``: a prediction counts for its
    own label and a ground truth object for its own (with
    ``classwise=False`` a match across labels is a false positive of the
    prediction's class and a false negative of the object's). They add up
    to the pooled counts."""
    return {
        label: count_at(records.restrict_to_class(label), thresholds)
        for label in records.classes
    }


def _class_thresholds(
    rec: MatchRecords,
    thresholds: np.ndarray,
    bounds: tuple[float, float] | None,
) -> np.ndarray:
    """A class's candidate thresholds: its own distinct confidences within
    ``bounds`` (the exact sweep), else the shared grid."""
    if bounds is None:
        return thresholds
    return exact_thresholds(rec.pred_conf, *bounds)


def _own_choice(
    label: str, rec: MatchRecords, ts: np.ndarray, objective: Objective
) -> ClassChoice | str:
    """The class's own choice, or why it has none."""
    if ts.size == 0:
        return "no prediction within the threshold bounds"
    try:
        ch = choose(objective, count_at(rec, ts), thresholds=ts)
    except UnattainableTargetError as e:
        return str(e).split(". ")[0]
    return ClassChoice(label, float(ts[ch.index]), rec.num_gts, ch.score, True)


def choose_per_class(
    records: MatchRecords,
    thresholds: np.ndarray,
    objective: Objective,
    fallback: float,
    *,
    bounds: tuple[float, float] | None,
) -> dict[str, ClassChoice]:
    """Each class's threshold by ``objective`` on its own predictions and
    ground truth (micro-averaged: one class has nothing to average).

    A class with fewer ground truth objects than ``objective.min_support``,
    with no prediction within the bounds, or whose target cannot be reached
    keeps ``fallback`` (the global threshold), and its
    :attr:`ClassChoice.reason` says why.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: the swept thresholds (the grid, for a grid sweep)
        objective: the :class:`~optimal_confidence.spec.objective.Objective`
        fallback: the global threshold
        bounds: ``(lower, upper)`` for an exact sweep (each class's own
            distinct confidences within them), None for a grid

    Returns:
        ``{label: ClassChoice}`` in the order of ``records.classes``
    """
    own = dataclasses.replace(objective, per_class=False, average="micro")
    out = {}
    for label in records.classes:
        rec = records.restrict_to_class(label)
        if rec.num_gts < objective.min_support:
            found: ClassChoice | str = (
                f"{rec.num_gts} ground truth objects < min_support "
                f"{objective.min_support}"
            )
        else:
            found = _own_choice(label, rec, _class_thresholds(rec, thresholds, bounds), own)
        if isinstance(found, str):
            score = objective_curve(own, count_at(rec, np.array([fallback])))[0]
            found = ClassChoice(label, fallback, rec.num_gts, float(score), False, found)
        out[label] = found
    return out


def operating_counts(
    records: MatchRecords, class_thresholds: Mapping[str, float], default: float
) -> Counts:
    """TP, FP and FN (plain ints) where each prediction is kept
    at its class's threshold, and a prediction without a class (or of a
    class not in ``class_thresholds``) at ``default``."""
    t = np.array(
        [class_thresholds.get(label, default) for label in records.classes] + [default]
    )
    # class -1 (no label) takes the last entry
    kept = records.pred_conf >= t[records.pred_class]  # NaN is never kept
    tp = int((kept & records.pred_tp).sum())
    fp = int(kept.sum()) - tp
    found = int((records.gt_conf >= t[records.gt_class]).sum())
    return Counts(tp, fp, int(records.num_gts) - found)
