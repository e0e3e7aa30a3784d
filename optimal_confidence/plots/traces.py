"""Plotly figures of a result as plain dicts, for the App's panel.

Both figures are drawn from :func:`~optimal_confidence.plots.data.marks`:
the same curves, titles, chosen point, target, interval and band as the
matplotlib figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .data import COLORS, OPERATING_POINT_ID, Marks, marks, num, threshold_id

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult
    from ..curves.review import ReviewBand

__all__ = ["comparison_figures", "plotly_figures"]

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

# what each curve adds to the threshold plot's unified hover box (headed by
# the threshold): each line its metric, F1 the counts
_LINE_HOVER = {
    "precision": "precision %{y:.3f}",
    "recall": "recall %{y:.3f}",
    "f1": "F1 %{y:.3f}<br>TP %{customdata[4]}  FP %{customdata[5]}  FN %{customdata[6]}",
    "coverage": (
        "coverage %{y:.1%}<br>right %{customdata[4]}  wrong "
        "%{customdata[5]} (automatic)"
    ),
}

_MARGIN = {"t": 40, "l": 55, "r": 15, "b": 80, "pad": 0}
_LEGEND = {"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"}


def _display_indices(n: int, keep: Sequence[int], max_points: int | None) -> np.ndarray:
    """At most about ``max_points`` evenly spread indices into ``n`` points,
    always with the ends and ``keep``."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    idx = np.round(np.linspace(0, n - 1, max(int(max_points), 2))).astype(np.int64)
    return np.unique(np.concatenate([idx, np.asarray(keep, dtype=np.int64)]))


@dataclass(frozen=True)
class _Points:
    """The points shown of the curves: their indices, thresholds, ids and
    customdata (threshold, P, R, F1, TP, FP, FN, coverage)."""

    idx: np.ndarray
    t: list[float | None]
    ids: list[str]
    custom: list[list[Any]]
    shape: str


def _points(m: Marks, max_points: int | None) -> _Points:
    c = m.curves
    idx = _display_indices(len(c.thresholds), [c.best], max_points)
    t = [num(x) for x in c.thresholds[idx]]
    p, r, f1, cov = ([num(x) for x in c.curve(k)[idx]] for k in ("precision", "recall", "f1", "coverage"))
    custom = [
        [t[k], p[k], r[k], f1[k], int(c.tp[i]), int(c.fp[i]), int(c.fn[i]), cov[k]]
        for k, i in enumerate(idx)
    ]
    # with every distinct confidence the counts hold on (t[i-1], t[i]]
    shape = "vh" if c.exact and len(idx) == len(c.thresholds) else "linear"
    return _Points(idx, t, [threshold_id(x) for x in c.thresholds[idx]], custom, shape)


def _line(pts: _Points, name: str, key: str, y: list[float | None], hover: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": pts.t,
        "y": y,
        "ids": pts.ids,
        "customdata": pts.custom,
        "hovertemplate": hover + "<extra></extra>",
        "line": {"color": COLORS[key], "width": 2, "shape": pts.shape},
    }


def _line_hover(m: Marks, key: str) -> str:
    if m.multiclass and key == "precision":
        return "accuracy %{y:.3f}"
    return _LINE_HOVER.get(key, f"{m.labels[key]} %{{y:.3f}}")


def _hover(m: Marks) -> str:
    return _HOVER_MULTICLASS if m.multiclass else _HOVER


def _marker(m: Marks, x: float, y: float, textposition: str) -> dict[str, Any]:
    """The starred point the objective chose."""
    b, c = m.best, m.curves
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": c.best_label,
        "x": [num(x)],
        "y": [num(y)],
        "ids": [threshold_id(b["threshold"])],
        "customdata": [
            [num(b[k]) for k in ("threshold", "precision", "recall", "f1")]
            + [b["tp"], b["fp"], b["fn"], num(b["coverage"])]
        ],
        "text": [f"{c.score_text}<br>at t = {b['threshold']:.4g}"],
        "textposition": textposition,
        "hovertemplate": _hover(m) + f"<extra>{c.best_label}</extra>",
        "marker": {
            "color": COLORS["best"],
            "size": 13,
            "symbol": "star",
            "line": {"color": "white", "width": 1},
        },
        "textfont": {"color": COLORS["best"], "size": 11},
        "cliponaxis": False,
    }


