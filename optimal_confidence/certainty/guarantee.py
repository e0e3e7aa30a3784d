"""Thresholds with a finite-sample guarantee: Learn-then-Test.

Pure numpy and scipy: nothing here imports fiftyone.

The best threshold on some images is tuned to them: new images from the
same source reach the target there only about half of the time.
Learn-then-Test (Angelopoulos, Bates, Candès, Jordan and Lei, 2021) turns
the choice into tests of ``H_t: R(t) > alpha``, "the expected loss at
threshold ``t`` is above ``alpha = 1 - target``", one per candidate, with
the family-wise error controlled (see :func:`certify`). With probability
at least ``guarantee`` over the draw of the images, every certified
threshold has ``R(t) <= alpha``: a statement about the expected loss on
images drawn the same way (exchangeable with these), not about any single
image.

Losses (:func:`empirical_risk`), each in ``[0, 1]`` per image:

-   ``"recall"`` (detections): the per-image miss rate ``m_i(t) = FN_i(t) /
    GT_i`` over the images with ground truth;
-   ``"precision"`` (detections): the per-image false discovery proportion
    ``q_i(t) = FP_i(t) / max(kept_i(t), 1)`` over the images with a scored
    prediction (an image without one has nothing to discover, and would
    only dilute the rate). Its mean is the per-image false discovery rate,
    not one minus the pooled precision (which weighs images by how many
    predictions they keep); the pooled precision at the certified threshold
    is reported next to it, and required to reach the target there too;
-   ``"accuracy"`` (a classifier that escalates the answers below ``t`` to a
    person, one answer per image): the error rate of the automatic answers,
    ``P(wrong | confidence >= t)``.

p-values: Hoeffding-Bentkus (the smaller of the two bounds, as in the
paper) for the mean losses; for the accuracy target the exact binomial
tail given the number of automatic answers ``n(t)``, which are then
independent draws from the images answered at ``t``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import numpy as np

from ..curves.objectives import UnattainableTargetError
from .pvalues import (
    bentkus_p_value,
    binomial_p_value,
    fixed_sequence_test,
    hoeffding_bentkus_p_value,
    hoeffding_p_value,
    upper_confidence_bound,
)
from .risks import Risk, empirical_risk, scored_images
from ..curves.sweep import MatchRecords, count_at, point_metrics, precision_recall_f1

__all__ = [
    "GUARANTEE_OBJECTIVES",
    "Guarantee",
    "Risk",
    "bentkus_p_value",
    "binomial_p_value",
    "certify",
    "certify_per_class",
    "empirical_risk",
    "fixed_sequence_test",
    "hoeffding_bentkus_p_value",
    "hoeffding_p_value",
    "upper_confidence_bound",
]

#: the objectives :func:`certify` accepts, and the risk each one bounds
GUARANTEE_OBJECTIVES = {
    "recall": "miss rate",
    "precision": "false discovery rate (per image)",
    "accuracy": "error rate of automatic answers",
}

#: the tasks a result can have (see ``SweepConfig.task``)
TASKS = ("detection", "binary", "multiclass")

#: the risk bounded for a classifier's precision target
WRONG_AMONG_KEPT = "share of wrong answers among those kept"

METHOD = "Learn-then-Test"

# the search for the images needed gives up beyond this many
_MAX_IMAGES = 1e12


def _p_values(objective_name: str, r: Risk, alpha: float) -> np.ndarray:
    if objective_name == "accuracy":
        return binomial_p_value(np.rint(r.risk * r.n), r.n, alpha)
    return hoeffding_bentkus_p_value(r.risk, r.n, alpha)


def _percent(x: float) -> str:
    return f"{100 * x:.3g}%"


@dataclass(frozen=True)
class Guarantee:
    """A threshold certified by Learn-then-Test.

    With probability at least ``level`` over the draw of the images, the
    expected ``metric`` at ``threshold`` on images like these is at most
    ``risk_bound`` (jointly for ``num_classes`` classes when the level was
    split between them).

    Attributes:
        objective: ``"recall"``, ``"precision"`` or ``"accuracy"``
        metric: the risk bounded: ``"miss rate"``, ``"false discovery rate
            (per image)"``, ``"error rate of automatic answers"`` or, for a
            classifier's precision target, ``"share of wrong answers among
            those kept"``
        level: the guarantee, e.g. 0.9 (for per-class thresholds, the joint
            level over all the classes)
        risk_bound: ``alpha = 1 - target``
        threshold: the certified threshold ``t``: the riskiest certified
            threshold (the highest for a recall target, the lowest for
            precision and accuracy targets) at which the pooled recall or
            precision on these images also reaches the target
        num_images: the images the guarantee rests on: those with ground
            truth (recall), those with a scored prediction (precision; for a
            class, of the class), the judged images (accuracy: one answer
            row each, with or without a confidence)
        empirical_risk: the mean loss at ``threshold`` on these images
        p_value: the p-value of ``H: R(threshold) > risk_bound``
        precision: the pooled precision at ``threshold`` (the accuracy of
            the automatic answers, for a classifier)
        recall: the pooled recall at ``threshold``
        coverage: for an accuracy target (or a classifier's precision
            target), the share of images answered automatically (kept) at
            ``threshold``; else None
        num_certified: how many candidate thresholds were certified
        class_name: the class, for per-class thresholds; else None
        num_classes: the number of classes the level is split between
            (Bonferroni: each is tested at ``(1 - level) / num_classes``)
        method: ``"Learn-then-Test"``
    """

    objective: str
    metric: str
    level: float
    risk_bound: float
    threshold: float
    num_images: int
    empirical_risk: float
    p_value: float
    precision: float
    recall: float
    coverage: float | None = None
    num_certified: int = 1
    class_name: str | None = None
    num_classes: int = 1
    method: str = METHOD

    @property
    def delta(self) -> float:
        """The chance of error each test was run at: ``(1 - level) /
        num_classes``."""
        return (1 - self.level) / self.num_classes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``NaN`` becomes ``None``."""
        d = asdict(self)
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Guarantee":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("level", "risk_bound", "threshold", "empirical_risk", "p_value",
                  "precision", "recall"):
            kw[k] = float("nan") if kw.get(k) is None else float(kw[k])
        return cls(**kw)

    def _which_images(self) -> str:
        if self.objective == "recall":
            return " with ground truth" + (" of the class" if self.class_name is not None else "")
        if self.objective == "precision" and self.metric != WRONG_AMONG_KEPT:
            return " with a prediction" + (" of the class" if self.class_name is not None else "")
        return ""

    def summary(self) -> str:
        """The guarantee in words."""
        who = f"for class {self.class_name!r}, w" if self.class_name is not None else "W"
        joint = (
            f" jointly for all {self.num_classes} classes (each tested at "
            f"{_percent(1 - self.delta)}, Bonferroni)"
            if self.num_classes > 1
            else ""
        )
        text = (
            f"{who}ith {_percent(self.level)} confidence{joint}, on images like "
            f"these the expected {self.metric} at threshold {self.threshold:.4g} "
            f"is at most {_percent(self.risk_bound)} ({self.method}, "
            f"{self.num_images:,} images{self._which_images()}; "
            f"observed {_percent(self.empirical_risk)}"
        )
        if self.objective == "accuracy":
            text += f", {_percent(self.coverage)} of images answered automatically"
        elif self.metric == WRONG_AMONG_KEPT:  # a classifier's precision
            text += (
                f", {_percent(self.coverage)} of the answers kept; precision "
                f"{self.precision:.3f}, recall {self.recall:.3f}"
            )
        else:
            text += f"; pooled precision {self.precision:.3f}, recall {self.recall:.3f}"
            if self.objective == "precision":
                text += (
                    "; the rate is the share of false positives among an "
                    "image's kept predictions, averaged over images"
                )
        return (text[0].upper() + text[1:]) + ")"


