"""Reliability diagrams of a :class:`~optimal_confidence.certainty.calibration.Calibration`:
a plotly figure as a plain dict for the App's panel
(:func:`reliability_figure`), and a matplotlib figure for notebooks and
reports (:func:`plot_calibration`).

Both draw the same diagram: the share of right predictions (precision)
against the mean confidence of each non-empty bin, the diagonal a
perfectly calibrated model would follow, the number of predictions per bin
as light bars on a second y axis (kept to the lower third of the plot, so
they show where the predictions are without hiding the curve), and, given
a second ``Calibration`` (``after``, e.g. of the calibrated confidences),
its curve in a second colour. The title gives the ECE (before and after).
Nothing here reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..certainty.calibration import Calibration
from .data import COLORS, num
from .traces import _LEGEND, _MARGIN

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_calibration", "reliability_figure"]

#: the curves' colours: the confidences as they are, and after calibration
CURVE_COLORS = {"before": COLORS["precision"], "after": COLORS["f1"]}
DIAGONAL_COLOR = COLORS["selected"]
#: the bars of counts: light, so the curves stay in front
BAR_COLORS = {"before": "#aec7e8", "after": "#ffbb78"}
BAR_OPACITY = 0.55

# the bars' axis goes to this many times the fullest bin: the bars fill the
# lower third of the plot, under most of the curve
_BAR_HEADROOM = 3.0

# right margin wide enough for the bar axis' ticks and title
_CAL_MARGIN = {**_MARGIN, "r": 60}

_CURVE_HOVER = (
    "confidences %{customdata[0]:.3g}-%{customdata[1]:.3g}<br>"
    "mean confidence %{x:.3f}<br>"
    "precision %{y:.3f}<br>"
    "%{customdata[2]} predictions"
)

_BAR_HOVER = "confidences %{customdata[0]:.3g}-%{customdata[1]:.3g}<br>%{y} predictions"


@dataclass(frozen=True)
class _Bins:
    """What one calibration contributes to a diagram: its non-empty bins'
    points, and every bin's bar."""

    name: str
    key: str
    x: np.ndarray  # mean confidence of each non-empty bin, in bin order
    y: np.ndarray  # precision of each non-empty bin
    lo: np.ndarray  # lower edge of each non-empty bin
    hi: np.ndarray  # upper edge of each non-empty bin
    n: np.ndarray  # count of each non-empty bin
    edges: np.ndarray  # all bin edges, shape ``(num_bins + 1,)``
    count: np.ndarray  # all bins' counts, shape ``(num_bins,)``


def _check(cal: Any, name: str) -> Calibration:
    if not isinstance(cal, Calibration):
        raise TypeError(
            f"{name} must be a Calibration (from optimal_confidence.certainty.calibration."
            f"calibration()); got {type(cal).__name__}"
        )
    return cal


def _bins(cal: Calibration, name: str, key: str) -> _Bins:
    # empty bins have no precision: left out, never drawn as 0
    full = np.asarray(cal.count) > 0
    edges = np.asarray(cal.bin_edges, dtype=np.float64)
    return _Bins(
        name=name, key=key,
        x=np.asarray(cal.mean_confidence, dtype=np.float64)[full],
        y=np.asarray(cal.precision, dtype=np.float64)[full],
        lo=edges[:-1][full], hi=edges[1:][full],
        n=np.asarray(cal.count, dtype=np.int64)[full],
        edges=edges, count=np.asarray(cal.count, dtype=np.int64),
    )


def _series(calibration: Any, after: Any) -> list[_Bins]:
    """The diagram's curves, in drawing order."""
    _check(calibration, "calibration")
    if after is None:
        return [_bins(calibration, "confidences", "before")]
    return [_bins(calibration, "before", "before"), _bins(_check(after, "after"), "after calibration", "after")]


def _title(calibration: Calibration, after: Calibration | None) -> str:
    text = f"Reliability: ECE {calibration.ece:.3f}"
    return text if after is None else f"{text} \u2192 {after.ece:.3f}"


