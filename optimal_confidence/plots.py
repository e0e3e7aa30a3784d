"""Figures of a result: plotly trace dicts for the App's panel, and a
matplotlib figure for notebooks and reports.

Both draw the same two plots:

-   precision, recall and F1 against the confidence threshold, with the
    chosen threshold marked and labelled;
-   the precision-recall curve, with the same point marked.

:func:`curve_data` picks the curves (all classes pooled, or some classes)
and the point to mark; :func:`plotly_figures` and :func:`plot_curves` only
draw it. Nothing here reads the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .sweep import Counts, best_index, precision_recall_f1

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .api import OptimalConfidenceResult

__all__ = [
    "CurveData",
    "curve_data",
    "plot_curves",
    "plotly_figures",
    "threshold_id",
]

#: line colours, shared by both renderers
COLORS = {
    "precision": "#1f77b4",
    "recall": "#2ca02c",
    "f1": "#ff7f0e",
    "pr": "#9467bd",
    "best": "#d62728",
    "selected": "#7f7f7f",
}


@dataclass(frozen=True, eq=False)
class CurveData:
    """The curves one figure shows.

    All arrays have shape ``(num_thresholds,)`` and are aligned with
    ``thresholds`` (strictly ascending); entry ``i`` describes the
    predictions with ``confidence >= thresholds[i]``.

    Attributes:
        title: what the curves pool: ``"all classes"`` or the class names
        thresholds: ``float64`` thresholds
        precision: ``float64`` precision
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

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best])

    def point(self, i: int) -> dict[str, Any]:
        """Entry ``i`` as plain Python numbers."""
        return {
            "threshold": float(self.thresholds[i]),
            "precision": float(self.precision[i]),
            "recall": float(self.recall[i]),
            "f1": float(self.f1[i]),
            "tp": int(self.tp[i]),
            "fp": int(self.fp[i]),
            "fn": int(self.fn[i]),
        }


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


