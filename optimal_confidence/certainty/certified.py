"""A result's guaranteed thresholds: Learn-then-Test
(:mod:`optimal_confidence.certainty.guarantee`) on the result's match records, for an
objective with a ``guarantee``.

The candidates are fixed before the losses are looked at: 1001 evenly
spaced thresholds on ``[0, 1]`` (on the sweep's bounds for confidences
outside ``[0, 1]``), those within the sweep's bounds. The certified
threshold becomes a point of the result's curves (its counts are exact, as
at any threshold), so that the ``best_*`` attributes describe it.

Pure numpy: nothing here imports FiftyOne.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Mapping

import numpy as np

from .guarantee import Guarantee, certify, certify_per_class
from ..curves.objectives import UnattainableTargetError, choose, metric_curves
from ..curves.per_class import ClassChoice
from ..curves.sweep import Counts, count_at, grid_thresholds

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = [
    "NUM_CANDIDATES", "candidates", "certify_result", "class_choices", "class_guarantees", "insert_point",
    "point_estimate", "swept",
]

#: how many evenly spaced candidate thresholds Learn-then-Test tests
NUM_CANDIDATES = 1001


def candidates(result: "OptimalConfidenceResult") -> np.ndarray:
    """The candidate thresholds: evenly spaced on ``[0, 1]`` (the sweep's
    bounds when the confidences leave ``[0, 1]``), within the sweep's
    bounds."""
    c = result.config
    lo, hi = float(c.lower_bound), float(c.upper_bound)
    if 0.0 <= lo and hi <= 1.0:
        grid = np.linspace(0.0, 1.0, NUM_CANDIDATES)
        grid = grid[(grid >= lo - 1e-12) & (grid <= hi + 1e-12)]
        return grid if grid.size else np.array([lo])
    return np.unique(np.linspace(lo, hi, NUM_CANDIDATES))


def certify_result(result: "OptimalConfidenceResult") -> Guarantee:
    """The pooled guarantee of the result's objective (see
    :func:`optimal_confidence.certainty.guarantee.certify`).

    Raises:
        UnattainableTargetError: if no candidate can be certified
    """
    o = result.objective
    return certify(
        result.records, candidates(result), o.name, o.target, o.guarantee, task=result.config.task
    )


def swept(result: "OptimalConfidenceResult") -> np.ndarray:
    """Which of the result's thresholds the sweep chose (every distinct
    confidence, or the even grid), as a boolean mask: the certified
    threshold :func:`insert_point` added is not one of them."""
    c, t = result.config, result.thresholds
    if c.num_thresholds is None:
        return np.isin(t, result.records.pred_conf)
    return np.isin(t, grid_thresholds(c.lower_bound, c.upper_bound, c.num_thresholds))


def insert_point(result: "OptimalConfidenceResult", threshold: float) -> None:
    """Adds ``threshold`` to the result's swept thresholds (with its exact
    counts), if it is not one of them. Only while the result is built."""
    t = result.thresholds
    i = int(np.searchsorted(t, threshold))
    if i < len(t) and t[i] == threshold:
        return
    c = count_at(result.records, np.array([threshold]))
    for name, value in (("thresholds", threshold), ("tp", c.tp[0]), ("fp", c.fp[0]), ("fn", c.fn[0])):
        array = getattr(result, name)
        object.__setattr__(result, name, np.insert(array, i, value).astype(array.dtype))


def _score(result: "OptimalConfidenceResult", records, threshold: float) -> float:
    """The objective's metric at ``threshold`` on ``records`` (reached or
    not: a guarantee bounds a risk, not the pooled metric)."""
    o = result.objective
    m = metric_curves(count_at(records, np.array([threshold])), None, o)
    return float(m[o.metric][0])


def class_choices(
    result: "OptimalConfidenceResult", found: Mapping[str, Guarantee | str]
) -> dict[str, ClassChoice]:
    """Each class's certified threshold (``found``: :func:`class_guarantees`,
    jointly at the objective's guarantee, Bonferroni over the classes
    present); a class that cannot be certified, or has fewer ground truth
    objects than ``min_support``, keeps the global certified threshold and
    says why."""
    o = result.objective
    out = {}
    for label in result.records.classes:
        rec = result.records.restrict_to_class(label)
        g = found.get(label, "no prediction or ground truth of this class")
        if rec.num_gts < o.min_support:
            g = f"{rec.num_gts} ground truth objects, fewer than min_support={o.min_support}"
        if isinstance(g, Guarantee):
            out[label] = ClassChoice(label, g.threshold, rec.num_gts, _score(result, rec, g.threshold), True)
        else:
            t = result.best_threshold
            reason = f"not certified: {g.split('. ')[0]}"
            out[label] = ClassChoice(label, t, rec.num_gts, _score(result, rec, t), False, reason)
    return out


def class_guarantees(result: "OptimalConfidenceResult") -> dict[str, Guarantee | str]:
    """Each class's :class:`Guarantee`, or why it has none."""
    o = result.objective
    return certify_per_class(
        result.records, candidates(result), o.name, o.target, o.guarantee, task=result.config.task
    )


def point_estimate(result: "OptimalConfidenceResult") -> float | None:
    """The threshold the objective chooses without its guarantee, among the
    swept thresholds (the certified one, added to the curves, would win
    ties with the confidence just above it, which keeps the same
    predictions): the best threshold of the same sweep without a
    guarantee. None without a guarantee, or when no threshold reaches the
    target on these images."""
    o = result.objective
    if o.guarantee is None:
        return None
    keep = swept(result)
    counts = Counts(*(np.asarray(x)[keep] for x in result.counts))
    plain = dataclasses.replace(o, guarantee=None, per_class=False)
    try:
        i = choose(plain, counts, None, thresholds=result.thresholds[keep]).index
    except UnattainableTargetError:
        return None
    return float(result.thresholds[keep][i])
