"""The matplotlib figure of a result, for notebooks and reports: the same
curves and marks as the panel's plotly figures
(:func:`~optimal_confidence.plots.data.marks`)."""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .data import COLORS, Marks, marks

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..result.result import OptimalConfidenceResult
    from ..curves.review import ReviewBand

__all__ = ["MODEL_COLORS", "plot_comparison", "plot_curves"]


@functools.cache
def _figure_class() -> type:
    """matplotlib's ``Figure``, shown as a picture in Jupyter: when it is
    the value of a cell (a bare ``Figure`` prints as ``<Figure size ...>``
    there unless the inline backend was set up), and otherwise at the end
    of the cell that drew it (``fig = plot_curves(result)``, or a plot in
    the middle of a cell), once, as pyplot's inline figures are; imported
    when first drawn."""
    from matplotlib.figure import Figure

    class CurvesFigure(Figure):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._oc_shown = False
            _show_at_cell_end(self)

        def _repr_png_(self) -> bytes:
            self._oc_shown = True
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100)
            return buf.getvalue()

    return CurvesFigure


#: the figures drawn in the running Jupyter cell, not yet shown
_PENDING: list[Any] = []


def _kernel() -> Any:
    """The running Jupyter kernel's shell, or None (a script, a terminal
    IPython: nothing to show pictures in)."""
    import sys

    if "IPython" not in sys.modules:
        return None
    shell = sys.modules["IPython"].get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def _show_at_cell_end(fig: Any) -> None:
    shell = _kernel()
    if shell is None:
        return
    if _flush not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _flush)
    _PENDING.append(fig)


def _flush(result: Any) -> None:
    """After a cell: shows each figure it drew that was not shown already
    (as the cell's value, ``result.result``, or by ``display``)."""
    from IPython.display import display

    figures = list(_PENDING)
    _PENDING.clear()
    value = getattr(result, "result", None)
    for fig in figures:
        if not fig._oc_shown and fig is not value:
            display(fig)


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple["Figure", "Axes", "Axes | None"]:
    """The figure, the threshold plot's axes and the PR plot's (or None)."""
    if ax is None:
        fig = _figure_class()(figsize=figsize, layout="constrained")
        ax_t, ax_pr = fig.subplots(1, 2)
        return fig, ax_t, ax_pr
    if isinstance(ax, (list, tuple, np.ndarray)):
        axes = list(np.ravel(ax))
        if len(axes) != 2:
            raise ValueError(f"ax must be one Axes or a pair of Axes; got {len(axes)} axes")
        return axes[0].figure, axes[0], axes[1]
    return ax.figure, ax, None


def _best_text(m: Marks) -> str:
    c, b = m.curves, m.best
    second = f"cov={b['coverage']:.3f}" if m.multiclass else f"R={b['recall']:.3f}"
    return (
        f"{c.best_label}\n{c.score_text}\nt={b['threshold']:.4g}  "
        f"{c.names['precision'][0]}={b['precision']:.3f}  {second}"
    )


def _shade(ax: "Axes", m: Marks) -> None:
    """The review band and the bootstrap interval of the threshold."""
    if m.band is not None:
        ax.axvspan(
            m.band.t_low, m.band.t_high, color=COLORS["band"], alpha=0.25,
            label="review band", linewidth=0,
        )
    if m.ci is not None:
        lo, hi, level = m.ci
        ax.axvspan(
            lo, hi, color=COLORS["best"], alpha=0.1, linewidth=0,
            label=f"{level:.0%} interval of the threshold",
        )


def _draw_threshold(ax: "Axes", m: Marks) -> None:
    c, b = m.curves, m.best
    drawstyle = "steps-pre" if c.exact else "default"
    for key in m.keys:
        # matplotlib labels stay lower case ("F1" and F-beta keep theirs)
        label = m.labels[key] if key in ("f1", "fbeta") else m.labels[key].lower()
        ax.plot(c.thresholds, c.curve(key), color=COLORS[key], label=label, drawstyle=drawstyle)
    ax.axvline(b["threshold"], color=COLORS["best"], linestyle="--", linewidth=1)
    ax.plot(
        [b["threshold"]], [b[c.mark_on]], marker="*", markersize=14, linestyle="none",
        color=COLORS["best"], label=c.best_label,
    )
    _draw_estimate(ax, m, "threshold", c.mark_on)
    # the label in a free spot, with a line to the star: curves meet there
    ax.annotate(
        _best_text(m), xy=(b["threshold"], b[c.mark_on]), xytext=m.label_at,
        textcoords="data", fontsize=8, color=COLORS["best"], ha="center", va="center",
        arrowprops={"arrowstyle": "-", "color": COLORS["best"], "linewidth": 0.8},
    )
    if c.target is not None:
        ax.axhline(
            c.target, color=COLORS[c.target_metric], linestyle="-.", linewidth=1,
            label=m.target_text,
        )
    _shade(ax, m)
    ax.set_xlabel("confidence threshold")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1.05)
    ax.set_title(m.title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)