def curve_data(
    result: "OptimalConfidenceResult",
    classes: str | Sequence[str] | None = None,
) -> CurveData:
    """The curves of all classes pooled, or of some classes, and the point
    to mark on them.

    The marked point is the threshold the result chose for what is shown:
    for all classes, :attr:`~OptimalConfidenceResult.best_threshold` (by
    the result's objective); for classes that all deploy at one threshold
    (:attr:`~OptimalConfidenceResult.class_thresholds`), that threshold;
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
    thresholds = np.asarray(result.thresholds, dtype=np.float64)

    if names is None:
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
            best_label=f"best {result.objective.label}",
            exact=exact,
        )

    per_class = result.class_counts()
    counts = Counts(
        tp=sum((per_class[c].tp for c in names), np.zeros_like(result.tp)),
        fp=sum((per_class[c].fp for c in names), np.zeros_like(result.fp)),
        fn=sum((per_class[c].fn for c in names), np.zeros_like(result.fn)),
    )
    precision, recall, f1 = precision_recall_f1(counts)

    deployed = {result.class_thresholds[c] for c in names}
    best, label = None, ""
    if len(deployed) == 1:
        t = deployed.pop()
        i = int(np.searchsorted(thresholds, t))
        if i < len(thresholds) and thresholds[i] == t:
            best = i
            label = (
                f"{names[0]}'s threshold"
                if result.objective.per_class and len(names) == 1
                else "chosen threshold"
            )
    if best is None:
        best, label = best_index(f1), "best F1 of these classes"

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
        exact=exact,
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


_HOVER = (
    "threshold %{customdata[0]:.4g}<br>"
    "precision %{customdata[1]:.3f}<br>"
    "recall %{customdata[2]:.3f}<br>"
    "F1 %{customdata[3]:.3f}<br>"
    "TP %{customdata[4]}  FP %{customdata[5]}  FN %{customdata[6]}"
)


def plotly_figures(
    result: "OptimalConfidenceResult",
    *,
    classes: str | Sequence[str] | None = None,
    selected: float | None = None,
    max_points: int | None = 1000,
    width: int = 520,
    height: int = 340,
) -> dict[str, dict[str, Any]]:
    """Plotly figures as plain dicts: JSON-serializable, for the App's panel
    (or ``plotly.graph_objects.Figure(**fig)``).

    Every point carries the exact counts in ``customdata`` (threshold,
    precision, recall, F1, TP, FP, FN) and its threshold in ``ids`` (see
    :func:`threshold_id`), so a click on any trace, including the PR curve
    whose ``x`` is the recall, tells which threshold it was. Hovering shows
    the threshold, precision, recall, F1 and TP/FP/FN: on the threshold plot
    in one box for the three curves, on the PR curve per point.

    Args:
        result: an :class:`~optimal_confidence.api.OptimalConfidenceResult`
        classes (None): see :func:`curve_data`
        selected (None): a threshold to mark with a vertical line, for
            example the last one clicked
        max_points (1000): the most points per curve; longer exact sweeps
            are thinned evenly (the ends and the marked point are always
            kept; the counts at every shown point stay exact). ``None``
            keeps every point
        width (520): the width of each figure, in pixels
        height (340): the height of each figure, in pixels

    Returns:
        ``{"threshold": fig, "pr": fig}``, each ``fig`` a dict with
        ``"data"`` (a list of trace dicts) and ``"layout"``. The threshold
        figure's traces are, in order, precision, recall, F1 and the marked
        point; the PR figure's are the curve and the marked point
    """
    c = curve_data(result, classes)
    idx = _display_indices(len(c.thresholds), [c.best], max_points)
    thinned = len(idx) < len(c.thresholds)

    t = [_num(x) for x in c.thresholds[idx]]
    p = [_num(x) for x in c.precision[idx]]
    r = [_num(x) for x in c.recall[idx]]
    f1 = [_num(x) for x in c.f1[idx]]
    ids = [threshold_id(x) for x in c.thresholds[idx]]
    custom = [
        [t[k], p[k], r[k], f1[k], int(c.tp[i]), int(c.fp[i]), int(c.fn[i])]
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
    best_text = f"{c.best_label}: {b['threshold']:.4g}"
    best_custom = [[_num(b[k]) for k in ("threshold", "precision", "recall", "f1")] + [b["tp"], b["fp"], b["fn"]]]

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
            "hovertemplate": _HOVER + f"<extra>{c.best_label}</extra>",
            "marker": {
                "color": COLORS["best"],
                "size": 13,
                "symbol": "star",
                "line": {"color": "white", "width": 1},
            },
            "textfont": {"color": COLORS["best"]},
            "cliponaxis": False,
        }

    shapes = [_vline(b["threshold"], COLORS["best"], "dash")]
    if selected is not None:
        shapes.append(_vline(float(selected), COLORS["selected"], "dot"))

    margin = {"t": 40, "l": 55, "r": 15, "b": 45, "pad": 0}
    legend = {"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"}
    thr_fig = {
        "data": [
            # one hover box for the three curves ("x unified"), headed by the
            # threshold: each line adds its metric, F1 the counts
            line("Precision", "precision", p, "precision %{y:.3f}"),
            line("Recall", "recall", r, "recall %{y:.3f}"),
            line(
                "F1",
                "f1",
                f1,
                "F1 %{y:.3f}<br>TP %{customdata[4]}  FP %{customdata[5]}  "
                "FN %{customdata[6]}",
            ),
            marker(b["threshold"], b["f1"], "top center"),
        ],
        "layout": {
            "title": {"text": f"Precision, recall, F1 ({c.title})", "x": 0.02, "font": {"size": 14}},
            "xaxis": {
                "title": {"text": "confidence threshold"},
                "hoverformat": ".4~g",
            },
            "yaxis": {"title": {"text": "score"}, "range": [0, 1.08]},
            "width": width,
            "height": height,
            "margin": {**margin, "b": 80},
            "showlegend": True,
            "legend": legend,
            "hovermode": "x unified",
            "shapes": shapes,
        },
    }
    pr_fig = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "PR curve",
                "x": r,
                "y": p,
                "ids": ids,
                "customdata": custom,
                "hovertemplate": _HOVER + "<extra>PR curve</extra>",
                "line": {"color": COLORS["pr"], "width": 2},
            },
            marker(b["recall"], b["precision"], "bottom left"),
        ],
        "layout": {
            "title": {"text": f"Precision-recall ({c.title})", "x": 0.02, "font": {"size": 14}},
            "xaxis": {"title": {"text": "recall"}, "range": [0, 1.02]},
            "yaxis": {"title": {"text": "precision"}, "range": [0, 1.08]},
            "width": width,
            "height": height,
            "margin": {**margin, "b": 80},
            "showlegend": False,
            "hovermode": "closest",
        },
    }
    return {"threshold": thr_fig, "pr": pr_fig}


def _vline(x: float, color: str, dash: str) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": _num(x),
        "x1": _num(x),
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "width": 1, "dash": dash},
    }


def plot_curves(
    result: "OptimalConfidenceResult",
    ax: "Axes | Sequence[Axes] | None" = None,
    classes: str | Sequence[str] | None = None,
    *,
    figsize: tuple[float, float] = (11.0, 4.2),
    title: str | None = None,
) -> "Figure":
    """Draws precision, recall and F1 against the confidence threshold with
    the chosen threshold marked, and the precision-recall curve, with
    matplotlib.

    Example::

        fig = optimal_confidence.plot_curves(result)
        fig.savefig("curves.png", dpi=120)

    Args:
        result: an :class:`~optimal_confidence.api.OptimalConfidenceResult`
        ax (None): ``None`` draws both plots side by side in a new figure;
            one ``matplotlib.axes.Axes`` draws only the threshold plot
            there; a pair of axes draws the threshold plot and the PR curve
            into them
        classes (None): ``None`` for all classes pooled, a class name, or a
            list of class names to pool (see :func:`curve_data`)
        figsize ((11.0, 4.2)): the size of a new figure, in inches
        title (None): a title for the figure; by default, in a new figure,
            the fields compared

    Returns:
        the ``matplotlib.figure.Figure`` drawn into
    """
    c = curve_data(result, classes)

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
    ax_t.plot(c.thresholds, c.precision, color=COLORS["precision"], label="precision", drawstyle=drawstyle)
    ax_t.plot(c.thresholds, c.recall, color=COLORS["recall"], label="recall", drawstyle=drawstyle)
    ax_t.plot(c.thresholds, c.f1, color=COLORS["f1"], label="F1", drawstyle=drawstyle)
    ax_t.axvline(b["threshold"], color=COLORS["best"], linestyle="--", linewidth=1)
    ax_t.plot(
        [b["threshold"]], [b["f1"]], marker="*", markersize=14, linestyle="none",
        color=COLORS["best"], label=c.best_label,
    )
    ax_t.annotate(
        f"{c.best_label}\nt={b['threshold']:.4g}  F1={b['f1']:.3f}\n"
        f"P={b['precision']:.3f}  R={b['recall']:.3f}",
        xy=(b["threshold"], b["f1"]),
        xytext=(8, 10),
        textcoords="offset points",
        fontsize=8,
        color=COLORS["best"],
    )
    ax_t.set_xlabel("confidence threshold")
    ax_t.set_ylabel("score")
    ax_t.set_ylim(0, 1.05)
    ax_t.set_title(f"Precision, recall, F1 ({c.title})", fontsize=10)
    ax_t.legend(loc="lower left", fontsize=8)
    ax_t.grid(alpha=0.3)

    if ax_pr is not None:
        ax_pr.plot(c.recall, c.precision, color=COLORS["pr"], label="PR curve")
        ax_pr.plot(
            [b["recall"]], [b["precision"]], marker="*", markersize=14,
            linestyle="none", color=COLORS["best"], label=c.best_label,
        )
        ax_pr.annotate(
            f"t={b['threshold']:.4g}",
            xy=(b["recall"], b["precision"]),
            xytext=(8, 8),
            textcoords="offset points",
            fontsize=8,
            color=COLORS["best"],
        )
        ax_pr.set_xlabel("recall")
        ax_pr.set_ylabel("precision")
        ax_pr.set_xlim(0, 1.02)
        ax_pr.set_ylim(0, 1.05)
        ax_pr.set_title(f"Precision-recall ({c.title})", fontsize=10)
        ax_pr.legend(loc="lower left", fontsize=8)
        ax_pr.grid(alpha=0.3)

    if title is None and ax is None:
        cfg = result.config
        title = f"'{cfg.pred_field}' vs '{cfg.gt_field}' (IoU {cfg.iou:g})"
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
