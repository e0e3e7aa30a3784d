"""Figures of a result: plotly trace dicts for the App's panel
(:func:`plotly_figures`), and a matplotlib figure for notebooks and reports
(:func:`plot_curves`).

Both draw the same two plots, from the same :func:`~.data.marks`:

-   precision, recall and F1 against the confidence threshold (for a
    multiclass ``Classification`` task: the accuracy of the automatic
    answers and the coverage), with the threshold the result's objective
    chose marked and labelled with the objective's value, and a precision,
    recall or accuracy target as a horizontal line;
-   the precision-recall curve (for a multiclass task: accuracy against
    coverage), with the same point marked.

Optionally, shaded on the threshold plot: a human-review band
``[t_low, t_high)`` (:class:`~optimal_confidence.curves.review.ReviewBand`) and
the bootstrap interval of the chosen threshold (when the result has one).
A result's reliability diagram (calibration) has its own pair:
:func:`plot_calibration` and :func:`reliability_figure`. Nothing here
reads the database.
"""

from ..outputs.reports import format_score
from .data import (
    COLORS,
    OPERATING_POINT_ID,
    CurveData,
    Marks,
    curve_data,
    marks,
    metric_names,
    operating_point,
    threshold_id,
)
from .calibration import plot_calibration, reliability_figure
from .figure import plot_comparison, plot_curves
from .traces import comparison_figures, plotly_figures

__all__ = [
    "COLORS",
    "OPERATING_POINT_ID",
    "CurveData",
    "comparison_figures",
    "Marks",
    "curve_data",
    "format_score",
    "marks",
    "metric_names",
    "operating_point",
    "plot_calibration",
    "plot_comparison",
    "plot_curves",
    "plotly_figures",
    "reliability_figure",
    "threshold_id",
]