def _check_objective_name(objective_name: Any) -> None:
    if objective_name not in GUARANTEE_OBJECTIVES:
        raise ValueError(
            f"objective_name must be one of {list(GUARANTEE_OBJECTIVES)} (a "
            f"guarantee certifies a target); got {objective_name!r}"
        )


def _check_arguments(
    thresholds: Any, objective_name: Any, target: Any, guarantee: Any, task: Any = "detection"
) -> np.ndarray:
    _check_objective_name(objective_name)
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}; got {task!r}")
    def number(x: Any) -> bool:
        return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)

    if not number(target) or not 0 < target <= 1:
        raise ValueError(
            f"target must be a number in (0, 1], e.g. 0.9 for a {objective_name} "
            f"of at least 90%; got {target!r}"
        )
    if not number(guarantee) or not 0 < guarantee < 1:
        raise ValueError(
            f"guarantee must be a number in (0, 1), e.g. 0.9 for 90% "
            f"confidence; got {guarantee!r}"
        )
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or np.isnan(t).any():
        raise ValueError(
            "thresholds must be a non-empty 1-D array of candidate thresholds "
            "without NaN, e.g. the sweep's result.thresholds"
        )
    if np.any(np.diff(t) <= 0):
        raise ValueError(
            "thresholds must be strictly ascending; pass np.unique(thresholds)"
        )
    return t