def _bar_geometry(b: _Bins, paired: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each bar's centre, width and left edge: one bar filling 90% of its
    bin, or, with two calibrations, each half of that, "before" on the left
    and "after" on the right of the bin's centre."""
    centre = (b.edges[:-1] + b.edges[1:]) / 2
    width = np.diff(b.edges) * (0.45 if paired else 0.9)
    if not paired:
        return centre, width, centre - width / 2
    return centre, width, centre - width if b.key == "before" else centre


def _bar_top(series: list[_Bins]) -> float:
    return _BAR_HEADROOM * max(max(int(b.count.max(initial=0)), 1) for b in series)


# --------------------------------------------------------------------------
# plotly


def _curve_trace(b: _Bins) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers+lines",
        "name": b.name,
        "x": [num(v) for v in b.x],
        "y": [num(v) for v in b.y],
        "customdata": [[num(lo), num(hi), int(n)] for lo, hi, n in zip(b.lo, b.hi, b.n)],
        "hovertemplate": _CURVE_HOVER + f"<extra>{b.name}</extra>",
        "line": {"color": CURVE_COLORS[b.key], "width": 2},
        "marker": {"color": CURVE_COLORS[b.key], "size": 7},
        "cliponaxis": False,
    }


def _bar_trace(b: _Bins, paired: bool) -> dict[str, Any]:
    centre, width, left = _bar_geometry(b, paired)
    name = "predictions per bin" + (", after calibration" if b.key == "after" else "")
    return {
        "type": "bar",
        "name": name,
        "x": [num(v) for v in centre],
        "y": [int(v) for v in b.count],
        "width": [num(v) for v in width],
        # plotly's offset is from the bar's x to its left edge
        "offset": [num(v) for v in left - centre],
        "customdata": [[num(lo), num(hi)] for lo, hi in zip(b.edges[:-1], b.edges[1:])],
        "hovertemplate": _BAR_HOVER + f"<extra>{name}</extra>",
        "yaxis": "y2",
        "marker": {"color": BAR_COLORS[b.key], "line": {"width": 0}},
        "opacity": BAR_OPACITY,
    }


def _diagonal_trace() -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "perfectly calibrated",
        "x": [0.0, 1.0],
        "y": [0.0, 1.0],
        "hoverinfo": "skip",
        "line": {"color": DIAGONAL_COLOR, "width": 1, "dash": "dash"},
    }


def reliability_figure(
    calibration: Calibration,
    *,
    after: Calibration | None = None,
    width: int | None = None,
    height: int | None = 360,
) -> dict[str, Any]:
    """A reliability diagram as a plotly figure in a plain dict:
    JSON-serializable (no ``NaN``), for the App's panel (or
    ``plotly.graph_objects.Figure(fig)``).

    Example::

        cal = optimal_confidence.certainty.calibration.calibration(result.records)
        fig = reliability_figure(cal)

    Args:
        calibration: a :class:`~optimal_confidence.certainty.calibration.Calibration`
        after (None): another ``Calibration``, e.g. of the calibrated
            confidences, drawn in a second colour
        width (None): the figure's width, in pixels; None leaves it to the
            container (plotly's ``autosize``)
        height (360): the figure's height, in pixels; None as width

    Returns:
        a dict with ``"data"`` and ``"layout"``. The traces are, in order:
        the bars of predictions per bin (``"predictions per bin"``, on
        ``yaxis2``; with ``after`` also ``"predictions per bin, after
        calibration"``), the diagonal (``"perfectly calibrated"``), and one
        ``"markers+lines"`` curve per calibration (``"confidences"``, or
        ``"before"`` and ``"after calibration"``) with a point per non-empty
        bin in bin order: ``x`` its mean confidence, ``y`` its precision,
        ``customdata`` its edges and count. Empty bins are left out of the
        curves; every bin has a bar. The title gives the ECE, ``"Reliability:
        ECE 0.123"`` or ``"Reliability: ECE 0.123 → 0.045"``

    Raises:
        TypeError: if ``calibration`` or ``after`` is not a ``Calibration``
    """
    series = _series(calibration, after)
    paired = len(series) > 1
    size = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    data = [_bar_trace(b, paired) for b in series] + [_diagonal_trace()] + [_curve_trace(b) for b in series]
    return {
        "data": data,
        "layout": {
            "title": {"text": _title(calibration, after), "x": 0.02, "font": {"size": 14}},
            "xaxis": {"title": {"text": "confidence"}, "range": [0, 1]},
            "yaxis": {"title": {"text": "share right (precision)"}, "range": [0, 1]},
            "yaxis2": {
                "title": {"text": "predictions per bin"},
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "range": [0, _bar_top(series)],
            },
            **size,
            "margin": _CAL_MARGIN,
            "showlegend": True,
            "legend": _LEGEND,
            "hovermode": "closest",
        },
    }


