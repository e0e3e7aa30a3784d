"""What the figures show, computed once for both renderers: the curves of
all classes or some classes (:func:`curve_data`), and the marks on them
(:func:`marks`: titles, the chosen point, a target line, the bootstrap
interval, a review band, the per-class operating point).

Pure numpy; nothing here draws or reads the database.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..curves.objectives import fbeta, objective_curve
from ..spec.objective import Objective
from ..curves.sweep import Counts, best_index, count_at, point_metrics, precision_recall_f1, safe_divide

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult
    from ..curves.review import ReviewBand

__all__ = [
    "COLORS",
    "OPERATING_POINT_ID",
    "CurveData",
    "Marks",
    "curve_data",
    "marks",
    "metric_names",
    "operating_point",
    "selected_point",
    "threshold_id",
]

#: line colours, shared by both renderers
COLORS = {
    "precision": "#1f77b4",
    "recall": "#2ca02c",
    "f1": "#ff7f0e",
    "fbeta": "#8c564b",
    "coverage": "#2ca02c",
    "pr": "#9467bd",
    "best": "#d62728",
    "selected": "#7f7f7f",
    "band": "#bcbd22",
    "operating": "#e377c2",
}

#: the id of the per-class operating point on the PR figure
OPERATING_POINT_ID = "per-class"

_NAMES = {"precision": "Precision", "recall": "Recall", "f1": "F1", "coverage": "Coverage"}


def metric_names(task: str) -> dict[str, str]:
    """The display names of the curves for a task (``SweepConfig.task``):
    ``{"precision": "Accuracy", ...}`` for ``"multiclass"`` (a multiclass
    classifier's precision is the accuracy of its automatic answers)."""
    if task == "multiclass":
        return {**_NAMES, "precision": "Accuracy"}
    return dict(_NAMES)


def threshold_id(t: float) -> str:
    """The point id the panel gets back on a click: the threshold, exactly
    (``float(threshold_id(t)) == t``)."""
    return repr(float(t))


def num(x: float) -> float | None:
    """A JSON-safe float (non-finite values become ``None``)."""
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class CurveData:
    """The curves one figure shows.

    All arrays have shape ``(num_thresholds,)`` and are aligned with
    ``thresholds`` (strictly ascending); entry ``i`` describes the
    predictions with ``confidence >= thresholds[i]``.

    Attributes:
        title: what the curves pool: ``"all classes"`` or the class names
        thresholds: ``float64`` thresholds
        precision: ``float64`` precision (for a multiclass task: the
            accuracy of the automatic answers)
        recall: ``float64`` recall
        f1: ``float64`` F1
        tp: ``int64`` true positives
        fp: ``int64`` false positives
        fn: ``int64`` false negatives
        best: the index of the marked point
        best_label: what the marked point is, for example ``"best F1"``
        exact: whether ``thresholds`` are every distinct confidence (the
            curves are then step functions, constant on
            ``(thresholds[i - 1], thresholds[i]]``)
        coverage: ``float64`` share of the predictions kept (for a
            multiclass task: of the images answered automatically)
        task: ``"detection"``, ``"binary"`` or ``"multiclass"``
        score: the objective's value at the marked point (``NaN`` where a
            target is not reached)
        score_label: what ``score`` is, e.g. ``"F1"`` or ``"recall at
            precision >= 0.9"``
        minimize: whether a lower score is better (costs)
        mark_on: the curve the marked point is drawn on: ``"precision"``,
            ``"recall"``, ``"f1"`` or ``"fbeta"``
        fbeta: ``float64`` F-beta for an ``"fbeta"`` objective with
            ``beta != 1``, else None
        fbeta_name: its name, e.g. ``"F2"``
        target: the precision, recall or accuracy target of the objective,
            or None
        target_metric: the curve the target applies to: ``"precision"``
            or ``"recall"``, or None
    """

    title: str
    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    best: int
    best_label: str
    exact: bool
    coverage: np.ndarray | None = None
    task: str = "detection"
    score: float = float("nan")
    score_label: str = "F1"
    minimize: bool = False
    mark_on: str = "f1"
    fbeta: np.ndarray | None = None
    fbeta_name: str | None = None
    target: float | None = None
    target_metric: str | None = None

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best])

    @property
    def names(self) -> dict[str, str]:
        """The display names of the curves (see :func:`metric_names`)."""
        return metric_names(self.task)

    def curve(self, key: str) -> np.ndarray:
        """The curve ``key``: ``"precision"``, ``"recall"``, ``"f1"``,
        ``"fbeta"`` or ``"coverage"``."""
        value = getattr(self, key)
        if value is None:
            raise ValueError(f"These curves have no {key!r} curve")
        return value

    @property
    def score_text(self) -> str:
        """``"<score_label> = <score>"``, readable."""
        from ..outputs.reports import format_score

        return f"{self.score_label} = {format_score(self.score, self.minimize)}"

    def point(self, i: int) -> dict[str, Any]:
        """Entry ``i`` as plain Python numbers."""
        out: dict[str, Any] = {
            "threshold": float(self.thresholds[i]),
            "precision": float(self.precision[i]),
            "recall": float(self.recall[i]),
            "f1": float(self.f1[i]),
            "tp": int(self.tp[i]),
            "fp": int(self.fp[i]),
            "fn": int(self.fn[i]),
        }
        if self.coverage is not None:
            out["coverage"] = float(self.coverage[i])
        if self.fbeta is not None:
            out["fbeta"] = float(self.fbeta[i])
        return out