def _test_order(objective_name: str, r: Risk, alpha: float, delta: float) -> np.ndarray:
    """The thresholds' indices in testing order, safest first: ascending
    for recall (the lowest threshold keeps the most), else descending.

    For accuracy the sequence starts at the highest threshold with enough
    answers that an error rate of half the bound would pass
    (``P(Bin(n, alpha) <= n alpha / 2) <= delta``; failing that, no error):
    above it so few images are answered that one error would stop the
    sequence before the thresholds that matter. The start depends on the
    data only through the numbers of answers ``n(t)``, never on the errors.
    """
    order = np.arange(len(r.risk))
    if objective_name == "recall":
        return order
    order = order[::-1]
    if objective_name == "accuracy":
        n = r.n[order]
        start = binomial_p_value(np.floor(0.5 * alpha * n), n, alpha) <= delta
        if not start.any():
            start = binomial_p_value(0, n, alpha) <= delta
        order = order[np.argmax(start):] if start.any() else order[:0]
    return order


def _certify(
    records: MatchRecords,
    t: np.ndarray,
    objective_name: str,
    target: float,
    level: float,
    *,
    num_classes: int = 1,
    class_name: str | None = None,
    task: str = "detection",
) -> Guarantee:
    # a classifier's precision target bounds the share of wrong answers
    # among those kept (one answer per image): the accuracy loss
    loss = "accuracy" if task != "detection" and objective_name == "precision" else objective_name
    # rounded so that a target of 0.8 reads as a bound of 0.2, not 0.19999...
    alpha = round(1.0 - float(target), 12)
    delta = (1.0 - float(level)) / num_classes
    r = empirical_risk(records, t, loss)
    p = _p_values(loss, r, alpha)
    order = _test_order(loss, r, alpha, delta)
    rejected = fixed_sequence_test(p[order], delta)
    if rejected == 0:
        raise _unattainable(records, t, loss, target, delta, r, order)
    j = _riskiest_reaching_the_pooled_target(records, t, order[:rejected], loss, target)
    m = point_metrics(count_at(records, t[j : j + 1]))
    coverage = None
    if loss == "accuracy":
        coverage = float(r.n[j]) / max(records.num_preds, 1)
    return Guarantee(
        objective=objective_name,
        metric=WRONG_AMONG_KEPT if loss != objective_name else GUARANTEE_OBJECTIVES[objective_name],
        level=float(level),
        risk_bound=alpha,
        threshold=float(t[j]),
        num_images=_num_images(records, loss),
        empirical_risk=float(r.risk[j]),
        p_value=float(p[j]),
        precision=m["precision"],
        recall=m["recall"],
        coverage=coverage,
        num_certified=rejected,
        class_name=class_name,
        num_classes=num_classes,
    )


def _riskiest_reaching_the_pooled_target(
    pooled: MatchRecords, t: np.ndarray, certified: np.ndarray, objective_name: str, target: float
) -> int:
    """Of the certified candidates (``certified``, in the test's order), the
    riskiest at which the pooled metric on these images also reaches the
    target.

    Learn-then-Test controls the chance that *any* certified candidate has a
    risk above the bound, so choosing among them keeps the guarantee. The
    per-image rates weigh every image alike, the pooled precision and recall
    weigh every object alike; requiring both means that asking for a
    guarantee never picks a threshold that misses the target on the very
    images it was certified on (a threshold the point estimate would reject).
    For the accuracy target both are the same (one answer per image).
    """
    if objective_name == "accuracy":
        return int(certified[-1])
    precision, recall, _ = precision_recall_f1(count_at(pooled, t[certified]))
    m = precision if objective_name == "precision" else recall
    ok = np.flatnonzero(m >= target - 1e-12)
    if ok.size == 0 and objective_name == "precision" and not precision.any():
        raise UnattainableTargetError(
            f"Learn-then-Test certifies only thresholds that keep no prediction "
            f"(from {t[certified[0]]:.4g} down to {t[certified[-1]]:.4g}): no threshold that "
            f"keeps one can be certified from these images. More images, or a lower "
            f"target or guarantee, may certify one",
            best_value=0.0,
            best_threshold=float(t[certified[-1]]),
        )
    if ok.size == 0:
        j = int(certified[0])
        way = "up" if objective_name == "recall" else "down"
        raise UnattainableTargetError(
            f"Learn-then-Test certifies the {GUARANTEE_OBJECTIVES[objective_name]} at "
            f"{certified.size} candidate thresholds (from {t[j]:.4g} {way}), but the pooled "
            f"{objective_name} on these images stays below {target:g} at all of them "
            f"(at most {float(m.max()):.3f}): lower the target",
            best_value=float(m.max()),
            best_threshold=float(t[certified[int(np.argmax(m))]]),
        )
    return int(certified[ok[-1]])


