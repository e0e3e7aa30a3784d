"""A human-review band for detections.

Pure numpy. Two thresholds split the predictions: at or above ``t_high``
they are accepted automatically, below ``t_low`` dropped, in between sent
to a person. :func:`find_review_band` picks the band from a precision
target for the accepted predictions and a bound on the share of true
detections lost in the dropped ones; :func:`review_band` describes any
band.

With ``classwise=True`` the figures are exact: a reviewer who removes the
false positives of the band removes predictions that matched nothing, so
the remaining matches do not change, and after a perfect review the kept
predictions are exactly the accepted ones plus the true positives of the
band.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .objectives import UnattainableTargetError
from ..spec.options import check_number
from .sweep import MatchRecords, safe_divide, count_at

__all__ = ["ReviewBand", "band_of", "find_review_band", "review_band"]


@dataclass(frozen=True)
class ReviewBand:
    """What a review band does to the predictions.

    Attributes:
        t_low: predictions below it are dropped
        t_high: predictions at or above it are accepted
        accepted: predictions accepted automatically
        review: predictions sent to review (``t_low <= confidence < t_high``)
        dropped: predictions dropped automatically (including those
            without a confidence)
        review_images: samples with at least one prediction to review
        automatic_share: the share of predictions handled without a person
        accepted_tp: true positives among the accepted predictions
        accepted_fp: false positives among the accepted predictions
        accepted_precision: precision of the accepted predictions
        review_tp: true positives in the band, kept by a perfect review
        review_fp: false positives in the band, removed by a perfect review
        lost_tp: true positives among the dropped predictions
        lost_share: ``lost_tp`` over all true positives with a confidence
        precision_after_review: precision after a perfect review
        recall_after_review: recall after a perfect review
        fn_after_review: ground truth objects missed after a perfect review
        cost: ``review_cost * review + fp_cost * accepted_fp + fn_cost *
            fn_after_review`` when a ``review_cost`` was given, else None
    """

    t_low: float
    t_high: float
    accepted: int
    review: int
    dropped: int
    review_images: int
    automatic_share: float
    accepted_tp: int
    accepted_fp: int
    accepted_precision: float
    review_tp: int
    review_fp: int
    lost_tp: int
    lost_share: float
    precision_after_review: float
    recall_after_review: float
    fn_after_review: int
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """Two sentences a person can act on."""
        s = (
            f"Accept predictions with confidence >= {self.t_high:.4g} "
            f"automatically (precision {self.accepted_precision:.3f}), drop "
            f"those below {self.t_low:.4g} (losing {self.lost_tp} true "
            f"detection{'' if self.lost_tp == 1 else 's'}, "
            f"{self.lost_share:.1%}), and review the "
            f"{self.review} in between on {self.review_images} images: "
            f"{self.automatic_share:.1%} of predictions need no person. "
            f"After a perfect review: precision "
            f"{self.precision_after_review:.3f}, recall "
            f"{self.recall_after_review:.3f}."
        )
        if self.cost is not None:
            s += f" Expected cost {self.cost:g}."
        return s


def review_band(
    records: MatchRecords,
    t_low: float,
    t_high: float,
    *,
    review_cost: float | None = None,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
) -> ReviewBand:
    """Describes the band ``[t_low, t_high)``.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords` of a
            classwise matching pass
        t_low: the lower threshold
        t_high: the upper threshold, ``>= t_low``
        review_cost (None): the cost of reviewing one prediction; with it
            the band reports an expected cost
        fp_cost (1.0): the cost of an accepted false positive
        fn_cost (1.0): the cost of a missed object after review

    Returns:
        a :class:`ReviewBand`
    """
    if not t_low <= t_high:
        raise ValueError(f"t_low ({t_low}) must not exceed t_high ({t_high})")
    conf, tp = records.pred_conf, records.pred_tp
    scored = ~np.isnan(conf)
    acc = scored & (conf >= t_high)
    rev = scored & (conf >= t_low) & (conf < t_high)
    drop = ~(acc | rev)

    accepted_tp = int((acc & tp).sum())
    accepted_fp = int(acc.sum()) - accepted_tp
    review_tp = int((rev & tp).sum())
    review_fp = int(rev.sum()) - review_tp
    lost_tp = int((drop & tp & scored).sum())
    total_tp = int((tp & scored).sum())

    fn_after = int(count_at(records, np.array([t_low])).fn[0])
    kept_tp = accepted_tp + review_tp
    prec_after = float(safe_divide(np.array([kept_tp]), np.array([kept_tp + accepted_fp]))[0])
    rec_after = float(safe_divide(np.array([kept_tp]), np.array([kept_tp + fn_after]))[0])

    cost = None
    if review_cost is not None:
        cost = float(review_cost * int(rev.sum()) + fp_cost * accepted_fp + fn_cost * fn_after)

    return ReviewBand(
        t_low=float(t_low),
        t_high=float(t_high),
        accepted=int(acc.sum()),
        review=int(rev.sum()),
        dropped=int(drop.sum()),
        review_images=int(np.unique(records.pred_sample[rev]).size),
        automatic_share=float(1 - rev.sum() / len(conf)) if len(conf) else 1.0,
        accepted_tp=accepted_tp,
        accepted_fp=accepted_fp,
        accepted_precision=float(
            safe_divide(np.array([accepted_tp]), np.array([accepted_tp + accepted_fp]))[0]
        ),
        review_tp=review_tp,
        review_fp=review_fp,
        lost_tp=lost_tp,
        lost_share=lost_tp / total_tp if total_tp else 0.0,
        precision_after_review=prec_after,
        recall_after_review=rec_after,
        fn_after_review=fn_after,
        cost=cost,
    )


def find_review_band(
    records: MatchRecords,
    thresholds: np.ndarray,
    *,
    precision: float,
    max_lost: float,
    review_cost: float | None = None,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
) -> ReviewBand:
    """The narrowest band that meets both goals.

    ``t_high`` is the lowest threshold whose accepted predictions reach
    ``precision`` (the most automatic acceptances); ``t_low`` is the highest
    threshold at or below ``t_high`` that drops at most ``max_lost`` of the
    true positives (the fewest reviews).

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords` of a
            classwise matching pass
        thresholds: the candidate thresholds, ascending
        precision: the precision the accepted predictions must reach, in
            ``(0, 1]``
        max_lost: the largest share of true positives the dropped
            predictions may hold, in ``[0, 1]``
        review_cost, fp_cost, fn_cost: see :func:`review_band`

    Raises:
        UnattainableTargetError: if no threshold reaches ``precision``
    """
    if not 0 < precision <= 1:
        raise ValueError(f"precision must be in (0, 1]; got {precision!r}")
    if not 0 <= max_lost <= 1:
        raise ValueError(f"max_lost must be in [0, 1]; got {max_lost!r}")
    t = np.asarray(thresholds, dtype=np.float64)
    if t.size == 0:
        raise ValueError("There are no thresholds to choose from")
    counts = count_at(records, t)
    kept = counts.tp + counts.fp
    prec = safe_divide(counts.tp.astype(np.float64), kept.astype(np.float64))
    ok = np.flatnonzero(prec >= precision - 1e-12)
    if ok.size == 0:
        i = int(np.argmax(prec))
        raise UnattainableTargetError(
            f"No threshold reaches precision >= {precision:g} for the "
            f"accepted predictions: the highest precision is {prec[i]:.4f}, "
            f"at threshold {t[i]:g}. Lower the precision target",
            best_value=float(prec[i]),
            best_threshold=float(t[i]),
        )
    hi = int(ok[0])

    total_tp = int((records.pred_tp & ~np.isnan(records.pred_conf)).sum())
    lost = (total_tp - counts.tp) / total_tp if total_tp else np.zeros(len(t))
    # lost grows with the threshold: the highest t_low within the bound
    within = np.flatnonzero(lost[: hi + 1] <= max_lost + 1e-12)
    lo = int(within[-1]) if within.size else 0
    return review_band(
        records,
        float(t[lo]),
        float(t[hi]),
        review_cost=review_cost,
        fp_cost=fp_cost,
        fn_cost=fn_cost,
    )


def band_of(
    records: MatchRecords,
    thresholds: np.ndarray,
    classwise: bool,
    *,
    precision: float | None = None,
    max_lost: float = 0.05,
    t_low: float | None = None,
    t_high: float | None = None,
    review_cost: float | None = None,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
) -> ReviewBand:
    """The band a result asks for: found from ``precision`` and
    ``max_lost`` (:func:`find_review_band`), or described by ``t_low`` and
    ``t_high`` (:func:`review_band`). See
    :meth:`~optimal_confidence.result.OptimalConfidenceResult.review_band`.
    """
    if not classwise:
        raise ValueError(
            "A review band needs a classwise result (classwise=True): "
            "with cross-label matches, removing a reviewed prediction "
            "can change other predictions' matches"
        )
    costs = dict(review_cost=review_cost, fp_cost=fp_cost, fn_cost=fn_cost)
    if t_low is not None or t_high is not None:
        if t_low is None or t_high is None or precision is not None:
            raise ValueError(
                "Give either precision (and max_lost) to find a band, or "
                "both t_low and t_high to describe one"
            )
        t = (check_number("t_low", t_low), check_number("t_high", t_high))
        return review_band(records, *t, **costs)
    if precision is None:
        raise ValueError(
            "Give the precision the accepted predictions must reach, for "
            "example precision=0.95, or both t_low and t_high"
        )
    return find_review_band(
        records,
        thresholds,
        precision=check_number("precision", precision),
        max_lost=check_number("max_lost", max_lost),
        **costs,
    )