def _class_list(result: "OptimalConfidenceResult", classes: str | Sequence[str] | None) -> list[str] | None:
    if classes is None:
        return None
    names = [classes] if isinstance(classes, str) else list(classes)
    if not names:
        raise ValueError("classes must name at least one class, or be None for all")
    unknown = [c for c in names if c not in result.classes]
    if unknown:
        raise ValueError(
            f"Unknown classes {unknown}; the classes of this result are "
            f"{result.classes}"
        )
    # the order of the result's classes, without repeats
    return [c for c in result.classes if c in names]


def _mark_on(objective: Objective, task: str) -> str:
    """The plotted curve the objective's point sits on: the metric it
    maximizes, where that metric is drawn."""
    if task == "multiclass":
        return "precision"
    if objective.metric in ("precision", "recall"):
        return objective.metric
    if objective.metric == "fbeta" and objective.beta != 1:
        return "fbeta"
    return "f1"


def _common(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """What the curves of all classes and of some classes share."""
    o, task = result.objective, result.config.task
    target = o.target if o.constrained is not None else None
    return dict(
        exact=result.config.num_thresholds is None,
        task=task,
        mark_on=_mark_on(o, task),
        minimize=o.minimize,
        target=None if target is None else float(target),
        target_metric=o.constrained,
        fbeta_name=f"F{o.beta:g}" if _mark_on(o, "detection") == "fbeta" else None,
    )


def _best_label(o: Objective) -> str:
    if o.guarantee is not None:
        return f"certified ({100 * o.guarantee:g}%)"
    # "lowest threshold with accuracy >= t" is no "best" of anything
    return o.label if o.name == "accuracy" else f"best {o.label}"


def _pooled(result: "OptimalConfidenceResult") -> CurveData:
    o = result.objective
    common = _common(result)
    return CurveData(
        title="all classes",
        thresholds=np.asarray(result.thresholds, dtype=np.float64),
        precision=result.precision,
        recall=result.recall,
        f1=result.f1,
        tp=result.tp,
        fp=result.fp,
        fn=result.fn,
        best=int(result.best_index),
        best_label=_best_label(o),
        coverage=result.coverage,
        score=float(result.best_score),
        score_label=o.label,
        fbeta=fbeta(result.counts, o.beta) if common["fbeta_name"] else None,
        **common,
    )


def _marked_point(
    result: "OptimalConfidenceResult", names: list[str], counts: Counts, f1: np.ndarray
) -> tuple[int, str, float, str] | None:
    """For classes that all deploy at one swept threshold, that point:
    ``(index, label, score, score label)``; else None."""
    objective = result.objective
    own = dataclasses.replace(objective, per_class=False, average="micro")
    deployed = {result.class_thresholds[c] for c in names}
    if len(deployed) != 1:
        return None
    t = deployed.pop()
    i = int(np.searchsorted(result.thresholds, t))
    if i >= len(result.thresholds) or result.thresholds[i] != t:
        return None
    if objective.per_class and len(names) == 1:
        choice = result.class_choices[names[0]]
        label = f"{names[0]}'s threshold" if choice.own else f"{names[0]}: global threshold"
        return i, label, float(choice.score), own.label
    return i, "chosen threshold", float(objective_curve(own, counts)[i]), own.label


def _of_classes(result: "OptimalConfidenceResult", names: list[str]) -> CurveData:
    # only the classes shown: all of them would be (classes x thresholds)
    per_class = [count_at(result.records.restrict_to_class(c), result.thresholds) for c in names]
    zeros = np.zeros_like(result.tp)
    counts = Counts(*(sum((c[k] for c in per_class), zeros) for k in range(3)))
    precision, recall, f1 = precision_recall_f1(counts)
    records = result.records
    shown = np.isin(records.pred_class, [result.classes.index(c) for c in names])
    kept = (counts.tp + counts.fp).astype(np.float64)
    common = _common(result)
    marked = _marked_point(result, names, counts, f1)
    if marked is None:
        marked = (best_index(f1), "best F1 of these classes", float(f1[best_index(f1)]), "F1")
        common.update(mark_on="precision" if common["task"] == "multiclass" else "f1", minimize=False)
    best, label, score, score_label = marked
    return CurveData(
        title=", ".join(names),
        thresholds=np.asarray(result.thresholds, dtype=np.float64),
        precision=precision,
        recall=recall,
        f1=f1,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        best=int(best),
        best_label=label,
        coverage=safe_divide(kept, np.full_like(kept, float(shown.sum()))),
        score=score,
        score_label=score_label,
        fbeta=fbeta(counts, result.objective.beta) if common["fbeta_name"] else None,
        **common,
    )


def curve_data(
    result: "OptimalConfidenceResult",
    classes: str | Sequence[str] | None = None,
) -> CurveData:
    """The curves of all classes pooled, or of some classes, and the point
    to mark on them.

    The marked point is the threshold the result chose for what is shown:
    for all classes, :attr:`~OptimalConfidenceResult.best_threshold` (by
    the result's objective, whose value there is
    :attr:`~OptimalConfidenceResult.best_score`); for classes that all
    deploy at one threshold
    (:attr:`~OptimalConfidenceResult.class_thresholds`), that threshold,
    with the objective (micro-averaged over the classes shown) there;
    otherwise the best F1 of the curves shown.

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
        classes (None): ``None`` for all classes pooled, a class name, or a
            list of class names whose counts are pooled (the per-class
            counts of :meth:`~OptimalConfidenceResult.class_counts`)

    Returns:
        a :class:`CurveData`

    Raises:
        ValueError: if a class is not in the result
    """
    names = _class_list(result, classes)
    return _pooled(result) if names is None else _of_classes(result, names)


def operating_point(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """Precision, recall, F1, coverage and counts where each class is kept
    at its own threshold (:meth:`~OptimalConfidenceResult.operating_counts`).
    """
    m = point_metrics(result.operating_counts())
    n = result.records.num_preds
    return {**m, "coverage": (m["tp"] + m["fp"]) / n if n else 0.0}


def selected_point(
    result: "OptimalConfidenceResult", classes: str | Sequence[str] | None, threshold: float
) -> dict[str, Any]:
    """Precision, recall, F1, counts and coverage of the classes shown
    (see :func:`curve_data`) at any ``threshold``, exact from the match
    records (also between the swept thresholds): where a selected
    threshold sits on the curves."""
    names = _class_list(result, classes)
    records, t = result.records, np.array([float(threshold)])
    if names is None:
        counts = count_at(records, t)
        total = records.num_gts if result.config.task == "multiclass" else records.num_preds
    else:
        parts = [count_at(records.restrict_to_class(c), t) for c in names]
        counts = Counts(*(sum(getattr(p, k) for p in parts) for k in ("tp", "fp", "fn")))
        total = int(np.isin(records.pred_class, [result.classes.index(c) for c in names]).sum())
    m = point_metrics(counts)
    return {"threshold": float(threshold), **m, "coverage": (m["tp"] + m["fp"]) / total if total else 0.0}


@dataclass(frozen=True, eq=False)
class Marks:
    """Everything both renderers draw, computed once.

    Attributes:
        curves: the :class:`CurveData`
        keys: the curves of the threshold plot, in drawing order
        labels: each key's display name (``"F2"`` for F-beta)
        title: the threshold plot's title
        pr_title: the second plot's title (precision-recall, or accuracy
            against coverage)
        pr_x: the key of the second plot's x (``"recall"`` or ``"coverage"``)
        pr_x_label, pr_y_label: the second plot's axis titles
        pr_name: the second plot's curve name
        best: the marked point (:meth:`CurveData.point`)
        target_text: the target line's label, e.g. ``"precision target 0.9"``
        ci: ``(low, high, level)`` of the bootstrap interval to shade, or None
        band: the review band to shade, or None
        operating: the per-class operating point (:func:`operating_point`),
            or None
        fields: the fields compared, e.g. ``"'predictions' vs 'ground_truth'
            (IoU 0.5)"``
        label_at: ``(threshold, score)``: where the chosen point's label
            goes on the threshold plot, a free spot near the point (see
            :func:`label_spot`)
        point_estimate: with a guarantee (all classes), the point the
            objective chooses without it (:meth:`CurveData.point`), drawn
            beside the certified one; else None
        selected: a threshold selected (for example the last one
            clicked in the App's panel) as :func:`selected_point`, or None
    """

    curves: CurveData
    keys: tuple[str, ...]
    labels: dict[str, str]
    title: str
    pr_title: str
    pr_x: str
    pr_x_label: str
    pr_y_label: str
    pr_name: str
    best: dict[str, Any]
    target_text: str | None
    ci: tuple[float, float, float] | None
    band: "ReviewBand | None"
    operating: dict[str, Any] | None
    fields: str
    label_at: tuple[float, float]
    point_estimate: dict[str, Any] | None = None
    selected: dict[str, Any] | None = None

    @property
    def multiclass(self) -> bool:
        return self.curves.task == "multiclass"


#: the chosen point's label on the threshold plot, as a share of the x span
#: and in score units (two lines, on a plot of about 500 x 300 px)
LABEL_WIDTH, LABEL_HEIGHT = 0.24, 0.15


def _sampled(c: CurveData, keys: Sequence[str], x0: float, x1: float) -> np.ndarray:
    """The values of the curves (step functions) at sampled points of
    ``[x0, x1]``: 16 even points and every threshold there."""
    t = c.thresholds
    xs = np.unique(np.concatenate([np.linspace(x0, x1, 16), t[(t >= x0) & (t <= x1)]]))
    # the value at x is that of the last threshold <= x (steps)
    i = np.clip(np.searchsorted(t, xs, side="right") - 1, 0, len(t) - 1)
    return np.concatenate([c.curve(k)[i] for k in keys])


def _crossings(c: CurveData, keys: Sequence[str], box: tuple[float, float, float, float]) -> int:
    """How many sampled points of the curves (step functions) lie in the
    box ``(x0, x1, y0, y1)``."""
    x0, x1, y0, y1 = box
    v = _sampled(c, keys, x0, x1)
    return int(((v >= y0) & (v <= y1)).sum())


def label_spot(c: CurveData, keys: Sequence[str]) -> tuple[float, float]:
    """A spot for the chosen point's label on the threshold plot: of a grid
    of spots inside the plot, the one whose label box the curves and the
    dashed line of the point cross least, then the nearest to the point."""
    t0, t1 = float(c.thresholds[0]), float(c.thresholds[-1])
    span = (t1 - t0) or 1.0
    bx, by = c.point(c.best)["threshold"], float(c.curve(c.mark_on)[c.best])
    w, h = LABEL_WIDTH * span / 2, LABEL_HEIGHT / 2
    costs = []
    for x in np.linspace(t0 + w, t1 - w, 9):  # the curves sampled once per column
        x = float(x)
        v = _sampled(c, keys, x - w, x + w)
        on_line = 50 * (x - w <= bx <= x + w)
        for y in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.98):
            hits = int(((v >= y - h) & (v <= y + h)).sum()) + on_line
            costs.append(((hits, np.hypot((x - bx) / span, (y - by) / 1.08)), (x, y)))
    return min(costs, key=lambda cs: cs[0])[1]


def _ci(result: "OptimalConfidenceResult") -> tuple[float, float, float] | None:
    u = result.uncertainty
    if u is None or not all(math.isfinite(x) for x in u.threshold_ci):
        return None
    return (float(u.threshold_ci[0]), float(u.threshold_ci[1]), float(u.level))


def marks(
    result: "OptimalConfidenceResult",
    classes: str | Sequence[str] | None = None,
    *,
    band: "ReviewBand | None" = None,
    show_ci: bool = True,
    selected: float | None = None,
) -> Marks:
    """What to draw for ``result`` (see :class:`Marks`): the interval and
    the per-class operating point only for all classes, where the marked
    point is the result's own; a ``selected`` threshold's point."""
    c = curve_data(result, classes)
    names = c.names
    multiclass = c.task == "multiclass"
    keys = ("precision", "coverage") if multiclass else ("precision", "recall", "f1")
    if c.fbeta is not None and not multiclass:
        keys += ("fbeta",)
    labels = {k: names.get(k, c.fbeta_name or k) for k in keys}
    cfg = result.config
    return Marks(
        curves=c,
        keys=keys,
        labels=labels,
        title=f"{'Accuracy, coverage' if multiclass else 'Precision, recall, F1'} ({c.title})",
        pr_title=(
            f"Accuracy against coverage ({c.title})"
            if multiclass
            else f"Precision-recall ({c.title})"
        ),
        pr_x="coverage" if multiclass else "recall",
        pr_x_label="coverage (answered automatically)" if multiclass else "recall",
        pr_y_label="accuracy" if multiclass else "precision",
        pr_name="Accuracy-coverage" if multiclass else "PR curve",
        best=c.point(c.best),
        target_text=(
            None if c.target is None
            else f"{names[c.target_metric].lower()} target {c.target:g}"
        ),
        ci=_ci(result) if show_ci and classes is None else None,
        band=band,
        operating=(
            operating_point(result)
            if classes is None and result.objective.per_class
            else None
        ),
        fields=(
            f"'{cfg.pred_field}' vs '{cfg.gt_field}'"
            + (f" (IoU {cfg.iou:g})" if cfg.task == "detection" else "")
        ),
        label_at=label_spot(c, keys),
        point_estimate=_point_estimate(result, c) if classes is None else None,
        selected=None if selected is None else selected_point(result, classes, selected),
    )


def _point_estimate(result: "OptimalConfidenceResult", c: CurveData) -> dict[str, Any] | None:
    """The point the objective chooses without its guarantee, on the
    pooled curves, or None."""
    from ..outputs.reports_certainty import point_estimate

    t = point_estimate(result)
    if t is None:
        return None
    return c.point(int(np.searchsorted(c.thresholds, t)))