def certify(
    records: MatchRecords,
    thresholds: Any,
    objective_name: str,
    target: float,
    guarantee: float,
    *,
    task: str = "detection",
) -> Guarantee:
    """The riskiest threshold that Learn-then-Test certifies to reach
    ``target`` with probability ``guarantee`` (and that reaches it in
    pooled terms on these images).

    The hypotheses ``H_t: R(t) > alpha`` (``alpha = 1 - target``) are
    tested in an order fixed before the data are seen, from the safest
    threshold to the riskiest: ascending for a recall target (the lowest
    threshold misses the least), descending for precision and accuracy
    targets (the highest threshold keeps the fewest mistakes). Each is
    rejected while its p-value is ``<= delta = 1 - guarantee``; the first
    that is not stops the sequence. Of the rejected (certified) thresholds,
    the riskiest at which the pooled recall or precision on these images
    also reaches the target is returned: choosing among certified
    thresholds keeps the guarantee, and a guarantee never picks a threshold
    the point estimate would reject.
    Fixed-sequence testing controls the chance of certifying any threshold
    whose risk is above ``alpha`` at ``delta`` without a multiplicity
    correction: that needs the first such threshold in the order to pass a
    single test at level ``delta`` (:func:`fixed_sequence_test`). For the
    accuracy target, the highest thresholds, which answer too few images
    for a fair test, are skipped (see :func:`_test_order`); that start
    depends on the data only through the numbers of answers, and the
    simulation in ``tests/test_guarantee.py`` checks that the guarantee
    still holds.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords` of the
            calibration images: images like those the model will see, not
            the images the model was trained on
        thresholds: the candidate thresholds, strictly ascending (e.g. the
            sweep's ``thresholds``)
        objective_name: ``"recall"``, ``"precision"`` or ``"accuracy"``
        target: the recall, precision (per image: one minus the per-image
            false discovery rate) or accuracy to reach, in ``(0, 1]``
        guarantee: the probability that the certified threshold reaches
            the target, in ``(0, 1)``, e.g. 0.9
        task ("detection"): ``"binary"`` or ``"multiclass"`` for the
            records of a classifier (one answer per image), whose precision
            target bounds the share of wrong answers among those kept (with
            the exact binomial tail, as for accuracy), not a per-image rate

    Returns:
        a :class:`Guarantee`

    Raises:
        UnattainableTargetError: if no threshold can be certified; the
            message gives the best bound these images reach and roughly how
            many images would be needed, ``best_value`` the highest target
            they could certify (one minus the smallest upper confidence
            bound over the candidates) and ``best_threshold`` where; or if
            no certified threshold reaches the target in pooled terms, the
            message says so, ``best_value`` the best pooled value there
        ValueError: if an argument is invalid
    """
    t = _check_arguments(thresholds, objective_name, target, guarantee, task)
    return _certify(records, t, objective_name, float(target), float(guarantee), task=task)