def _draw_estimate(ax: "Axes", m: Marks, x: str, y: str) -> None:
    """With a guarantee: the point estimate, hollow, beside the certified
    star."""
    p = m.point_estimate
    if p is not None:
        ax.plot(
            [p[x]], [p[y]], marker="o", markersize=9, linestyle="none", markerfacecolor="none",
            markeredgewidth=1.5, color=COLORS["best"], label="point estimate (no guarantee)",
        )


def _draw_pr(ax: "Axes", m: Marks) -> None:
    c, b = m.curves, m.best
    ax.plot(c.curve(m.pr_x), c.precision, color=COLORS["pr"], label="accuracy-coverage" if m.multiclass else "PR curve")
    ax.plot(
        [b[m.pr_x]], [b["precision"]], marker="*", markersize=14, linestyle="none",
        color=COLORS["best"], label=c.best_label,
    )
    _draw_estimate(ax, m, m.pr_x, "precision")
    ax.annotate(
        f"t={b['threshold']:.4g}", xy=(b[m.pr_x], b["precision"]), xytext=(8, 8),
        textcoords="offset points", fontsize=8, color=COLORS["best"],
    )
    if m.operating is not None:
        op = m.operating
        ax.plot(
            [op[m.pr_x]], [op["precision"]], marker="D", markersize=8, linestyle="none",
            color=COLORS["operating"], label="per-class thresholds",
        )
    ax.set_xlabel(m.pr_x_label)
    ax.set_ylabel(m.pr_y_label)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.set_title(m.pr_title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)


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
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
        ax (None): ``None`` draws both plots side by side in a new figure;
            one ``matplotlib.axes.Axes`` draws only the threshold plot
            there; a pair of axes draws the threshold plot and the PR curve
            into them
        classes (None): ``None`` for all classes pooled, a class name, or a
            list of class names to pool (see
            :func:`~optimal_confidence.plots.data.curve_data`)
        band (None): a :class:`~optimal_confidence.curves.review.ReviewBand` to
            shade on the threshold plot (label ``"review band"``)
        show_ci (True): whether to shade the bootstrap interval of the
            threshold (all classes only), when the result has one
        figsize ((11.0, 4.2)): the size of a new figure, in inches
        title (None): a title for the figure; by default, in a new figure,
            the fields compared

    Returns:
        the ``matplotlib.figure.Figure`` drawn into; in Jupyter a new one
        shows itself once, at the end of the cell (also when assigned)
    """
    m = marks(result, classes, band=band, show_ci=show_ci)
    fig, ax_t, ax_pr = _axes(ax, figsize)
    _draw_threshold(ax_t, m)
    if ax_pr is not None:
        _draw_pr(ax_pr, m)
    if title is None and ax is None:
        title = m.fields
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


#: one colour per model of a comparison
MODEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def plot_comparison(comparison: Any, *, figsize: tuple[float, float] = (11.0, 4.2)) -> "Figure":
    """Draws each model's F1 (accuracy for multiclass classifiers) against
    the threshold and its precision-recall curve, overlaid, one colour per
    model, each model's chosen point starred.

    Args:
        comparison: a :class:`~optimal_confidence.result.comparison.ModelComparison`
        figsize ((11.0, 4.2)): the figure's size, in inches

    Returns:
        the ``matplotlib.figure.Figure``
    """
    fig = _figure_class()(figsize=figsize, layout="constrained")
    ax_t, ax_pr = fig.subplots(1, 2)
    for k, (field, result) in enumerate(comparison.results.items()):
        m = marks(result)
        c, b, color = m.curves, m.best, MODEL_COLORS[k % len(MODEL_COLORS)]
        key = "precision" if m.multiclass else "f1"
        ax_t.plot(c.thresholds, c.curve(key), color=color, label=field,
                  drawstyle="steps-pre" if c.exact else "default")
        ax_t.plot([b["threshold"]], [b[key]], marker="*", markersize=13, color=color, linestyle="none")
        ax_pr.plot(c.curve(m.pr_x), c.precision, color=color, label=field)
        ax_pr.plot([b[m.pr_x]], [b["precision"]], marker="*", markersize=13, color=color, linestyle="none")
    ax_t.set_xlabel("confidence threshold")
    ax_t.set_ylabel("accuracy" if m.multiclass else "F1")
    ax_t.set_ylim(0, 1.05)
    ax_t.set_title("Models compared: " + ("accuracy" if m.multiclass else "F1"), fontsize=10)
    ax_pr.set_xlabel(m.pr_x_label)
    ax_pr.set_ylabel(m.pr_y_label)
    ax_pr.set_xlim(0, 1.02)
    ax_pr.set_ylim(0, 1.05)
    ax_pr.set_title("Models compared: " + m.pr_title.split(" (")[0].lower(), fontsize=10)
    for ax in (ax_t, ax_pr):
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
    return fig