# --------------------------------------------------------------------------
# matplotlib


def _draw_bars(ax_n: "Axes", series: list[_Bins]) -> None:
    paired = len(series) > 1
    for b in series:
        _, width, left = _bar_geometry(b, paired)
        name = "predictions per bin" + (", after calibration" if b.key == "after" else "")
        ax_n.bar(
            left, b.count, width=width, align="edge", color=BAR_COLORS[b.key],
            alpha=BAR_OPACITY, linewidth=0, label=name,
        )
    ax_n.set_ylim(0, _bar_top(series))
    ax_n.set_ylabel("predictions per bin")


def _draw_reliability(ax: "Axes", series: list[_Bins], title: str) -> None:
    ax.plot([0, 1], [0, 1], color=DIAGONAL_COLOR, linestyle="--", linewidth=1, label="perfectly calibrated")
    for b in series:
        ax.plot(
            b.x, b.y, color=CURVE_COLORS[b.key], marker="o", markersize=5, linewidth=2,
            label=b.name, clip_on=False,
        )
    ax.set_xlabel("confidence")
    ax.set_ylabel("share right (precision)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)


def plot_calibration(
    calibration: Calibration,
    *,
    after: Calibration | None = None,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.4, 4.8),
) -> "Figure":
    """Draws the reliability diagram with matplotlib: the same curves,
    diagonal, bars of counts (on a twin y axis) and title as
    :func:`reliability_figure`.

    Example::

        fig = plot_calibration(cal, after=calibrated_cal)
        fig.savefig("reliability.png", dpi=120)

    Args:
        calibration: a :class:`~optimal_confidence.certainty.calibration.Calibration`
        after (None): another ``Calibration``, e.g. of the calibrated
            confidences, drawn in a second colour
        ax (None): a ``matplotlib.axes.Axes`` to draw into (its twin axes,
            for the bars, is added to its figure); ``None`` draws into a new
            figure
        figsize ((6.4, 4.8)): the size of a new figure, in inches

    Returns:
        the ``matplotlib.figure.Figure`` drawn into; a new one shows itself
        when it is the value of a Jupyter cell. The curves are lines of
        ``ax`` labelled ``"confidences"`` (or ``"before"`` and ``"after
        calibration"``) with one point per non-empty bin, the diagonal one
        labelled ``"perfectly calibrated"``

    Raises:
        TypeError: if ``calibration`` or ``after`` is not a ``Calibration``
    """
    series = _series(calibration, after)
    if ax is None:
        from .figure import _figure_class

        fig = _figure_class()(figsize=figsize, layout="constrained")
        ax = fig.subplots()
    ax_n = ax.twinx()
    _draw_bars(ax_n, series)
    _draw_reliability(ax, series, _title(calibration, after))
    # the curves in front of the bars: the twin axes is drawn first
    ax.set_zorder(ax_n.get_zorder() + 1)
    ax.patch.set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    bar_handles, bar_labels = ax_n.get_legend_handles_labels()
    ax.legend(handles + bar_handles, labels + bar_labels, loc="upper left", fontsize=8)
    return ax.figure