def certify_per_class(
    records: MatchRecords,
    thresholds: Any,
    objective_name: str,
    target: float,
    guarantee: float,
    *,
    task: str = "detection",
) -> dict[str, Guarantee | str]:
    """A certified threshold for each class, jointly with probability
    ``guarantee``.

    Each class is certified on its own predictions and ground truth at
    ``delta = (1 - guarantee) / K``, where ``K`` is the number of classes
    present (Bonferroni), so that with probability at least ``guarantee``
    every certified class reaches the target at once. Each summary says
    so. A class's false discovery rate (precision target) is averaged over
    the images with a scored prediction of the class, not over all images,
    where images without one would dilute it towards zero.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: the candidate thresholds, strictly ascending
        objective_name: ``"recall"``, ``"precision"`` or ``"accuracy"``
        target: the target, in ``(0, 1]``
        guarantee: the joint probability, in ``(0, 1)``

    Returns:
        a dict from each present class to its :class:`Guarantee`, or to the
        reason it could not be certified
    """
    t = _check_arguments(thresholds, objective_name, target, guarantee, task)
    classes = records.present_classes()
    out: dict[str, Guarantee | str] = {}
    for name in classes:
        rec = records.restrict_to_class(name)
        try:
            out[name] = _certify(
                rec, t, objective_name, float(target), float(guarantee),
                num_classes=len(classes), class_name=name, task=task,
            )
        except ValueError as e:  # UnattainableTargetError included
            out[name] = str(e)
    return out


def _num_images(records: MatchRecords, objective_name: str) -> int:
    if objective_name == "recall":
        return int(np.unique(records.gt_sample).size)
    if objective_name == "accuracy":
        return int(records.num_preds)
    return scored_images(records)


def _scale_needed(objective_name: str, risk: float, n: int, alpha: float, delta: float) -> float:
    """By how much the number of observations behind a mean ``risk`` of
    ``n`` must grow, at the same empirical risk, for its p-value to reach
    ``delta`` (``inf`` when the risk is not below ``alpha``, or beyond a
    trillion images)."""
    if not risk < alpha or n <= 0:
        return math.inf

    def passes(m: float) -> bool:
        if objective_name == "accuracy":
            return bool(binomial_p_value(math.floor(risk * m), m, alpha) <= delta)
        return bool(hoeffding_bentkus_p_value(risk, m, alpha) <= delta)

    hi = float(n)
    while not passes(hi):
        if hi > _MAX_IMAGES:
            return math.inf
        hi *= 2
    lo = max(math.floor(hi / 2), n)
    while hi - lo > 1:  # the smallest m in (lo, hi] that passes
        mid = math.floor((lo + hi) / 2)
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi / n


def _unattainable(
    records: MatchRecords, t: np.ndarray, objective_name: str, target: float,
    delta: float, r: Risk, order: np.ndarray,
) -> UnattainableTargetError:
    """The error raised when no threshold is certified: the best bound these
    images reach, and roughly how many images the first threshold of the
    sequence needs at its observed rate."""
    alpha = round(1.0 - target, 12)
    metric = GUARANTEE_OBJECTIVES[objective_name]
    ucb = upper_confidence_bound(r.risk, r.n, delta, binary=objective_name == "accuracy")
    i = int(np.argmin(ucb))
    n_images = _num_images(records, objective_name)
    text = (
        f"No threshold can be certified to keep the {metric} at most "
        f"{_percent(alpha)} (target {target:g}) with {_percent(1 - delta)} "
        f"confidence from these {n_images:,} images: the best bound they give "
        f"is {_percent(float(ucb[i]))}, at threshold {t[i]:.4g}. "
    )
    # the sequence starts at order[0]; with no testable threshold (accuracy),
    # the one with the most answers
    first = int(order[0]) if order.size else int(np.argmax(r.n))
    scale = _scale_needed(objective_name, float(r.risk[first]), int(r.n[first]), alpha, delta)
    r_first = float(r.risk[first])
    if alpha == 0:
        text += (
            "A target of 1 allows no error at all, which no finite number of "
            "images can certify: use a target below 1"
        )
    elif np.isfinite(scale):
        text += (
            f"The test starts at threshold {t[first]:.4g} (observed "
            f"{_percent(r_first)}); at that rate roughly "
            f"{math.ceil(scale * n_images):,} images would be needed. Or lower "
            f"the target or the guarantee"
        )
    elif not (r.risk < alpha).any():
        text += (
            f"The observed {metric} is above {_percent(alpha)} at every "
            f"threshold, so more images of the same kind would not help: "
            f"lower the target"
        )
    elif r_first >= alpha:
        text += (
            f"The test starts at threshold {t[first]:.4g}, where the observed "
            f"{metric} is already {_percent(r_first)}: drop the candidate "
            f"thresholds beyond it, or lower the target"
        )
    else:
        text += (
            f"The observed {metric} at threshold {t[first]:.4g}, where the test "
            f"starts, is so close to the bound that more than a trillion images "
            f"would be needed: lower the target"
        )
    return UnattainableTargetError(
        text, best_value=float(1.0 - ucb[i]), best_threshold=float(t[i])
    )