def _selected_name(m: Marks) -> str:
    return f"selected t = {m.selected['threshold']:.4g}"


def _selected_legend(m: Marks) -> list[dict[str, Any]]:
    """The selected threshold's dotted line (the shape ``selected``) in
    the legend: a trace of no points, drawn only there."""
    if m.selected is None:
        return []
    return [{
        "type": "scatter", "mode": "lines", "name": _selected_name(m),
        "x": [None], "y": [None], "hoverinfo": "skip",
        "line": {"color": COLORS["selected"], "width": 2, "dash": "dot"},
    }]


def _selected_marker(m: Marks, textposition: str) -> list[dict[str, Any]]:
    """The selected threshold's point on the PR figure (hollow, grey)."""
    s = m.selected
    if s is None:
        return []
    return [{
        "type": "scatter", "mode": "markers+text", "name": _selected_name(m),
        "x": [num(s[m.pr_x])], "y": [num(s["precision"])],
        "ids": [threshold_id(s["threshold"])],
        "customdata": [
            [num(s[k]) for k in ("threshold", "precision", "recall", "f1")]
            + [s["tp"], s["fp"], s["fn"], num(s["coverage"])]
        ],
        "text": [f"selected t = {s['threshold']:.4g}"], "textposition": textposition,
        "hovertemplate": _hover(m) + f"<extra>{_selected_name(m)}</extra>",
        "marker": {
            "color": COLORS["selected"], "size": 11, "symbol": "circle",
            "line": {"color": "white", "width": 1},
        },
        "textfont": {"color": COLORS["selected"], "size": 11},
        "cliponaxis": False,
    }]


def _vline(x: float, color: str, dash: str, name: str) -> dict[str, Any]:
    return {
        "type": "line", "name": name, "xref": "x", "yref": "paper",
        "x0": num(x), "x1": num(x), "y0": 0, "y1": 1,
        "line": {"color": color, "width": 1, "dash": dash},
    }


def _hline(y: float, color: str, name: str) -> dict[str, Any]:
    return {
        "type": "line", "name": name, "xref": "paper", "yref": "y",
        "x0": 0, "x1": 1, "y0": num(y), "y1": num(y),
        "line": {"color": color, "width": 1, "dash": "dashdot"},
    }


def _vrect(x0: float, x1: float, color: str, opacity: float, name: str) -> dict[str, Any]:
    return {
        "type": "rect", "name": name, "xref": "x", "yref": "paper",
        "x0": num(x0), "x1": num(x1), "y0": 0, "y1": 1,
        "fillcolor": color, "opacity": opacity, "layer": "below",
        "line": {"width": 0},
    }


def _label_at(x: float, text: str, color: str, *, y: float, xanchor: str = "center") -> dict[str, Any]:
    return {
        "xref": "x", "yref": "paper", "x": num(x), "y": y, "xanchor": xanchor,
        "yanchor": "top" if y > 0.5 else "bottom", "text": text,
        "showarrow": False, "font": {"color": color, "size": 10},
    }


def _target_label(m: Marks) -> dict[str, Any]:
    """The target line's label, at the end where its curve is farther from
    the line."""
    c = m.curves
    curve = c.curve(c.target_metric)
    left = abs(curve[0] - c.target) > abs(curve[-1] - c.target)
    return {
        "xref": "paper", "yref": "y", "x": 0 if left else 1, "y": c.target,
        "xanchor": "left" if left else "right", "yanchor": "bottom",
        "text": m.target_text, "showarrow": False,
        "font": {"color": COLORS[c.target_metric], "size": 10},
    }


def _decorations(m: Marks, selected: float | None) -> tuple[list[dict], list[dict]]:
    """The threshold figure's shapes (named, in order: ``threshold CI``,
    ``review band``, ``best``, ``selected``, ``target``) and annotations."""
    shapes, annotations = [], []
    if m.ci is not None:
        lo, hi, level = m.ci
        shapes.append(_vrect(lo, hi, COLORS["best"], 0.1, "threshold CI"))
        annotations.append(_label_at(hi, f"{level:.0%} CI", COLORS["best"], y=0.02, xanchor="left"))
    band = m.band
    if band is not None:
        shapes.append(_vrect(band.t_low, band.t_high, COLORS["band"], 0.25, "review band"))
        if band.review:
            annotations.append(
                _label_at((band.t_low + band.t_high) / 2, "review", "#8a8a00", y=0.98)
            )
    shapes.append(_vline(m.best["threshold"], COLORS["best"], "dash", "best"))
    if selected is not None:
        shapes.append(_vline(float(selected), COLORS["selected"], "dot", "selected"))
    c = m.curves
    if c.target is not None:
        shapes.append(_hline(c.target, COLORS[c.target_metric], "target"))
        annotations.append(_target_label(m))
    return shapes, annotations


