"""Figures of a result: plotly trace dicts for the App's panel, and a
matplotlib figure for notebooks and reports.

Both draw the same two plots:

-   precision, recall and F1 against the confidence threshold (for a
    multiclass ``Classification`` task: the accuracy of the automatic
    answers and the coverage), with the threshold the result's objective
    chose marked and labelled with the objective's value, and a precision,
    recall or accuracy target as a horizontal line;
-   the precision-recall curve (for a multiclass task: accuracy against
    coverage), with the same point marked.

Optionally, shaded on the threshold plot: a human-review band
``[t_low, t_high)`` (:class:`~optimal_confidence.review.ReviewBand`) and
the bootstrap interval of the chosen threshold (when the result has one).

:func:`curve_data` picks the curves (all classes pooled, or some classes)
and the point to mark; :func:`plotly_figures` and :func:`plot_curves` only
draw it. Nothing here reads the database.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .objectives import Objective, fbeta, objective_curve
from .sweep import Counts, _safe_divide, best_index, precision_recall_f1

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .api import OptimalConfidenceResult
    from .review import ReviewBand

__all__ = [
    "CurveData",
    "curve_data",
    "format_score",
    "metric_names",
    "operating_point",
    "plot_curves",
    "plotly_figures",
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


#: the names of the curves, by task (a multiclass classifier's precision is
#: the accuracy of its automatic answers)
_NAMES = {
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "coverage": "Coverage",
}


def metric_names(task: str) -> dict[str, str]:
    """The display names of the curves for a task (``SweepConfig.task``):
    ``{"precision": "Accuracy", ...}`` for ``"multiclass"``."""
    if task == "multiclass":
        return {**_NAMES, "precision": "Accuracy"}
    return dict(_NAMES)


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
        return f"{self.score_label} = {format_score(self.score, self.minimize)}"

    def point(self, i: int) -> dict[str, Any]:
        """Entry ``i`` as plain Python numbers."""
        out = {
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


def format_score(score: float, minimize: bool = False) -> str:
    """An objective's value for people: a cost as ``%g``, a rate with
    three decimals; ``NaN`` (a target not reached there) in words."""
    if score is None or not math.isfinite(score):
        return "target not reached"
    return f"{score:g}" if minimize else f"{score:.3f}"


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
    if objective.name == "precision":
        return "recall"
    if objective.name in ("recall", "accuracy"):
        return "precision"
    if objective.name == "fbeta" and objective.beta != 1:
        return "fbeta"
    return "f1"


def _target(objective: Objective) -> tuple[float | None, str | None]:
    if objective.name in ("precision", "recall"):
        return float(objective.target), objective.name
    if objective.name == "accuracy":
        return float(objective.target), "precision"
    return None, None


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
        result: an :class:`~optimal_confidence.api.OptimalConfidenceResult`
        classes (None): ``None`` for all classes pooled, a class name, or a
            list of class names whose counts are pooled (the per-class
            counts of :meth:`~OptimalConfidenceResult.class_counts`)

    Returns:
        a :class:`CurveData`

    Raises:
        ValueError: if a class is not in the result
    """
    names = _class_list(result, classes)
    exact = result.config.num_thresholds is None
    task = result.config.task
    thresholds = np.asarray(result.thresholds, dtype=np.float64)
    objective = result.objective
    target, target_metric = _target(objective)
    fbeta_name = (
        f"F{objective.beta:g}" if _mark_on(objective, "detection") == "fbeta" else None
    )
    common = dict(
        exact=exact,
        task=task,
        mark_on=_mark_on(objective, task),
        minimize=objective.minimize,
        target=target,
        target_metric=target_metric,
        fbeta_name=fbeta_name,
    )

    if names is None:
        counts = Counts(result.tp, result.fp, result.fn)
        return CurveData(
            title="all classes",
            thresholds=thresholds,
            precision=result.precision,
            recall=result.recall,
            f1=result.f1,
            tp=result.tp,
            fp=result.fp,
            fn=result.fn,
            best=int(result.best_index),
            # "lowest threshold with accuracy >= t" is no "best" of anything
            best_label=(
                objective.label
                if objective.name == "accuracy"
                else f"best {objective.label}"
            ),
            coverage=result.coverage,
            score=float(result.best_score),
            score_label=objective.label,
            fbeta=fbeta(counts, objective.beta) if fbeta_name else None,
            **common,
        )

    per_class = result.class_counts()
    counts = Counts(
        tp=sum((per_class[c].tp for c in names), np.zeros_like(result.tp)),
        fp=sum((per_class[c].fp for c in names), np.zeros_like(result.fp)),
        fn=sum((per_class[c].fn for c in names), np.zeros_like(result.fn)),
    )
    precision, recall, f1 = precision_recall_f1(counts)
    records = result.records
    shown = np.isin(records.pred_class, [result.classes.index(c) for c in names])
    kept = (counts.tp + counts.fp).astype(np.float64)
    coverage = _safe_divide(kept, np.full_like(kept, float(shown.sum())))

    # the objective on the classes shown, pooled
    own = dataclasses.replace(objective, per_class=False, average="micro")
    deployed = {result.class_thresholds[c] for c in names}
    best, label, score, score_label = None, "", float("nan"), own.label
    if len(deployed) == 1:
        t = deployed.pop()
        i = int(np.searchsorted(thresholds, t))
        if i < len(thresholds) and thresholds[i] == t:
            best = i
            if objective.per_class and len(names) == 1:
                own_choice = result.class_choices[names[0]].own
                label = (
                    f"{names[0]}'s threshold"
                    if own_choice
                    else f"{names[0]}: global threshold"
                )
                score = float(result.class_choices[names[0]].score)
            else:
                label = "chosen threshold"
                score = float(objective_curve(own, counts)[i])
    if best is None:
        best, label = best_index(f1), "best F1 of these classes"
        score, score_label = float(f1[best]), "F1"
        common.update(mark_on="precision" if task == "multiclass" else "f1", minimize=False)

    return CurveData(
        title=", ".join(names),
        thresholds=thresholds,
        precision=precision,
        recall=recall,
        f1=f1,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        best=int(best),
        best_label=label,
        coverage=coverage,
        score=score,
        score_label=score_label,
        fbeta=fbeta(counts, objective.beta) if fbeta_name else None,
        **common,
    )