def _best_label(m: Marks) -> dict[str, Any]:
    """The chosen point's label at ``m.label_at``, with a line to the point."""
    c, b = m.curves, m.best
    x, y = m.label_at
    return {
        "name": "best label",
        "x": num(b["threshold"]), "y": num(b[c.mark_on]), "xref": "x", "yref": "y",
        "ax": num(x), "ay": num(y), "axref": "x", "ayref": "y",
        "text": f"{c.score_text}<br>at t = {b['threshold']:.4g}",
        "showarrow": True, "arrowhead": 0, "arrowwidth": 1, "arrowcolor": COLORS["best"],
        "font": {"color": COLORS["best"], "size": 11},
    }


def _threshold_range(c: Any) -> list[float]:
    """The thresholds swept, with a little room at both ends."""
    lo, hi = float(c.thresholds[0]), float(c.thresholds[-1])
    pad = 0.03 * (hi - lo) if hi > lo else 0.05 * max(abs(lo), 1.0)
    return [lo - pad, hi + pad]


def _fit(values: Any, extra: list[float], top: float) -> list[float]:
    """An axis range from 0 (or just below the smallest value) to just
    above the largest value, at most ``top``."""
    v = np.asarray(values, dtype=np.float64)
    v = np.concatenate([v[np.isfinite(v)], np.asarray(extra, dtype=np.float64)])
    if v.size == 0:
        return [0.0, top]
    low = float(v.min())
    start = 0.0 if low < 0.4 else np.floor((low - 0.05) * 10) / 10
    return [float(start), float(min(top, max(v.max() * 1.05 + 0.02, start + 0.1)))]


def _threshold_figure(m: Marks, pts: _Points, selected: float | None, size: dict[str, Any]) -> dict[str, Any]:
    c, b = m.curves, m.best
    curves = [
        _line(pts, m.labels[k], k, [num(x) for x in c.curve(k)[pts.idx]], _line_hover(m, k))
        for k in m.keys
    ]
    # the label in a free spot, with a line to the star: curves meet there
    star = {**_marker(m, b["threshold"], b[c.mark_on], "top right"), "mode": "markers"}
    shapes, annotations = _decorations(m, selected)
    annotations.append(_best_label(m))
    return {
        "data": curves + _selected_legend(m) + [star] + _estimate_trace(m, "threshold", c.mark_on),
        "layout": {
            "title": {"text": m.title, "x": 0.02, "font": {"size": 14}},
            "xaxis": {
                "title": {"text": "confidence threshold"},
                "hoverformat": ".4~g",
                "range": _threshold_range(c),
            },
            "yaxis": {"title": {"text": "score"}, "range": [0, 1.08]},
            **size,
            "margin": _MARGIN,
            "showlegend": True,
            "legend": _LEGEND,
            "hovermode": "x unified",
            "shapes": shapes,
            "annotations": annotations,
        },
    }


def _estimate_trace(m: Marks, x: str, y: str) -> list[dict[str, Any]]:
    """With a guarantee: the point estimate (the best threshold on these
    images, with no guarantee), a hollow marker beside the certified star."""
    p = m.point_estimate
    if p is None:
        return []
    return [{
        "type": "scatter", "mode": "markers", "name": "point estimate (no guarantee)",
        "x": [num(p[x])], "y": [num(p[y])],
        "hovertemplate": (
            f"point estimate, no guarantee<br>t = {p['threshold']:.4g}<br>"
            f"precision {p['precision']:.3f}, recall {p['recall']:.3f}<extra></extra>"
        ),
        "marker": {"symbol": "circle-open", "size": 12, "color": COLORS["best"], "line": {"width": 2}},
    }]


def _operating_trace(m: Marks) -> dict[str, Any]:
    op = m.operating
    assert op is not None
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "per-class thresholds",
        "x": [num(op[m.pr_x])],
        "y": [num(op["precision"])],
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