def _display_indices(n: int, keep: Sequence[int], max_points: int | None) -> np.ndarray:
    """At most about ``max_points`` evenly spread indices into ``n`` points,
    always with the ends and ``keep``."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    idx = np.round(np.linspace(0, n - 1, max(int(max_points), 2))).astype(np.int64)
    return np.unique(np.concatenate([idx, np.asarray(keep, dtype=np.int64)]))


def _num(x: float) -> float | None:
    """A JSON-safe float (non-finite values become ``None``)."""
    x = float(x)
    return x if math.isfinite(x) else None


def threshold_id(t: float) -> str:
    """The point id the panel gets back on a click: the threshold, exactly
    (``float(threshold_id(t)) == t``)."""
    return repr(float(t))


#: the id of the per-class operating point on the PR figure
OPERATING_POINT_ID = "per-class"

_HOVER = (
    "threshold %{customdata[0]:.4g}<br>"
    "precision %{customdata[1]:.3f}<br>"
    "recall %{customdata[2]:.3f}<br>"
    "F1 %{customdata[3]:.3f}<br>"
    "TP %{customdata[4]}  FP %{customdata[5]}  FN %{customdata[6]}"
)

# multiclass: TP are right automatic answers, FP wrong ones
_HOVER_MULTICLASS = (
    "threshold %{customdata[0]:.4g}<br>"
    "accuracy %{customdata[1]:.3f}<br>"
    "coverage %{customdata[7]:.1%}<br>"
    "right %{customdata[4]}  wrong %{customdata[5]} (automatic)"
)


def _ci(result: "OptimalConfidenceResult") -> tuple[float, float] | None:
    ci = result.threshold_ci
    if ci is None or not all(math.isfinite(x) for x in ci):
        return None
    return (float(ci[0]), float(ci[1]))


def plotly_figures(
    result: "OptimalConfidenceResult",
    *,
    classes: str | Sequence[str] | None = None,
    selected: float | None = None,
    band: "ReviewBand | None" = None,
    show_ci: bool = True,
    max_points: int | None = 1000,
    width: int = 520,
    height: int = 340,
) -> dict[str, dict[str, Any]]:
    """Plotly figures as plain dicts: JSON-serializable, for the App's panel
    (or ``plotly.graph_objects.Figure(**fig)``).

    Every point carries the exact counts in ``customdata`` (threshold,
    precision, recall, F1, TP, FP, FN, coverage) and its threshold in
    ``ids`` (see :func:`threshold_id`), so a click on any trace, including
    the PR curve whose ``x`` is the recall, tells which threshold it was.
    Hovering shows the threshold, precision, recall, F1 and TP/FP/FN (for a
    multiclass task: accuracy, coverage and the right and wrong automatic
    answers): on the threshold plot in one box for the curves, on the PR
    curve per point.

    The threshold figure's layout ``shapes`` each have a ``name``: in order,
    ``"threshold CI"`` (a light rectangle over the bootstrap interval of the
    threshold, all classes only), ``"review band"`` (a rectangle from
    ``band.t_low`` to ``band.t_high``), ``"best"`` (a vertical line at the
    marked threshold), ``"selected"`` and ``"target"`` (a horizontal line at
    the objective's precision, recall or accuracy target); each only when
    there is one.

    Args:
        result: an :class:`~optimal_confidence.api.OptimalConfidenceResult`
        classes (None): see :func:`curve_data`
        selected (None): a threshold to mark with a vertical line, for
            example the last one clicked
        band (None): a :class:`~optimal_confidence.review.ReviewBand` to
            shade
        show_ci (True): whether to shade the bootstrap interval of the
            threshold, when the result has one
        max_points (1000): the most points per curve; longer exact sweeps
            are thinned evenly (the ends and the marked point are always
            kept; the counts at every shown point stay exact). ``None``
            keeps every point
        width (520): the width of each figure, in pixels
        height (340): the height of each figure, in pixels

    Returns:
        ``{"threshold": fig, "pr": fig}``, each ``fig`` a dict with
        ``"data"`` (a list of trace dicts) and ``"layout"``. The threshold
        figure's traces are, in order, precision, recall, F1 (for an
        F-beta objective also F-beta), and the marked point; for a
        multiclass task accuracy, coverage and the marked point. The PR
        figure's are the curve (for a multiclass task: accuracy against
        coverage), the marked point and, for a per-class objective, the
        operating point of the per-class thresholds
    """
    c = curve_data(result, classes)
    names = c.names
    multiclass = c.task == "multiclass"
    idx = _display_indices(len(c.thresholds), [c.best], max_points)
    thinned = len(idx) < len(c.thresholds)

    t = [_num(x) for x in c.thresholds[idx]]
    p = [_num(x) for x in c.precision[idx]]
    r = [_num(x) for x in c.recall[idx]]
    f1 = [_num(x) for x in c.f1[idx]]
    cov = [_num(x) for x in c.coverage[idx]]
    ids = [threshold_id(x) for x in c.thresholds[idx]]
    custom = [
        [t[k], p[k], r[k], f1[k], int(c.tp[i]), int(c.fp[i]), int(c.fn[i]), cov[k]]
        for k, i in enumerate(idx)
    ]
    # with every distinct confidence the counts hold on (t[i-1], t[i]]
    shape = "vh" if c.exact and not thinned else "linear"

    def line(name, key, y, hover):
        return {
            "type": "scatter",
            "mode": "lines",
            "name": name,
            "x": t,
            "y": y,
            "ids": ids,
            "customdata": custom,
            "hovertemplate": hover + "<extra></extra>",
            "line": {"color": COLORS[key], "width": 2, "shape": shape},
        }

    b = c.point(c.best)
    best_text = f"{c.score_text}<br>at t = {b['threshold']:.4g}"
    best_custom = [
        [_num(b[k]) for k in ("threshold", "precision", "recall", "f1")]
        + [b["tp"], b["fp"], b["fn"], _num(b["coverage"])]
    ]
    hover = _HOVER_MULTICLASS if multiclass else _HOVER
    lo, hi = float(c.thresholds[0]), float(c.thresholds[-1])
    right_half = b["threshold"] > lo + 0.6 * (hi - lo)

    def marker(x, y, textposition):
        return {
            "type": "scatter",
            "mode": "markers+text",
            "name": c.best_label,
            "x": [_num(x)],
            "y": [_num(y)],
            "ids": [threshold_id(b["threshold"])],
            "customdata": best_custom,
            "text": [best_text],
            "textposition": textposition,
            "hovertemplate": hover + f"<extra>{c.best_label}</extra>",
            "marker": {
                "color": COLORS["best"],
                "size": 13,
                "symbol": "star",
                "line": {"color": "white", "width": 1},
            },
            "textfont": {"color": COLORS["best"], "size": 11},
            "cliponaxis": False,
        }

    shapes, annotations = [], []
    ci = _ci(result) if show_ci and classes is None else None
    if ci is not None:
        level = result.uncertainty.level
        shapes.append(_vrect(ci[0], ci[1], COLORS["best"], 0.1, "threshold CI"))
        annotations.append(
            _label_at(ci[1], f"{level:.0%} CI", COLORS["best"], y=0.02, xanchor="left")
        )
    if band is not None:
        shapes.append(_vrect(band.t_low, band.t_high, COLORS["band"], 0.25, "review band"))
        if band.review:
            annotations.append(
                _label_at((band.t_low + band.t_high) / 2, "review", "#8a8a00", y=0.98)
            )
    shapes.append(_vline(b["threshold"], COLORS["best"], "dash", "best"))
    if selected is not None:
        shapes.append(_vline(float(selected), COLORS["selected"], "dot", "selected"))
    pr_shapes = []
    if c.target is not None:
        color = COLORS[c.target_metric]
        what = names[c.target_metric].lower()
        shapes.append(_hline(c.target, color, "target"))
        # the label at the end where its curve is farther from the line
        curve = c.curve(c.target_metric)
        left = abs(curve[0] - c.target) > abs(curve[-1] - c.target)
        annotations.append(
            {
                "xref": "paper",
                "yref": "y",
                "x": 0 if left else 1,
                "y": c.target,
                "xanchor": "left" if left else "right",
                "yanchor": "bottom",
                "text": f"{what} target {c.target:g}",
                "showarrow": False,
                "font": {"color": color, "size": 10},
            }
        )
        # precision (accuracy) is the PR figure's y, recall its x
        pr_shapes.append(
            _vline(c.target, color, "dash", "target")
            if c.target_metric == "recall" and not multiclass
            else _hline(c.target, color, "target")
        )

    margin = {"t": 40, "l": 55, "r": 15, "b": 80, "pad": 0}
    legend = {"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"}
    if multiclass:
        curves = [
            line(names["precision"], "precision", p, "accuracy %{y:.3f}"),
            line(
                names["coverage"],
                "coverage",
                cov,
                "coverage %{y:.1%}<br>right %{customdata[4]}  wrong "
                "%{customdata[5]} (automatic)",
            ),
        ]
        title = f"Accuracy, coverage ({c.title})"
    else:
        # one hover box for the curves ("x unified"), headed by the
        # threshold: each line adds its metric, F1 the counts
        curves = [
            line(names["precision"], "precision", p, "precision %{y:.3f}"),
            line(names["recall"], "recall", r, "recall %{y:.3f}"),
            line(
                names["f1"],
                "f1",
                f1,
                "F1 %{y:.3f}<br>TP %{customdata[4]}  FP %{customdata[5]}  "
                "FN %{customdata[6]}",
            ),
        ]
        if c.fbeta is not None:
            fb = [_num(x) for x in c.fbeta[idx]]
            curves.append(line(c.fbeta_name, "fbeta", fb, f"{c.fbeta_name} %{{y:.3f}}"))
        title = f"Precision, recall, F1 ({c.title})"
    thr_fig = {
        "data": curves
        + [
            marker(
                b["threshold"],
                b[c.mark_on],
                "top left" if right_half else "top right",
            )
        ],
        "layout": {
            "title": {"text": title, "x": 0.02, "font": {"size": 14}},
            "xaxis": {
                "title": {"text": "confidence threshold"},
                "hoverformat": ".4~g",
            },
            "yaxis": {"title": {"text": "score"}, "range": [0, 1.08]},
            "width": width,
            "height": height,
            "margin": margin,
            "showlegend": True,
            "legend": legend,
            "hovermode": "x unified",
            "shapes": shapes,
            "annotations": annotations,
        },
    }

    x_key = "coverage" if multiclass else "recall"
    pr_x = cov if multiclass else r
    pr_name = "Accuracy-coverage" if multiclass else "PR curve"
    pr_data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": pr_name,
            "x": pr_x,
            "y": p,
            "ids": ids,
            "customdata": custom,
            "hovertemplate": hover + f"<extra>{pr_name}</extra>",
            "line": {"color": COLORS["pr"], "width": 2},
        },
        marker(b[x_key], b["precision"], "bottom left"),
    ]
    pr_data[-1]["text"] = [f"t = {b['threshold']:.4g}"]
    if classes is None and result.objective.per_class:
        op = operating_point(result)
        pr_data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "per-class thresholds",
                "x": [_num(op[x_key])],
                "y": [_num(op["precision"])],
                "ids": [OPERATING_POINT_ID],
                "hovertemplate": (
                    "each class at its own threshold<br>"
                    f"precision {op['precision']:.3f}<br>recall "
                    f"{op['recall']:.3f}<br>F1 {op['f1']:.3f}<br>TP {op['tp']}  "
                    f"FP {op['fp']}  FN {op['fn']}<extra>per-class thresholds</extra>"
                ),
                "marker": {
                    "color": COLORS["operating"],
                    "size": 12,
                    "symbol": "diamond",
                    "line": {"color": "white", "width": 1},
                },
                "cliponaxis": False,
            }
        )
    pr_fig = {
        "data": pr_data,
        "layout": {
            "title": {
                "text": (
                    f"Accuracy against coverage ({c.title})"
                    if multiclass
                    else f"Precision-recall ({c.title})"
                ),
                "x": 0.02,
                "font": {"size": 14},
            },
            "xaxis": {
                "title": {
                    "text": "coverage (answered automatically)" if multiclass else "recall"
                },
                "range": [0, 1.02],
            },
            "yaxis": {
                "title": {"text": "accuracy" if multiclass else "precision"},
                "range": [0, 1.08],
            },
            "width": width,
            "height": height,
            "margin": margin,
            "showlegend": False,
            "hovermode": "closest",
            "shapes": pr_shapes,
        },
    }
    return {"threshold": thr_fig, "pr": pr_fig}


def operating_point(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """Precision, recall, F1, coverage and counts where each class is kept
    at its own threshold (:meth:`~OptimalConfidenceResult.operating_counts`).
    """
    counts = result.operating_counts()
    p, r, f1 = (float(x[0]) for x in precision_recall_f1(counts))
    tp, fp, fn = (int(x[0]) for x in counts)
    n = result.records.num_preds
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "coverage": (tp + fp) / n if n else 0.0,
    }


def _vline(x: float, color: str, dash: str, name: str) -> dict[str, Any]:
    return {
        "type": "line",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": _num(x),
        "x1": _num(x),
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "width": 1, "dash": dash},
    }


def _hline(y: float, color: str, name: str) -> dict[str, Any]:
    return {
        "type": "line",
        "name": name,
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": _num(y),
        "y1": _num(y),
        "line": {"color": color, "width": 1, "dash": "dashdot"},
    }


def _vrect(x0: float, x1: float, color: str, opacity: float, name: str) -> dict[str, Any]:
    return {
        "type": "rect",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": _num(x0),
        "x1": _num(x1),
        "y0": 0,
        "y1": 1,
        "fillcolor": color,
        "opacity": opacity,
        "layer": "below",
        "line": {"width": 0},
    }


def _label_at(x: float, text: str, color: str, *, y: float, xanchor: str = "center") -> dict[str, Any]:
    return {
        "xref": "x",
        "yref": "paper",
        "x": _num(x),
        "y": y,
        "xanchor": xanchor,
        "yanchor": "top" if y > 0.5 else "bottom",
        "text": text,
        "showarrow": False,
        "font": {"color": color, "size": 10},
    }


def plot_curves(
    result: "OptimalConfidenceResult",
    ax: "Axes | Sequence[Axes] | None" = None,
    classes: str | Sequence[str] | None = None,
    *,
    band: "ReviewBand | None" = None,
    show_ci: bool = True,
    figsize: tuple[float, float] = (11.0, 4.2),
    title: str | None = None,
) -> "Figure":
    """Draws precision, recall and F1 against the confidence threshold with
    the threshold the objective chose marked, and the precision-recall
    curve, with matplotlib. For a multiclass ``Classification`` task:
    accuracy and coverage against the threshold, and accuracy against
    coverage.

    Example::

        fig = optimal_confidence.plot_curves(result, band=result.review_band(0.95))
        fig.savefig("curves.png", dpi=120)

    Args:
        result: an :class:`~optimal_confidence.api.OptimalConfidenceResult`
        ax (None): ``None`` draws both plots side by side in a new figure;
            one ``matplotlib.axes.Axes`` draws only the threshold plot
            there; a pair of axes draws the threshold plot and the PR curve
            into them
        classes (None): ``None`` for all classes pooled, a class name, or a
            list of class names to pool (see :func:`curve_data`)
        band (None): a :class:`~optimal_confidence.review.ReviewBand` to
            shade on the threshold plot (label ``"review band"``)
        show_ci (True): whether to shade the bootstrap interval of the
            threshold (all classes only), when the result has one
        figsize ((11.0, 4.2)): the size of a new figure, in inches
        title (None): a title for the figure; by default, in a new figure,
            the fields compared

    Returns:
        the ``matplotlib.figure.Figure`` drawn into
    """
    c = curve_data(result, classes)
    names = c.names
    multiclass = c.task == "multiclass"

    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout="constrained")
        ax_t, ax_pr = fig.subplots(1, 2)
    elif isinstance(ax, (list, tuple, np.ndarray)):
        axes = list(np.ravel(ax))
        if len(axes) != 2:
            raise ValueError(
                f"ax must be one Axes or a pair of Axes; got {len(axes)} axes"
            )
        ax_t, ax_pr = axes
        fig = ax_t.figure
    else:
        ax_t, ax_pr = ax, None
        fig = ax_t.figure

    b = c.point(c.best)
    drawstyle = "steps-pre" if c.exact else "default"
    keys = ["precision", "coverage"] if multiclass else ["precision", "recall", "f1"]
    if c.fbeta is not None and not multiclass:
        keys.append("fbeta")
    for key in keys:
        label = c.fbeta_name if key == "fbeta" else names[key]
        # matplotlib labels stay lower case, as before ("F1" keeps its case)
        label = label if key in ("f1", "fbeta") else label.lower()
        ax_t.plot(
            c.thresholds, c.curve(key), color=COLORS[key], label=label,
            drawstyle=drawstyle,
        )
    ax_t.axvline(b["threshold"], color=COLORS["best"], linestyle="--", linewidth=1)
    ax_t.plot(
        [b["threshold"]], [b[c.mark_on]], marker="*", markersize=14, linestyle="none",
        color=COLORS["best"], label=c.best_label,
    )
    ax_t.annotate(
        f"{c.best_label}\n{c.score_text}\nt={b['threshold']:.4g}  "
        f"{names['precision'][0]}={b['precision']:.3f}  "
        + (f"cov={b['coverage']:.3f}" if multiclass else f"R={b['recall']:.3f}"),
        xy=(b["threshold"], b[c.mark_on]),
        xytext=(8, 10),
        textcoords="offset points",
        fontsize=8,
        color=COLORS["best"],
    )
    if c.target is not None:
        ax_t.axhline(
            c.target, color=COLORS[c.target_metric], linestyle="-.", linewidth=1,
            label=f"{names[c.target_metric].lower()} target {c.target:g}",
        )
    if band is not None:
        ax_t.axvspan(band.t_low, band.t_high, color=COLORS["band"], alpha=0.25, label="review band", linewidth=0)
    ci = _ci(result) if show_ci and classes is None else None
    if ci is not None:
        ax_t.axvspan(
            ci[0], ci[1], color=COLORS["best"], alpha=0.1, linewidth=0,
            label=f"{result.uncertainty.level:.0%} interval of the threshold",
        )
    ax_t.set_xlabel("confidence threshold")
    ax_t.set_ylabel("score")
    ax_t.set_ylim(0, 1.05)
    ax_t.set_title(
        f"{'Accuracy, coverage' if multiclass else 'Precision, recall, F1'} ({c.title})",
        fontsize=10,
    )
    ax_t.legend(loc="lower left", fontsize=8)
    ax_t.grid(alpha=0.3)

    if ax_pr is not None:
        x_key = "coverage" if multiclass else "recall"
        ax_pr.plot(
            c.curve(x_key), c.precision, color=COLORS["pr"],
            label="accuracy-coverage" if multiclass else "PR curve",
        )
        ax_pr.plot(
            [b[x_key]], [b["precision"]], marker="*", markersize=14,
            linestyle="none", color=COLORS["best"], label=c.best_label,
        )
        ax_pr.annotate(
            f"t={b['threshold']:.4g}",
            xy=(b[x_key], b["precision"]),
            xytext=(8, 8),
            textcoords="offset points",
            fontsize=8,
            color=COLORS["best"],
        )
        if classes is None and result.objective.per_class:
            op = operating_point(result)
            ax_pr.plot(
                [op[x_key]], [op["precision"]], marker="D", markersize=8,
                linestyle="none", color=COLORS["operating"],
                label="per-class thresholds",
            )
        ax_pr.set_xlabel("coverage (answered automatically)" if multiclass else "recall")
        ax_pr.set_ylabel("accuracy" if multiclass else "precision")
        ax_pr.set_xlim(0, 1.02)
        ax_pr.set_ylim(0, 1.05)
        ax_pr.set_title(
            f"{'Accuracy against coverage' if multiclass else 'Precision-recall'} ({c.title})",
            fontsize=10,
        )
        ax_pr.legend(loc="lower left", fontsize=8)
        ax_pr.grid(alpha=0.3)

    if title is None and ax is None:
        cfg = result.config
        title = (
            f"'{cfg.pred_field}' vs '{cfg.gt_field}'"
            + (f" (IoU {cfg.iou:g})" if cfg.task == "detection" else "")
        )
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