def _x_marks(m: Marks) -> list[float]:
    """What the PR figure's x axis must show besides the curve: the
    per-class point, a recall target."""
    out = [m.operating[m.pr_x]] if m.operating is not None else []
    c = m.curves
    if c.target is not None and c.target_metric == "recall" and not m.multiclass:
        out.append(c.target)
    return out


def _y_marks(m: Marks) -> list[float]:
    out = [m.operating["precision"]] if m.operating is not None else []
    c = m.curves
    if c.target is not None and (c.target_metric == "precision" or m.multiclass):
        out.append(c.target)
    return out


def _pr_figure(m: Marks, pts: _Points, size: dict[str, Any]) -> dict[str, Any]:
    c, b = m.curves, m.best
    curve = {
        "type": "scatter",
        "mode": "lines",
        "name": m.pr_name,
        "x": [num(x) for x in c.curve(m.pr_x)[pts.idx]],
        "y": [num(x) for x in c.precision[pts.idx]],
        "ids": pts.ids,
        "customdata": pts.custom,
        "hovertemplate": _hover(m) + f"<extra>{m.pr_name}</extra>",
        "line": {"color": COLORS["pr"], "width": 2},
    }
    side = "bottom left" if b[m.pr_x] > 0.5 * max(float(np.nanmax(c.curve(m.pr_x))), 1e-9) else "bottom right"
    star = {**_marker(m, b[m.pr_x], b["precision"], side), "text": [f"t = {b['threshold']:.4g}"]}
    # the selection's label above its point, the star's below: apart
    # when the points are near
    data = [curve, *_selected_marker(m, side.replace("bottom", "top")), star]
    data += [_operating_trace(m)] if m.operating is not None else []
    data += _estimate_trace(m, m.pr_x, "precision")
    shapes = []
    if c.target is not None:
        # precision (accuracy) is the PR figure's y, recall its x
        color = COLORS[c.target_metric]
        on_x = c.target_metric == "recall" and not m.multiclass
        shapes.append(_vline(c.target, color, "dash", "target") if on_x else _hline(c.target, color, "target"))
    return {
        "data": data,
        "layout": {
            "title": {"text": m.pr_title, "x": 0.02, "font": {"size": 14}},
            "xaxis": {
                "title": {"text": m.pr_x_label},
                "range": [0, _fit(c.curve(m.pr_x), _x_marks(m), 1.02)[1]],
            },
            "yaxis": {
                "title": {"text": m.pr_y_label},
                "range": _fit(c.precision, _y_marks(m), 1.08),
            },
            **size,
            "margin": _MARGIN,
            "showlegend": False,
            "hovermode": "closest",
            "shapes": shapes,
        },
    }


def plotly_figures(
    result: "OptimalConfidenceResult",
    *,
    classes: str | Sequence[str] | None = None,
    selected: float | None = None,
    band: "ReviewBand | None" = None,
    show_ci: bool = True,
    max_points: int | None = 1000,
    width: int | None = 520,
    height: int | None = 340,
) -> dict[str, dict[str, Any]]:
    """Plotly figures as plain dicts: JSON-serializable, for the App's panel
    (or ``plotly.graph_objects.Figure(**fig)``).

    Every point carries the exact counts in ``customdata`` (threshold,
    precision, recall, F1, TP, FP, FN, coverage) and its threshold in
    ``ids`` (see :func:`~optimal_confidence.plots.data.threshold_id`), so a
    click on any trace, including the PR curve whose ``x`` is the recall,
    tells which threshold it was. Hovering shows the threshold, precision,
    recall, F1 and TP/FP/FN (for a multiclass task: accuracy, coverage and
    the right and wrong automatic answers): on the threshold plot in one
    box for the curves, on the PR curve per point.

    The threshold figure's layout ``shapes`` each have a ``name``: in order,
    ``"threshold CI"`` (a light rectangle over the bootstrap interval of the
    threshold, all classes only), ``"review band"`` (a rectangle from
    ``band.t_low`` to ``band.t_high``), ``"best"`` (a vertical line at the
    marked threshold), ``"selected"`` and ``"target"`` (a horizontal line at
    the objective's precision, recall or accuracy target); each only when
    there is one.

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
        classes (None): see :func:`~optimal_confidence.plots.data.curve_data`
        selected (None): a threshold to mark, for example the last one
            clicked: a dotted vertical line on the threshold figure (and
            in its legend, ``"selected t = ..."``), a grey point on the PR
            figure
        band (None): a :class:`~optimal_confidence.curves.review.ReviewBand` to
            shade
        show_ci (True): whether to shade the bootstrap interval of the
            threshold, when the result has one
        max_points (1000): the most points per curve; longer exact sweeps
            are thinned evenly (the ends and the marked point are always
            kept; the counts at every shown point stay exact). ``None``
            keeps every point
        width (520): the width of each figure, in pixels; None leaves it to
            the container (plotly's ``autosize``)
        height (340): the height of each figure, in pixels; None as width

    Returns:
        ``{"threshold": fig, "pr": fig}``, each ``fig`` a dict with
        ``"data"`` (a list of trace dicts) and ``"layout"``. The threshold
        figure's traces are, in order, precision, recall, F1 (for an
        F-beta objective also F-beta), the selection's legend entry (with
        ``selected``), and the marked point; for a multiclass task
        accuracy, coverage, the selection's legend entry and the marked
        point. The PR figure's are the curve (for a multiclass task:
        accuracy against coverage), the selected point (with
        ``selected``), the marked point and, for a per-class objective,
        the operating point of the per-class thresholds
    """
    m = marks(result, classes, band=band, show_ci=show_ci, selected=selected)
    pts = _points(m, max_points)
    size = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    return {
        "threshold": _threshold_figure(m, pts, selected, size),
        "pr": _pr_figure(m, pts, size),
    }


def comparison_figures(
    results: dict[str, "OptimalConfidenceResult"],
    *,
    width: int | None = None,
    height: int | None = 360,
    max_points: int | None = 1000,
) -> dict[str, dict[str, Any]]:
    """Plotly figures overlaying models (``{name: result}``): each model's
    F1 (accuracy for multiclass classifiers) against the threshold, and its
    precision-recall curve, one colour per model, its chosen point starred.

    Returns:
        ``{"threshold": fig, "pr": fig}`` as :func:`plotly_figures` does
    """
    from .figure import MODEL_COLORS

    size = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    figs: dict[str, dict[str, Any]] = {
        name: {"data": [], "layout": {"margin": _MARGIN, "showlegend": True, "legend": _LEGEND, **size}}
        for name in ("threshold", "pr")
    }
    for k, (field, result) in enumerate(results.items()):
        m = marks(result)
        c, b, color = m.curves, m.best, MODEL_COLORS[k % len(MODEL_COLORS)]
        pts = _points(m, max_points)
        key = "precision" if m.multiclass else "f1"
        pairs = (("threshold", pts.t, c.curve(key), b["threshold"], b[key]),
                 ("pr", [num(x) for x in c.curve(m.pr_x)[pts.idx]], c.precision, b[m.pr_x], b["precision"]))
        for name, xs, ys, bx, by in pairs:
            figs[name]["data"] += [
                {"type": "scatter", "mode": "lines", "name": field, "x": xs,
                 "y": [num(y) for y in ys[pts.idx]], "customdata": pts.custom,
                 "hovertemplate": f"{field}<br>" + _hover(m) + "<extra></extra>",
                 "line": {"color": color, "width": 2}},
                {"type": "scatter", "mode": "markers", "name": f"{field}: chosen", "x": [num(bx)],
                 "y": [num(by)], "showlegend": False, "hovertemplate": f"{field} at t = {b['threshold']:.4g}<extra></extra>",
                 "marker": {"color": color, "size": 13, "symbol": "star", "line": {"color": "white", "width": 1}}},
            ]
    metric = "accuracy" if m.multiclass else "F1"
    figs["threshold"]["layout"].update(
        title={"text": f"Models compared: {metric}", "x": 0.02, "font": {"size": 14}},
        xaxis={"title": {"text": "confidence threshold"}}, yaxis={"title": {"text": metric}, "range": [0, 1.08]},
        hovermode="closest",
    )
    figs["pr"]["layout"].update(
        title={"text": "Models compared: " + m.pr_title.split(" (")[0].lower(), "x": 0.02, "font": {"size": 14}},
        xaxis={"title": {"text": m.pr_x_label}, "range": [0, 1.02]},
        yaxis={"title": {"text": m.pr_y_label}, "range": [0, 1.08]}, hovermode="closest",
    )
    return figs
