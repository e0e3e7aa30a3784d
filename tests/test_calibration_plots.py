"""Reliability diagrams (plotly dicts and matplotlib) of hand-built
calibrations: the plotted numbers are the bins' numbers, empty bins are
absent, the ECE is in the title."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimal_confidence.certainty.calibration import Calibration, calibration
from optimal_confidence.plots.calibration import plot_calibration, reliability_figure
from optimal_confidence.curves.sweep import MatchRecords

NAN = np.nan


def make_calibration(count, mean_confidence, precision, ece):
    count = np.asarray(count, dtype=np.int64)
    return Calibration(
        bin_edges=np.arange(len(count) + 1, dtype=np.float64) / len(count),
        count=count,
        mean_confidence=np.asarray(mean_confidence, dtype=np.float64),
        precision=np.asarray(precision, dtype=np.float64),
        ece=ece,
        per_class={"a": ece},
        num_predictions=int(count.sum()),
    )


@pytest.fixture
def before():
    # five bins, two empty (1 and 3): they must not show up as points at 0
    return make_calibration(
        count=[4, 0, 3, 0, 5],
        mean_confidence=[0.1, NAN, 0.5, NAN, 0.9],
        precision=[0.25, NAN, 2 / 3, NAN, 0.6],
        ece=0.12345,
    )


@pytest.fixture
def after():
    # different bins from "before": four bins, the last one empty
    return make_calibration(
        count=[2, 6, 4, 0],
        mean_confidence=[0.2, 0.4, 0.6, NAN],
        precision=[0.0, 0.5, 0.75, NAN],
        ece=0.0456,
    )


def traces(fig):
    named = {t["name"]: t for t in fig["data"]}
    assert len(named) == len(fig["data"]), "trace names are unique"
    return named


# --------------------------------------------------------------------------
# plotly


def test_curve_is_the_non_empty_bins_in_order(before):
    fig = reliability_figure(before)
    t = traces(fig)
    assert set(t) == {"confidences", "perfectly calibrated", "predictions per bin"}
    curve = t["confidences"]
    assert curve["type"] == "scatter" and curve["mode"] == "markers+lines"
    assert curve["x"] == pytest.approx([0.1, 0.5, 0.9])
    assert curve["y"] == pytest.approx([0.25, 2 / 3, 0.6])
    # no point of an empty bin, not even as 0 or None
    assert None not in curve["x"] + curve["y"] and len(curve["x"]) == 3
    # hover: each point's bin edges and count
    np.testing.assert_allclose(curve["customdata"], [[0.0, 0.2, 4], [0.4, 0.6, 3], [0.8, 1.0, 5]])
    for word in ("confidences", "mean confidence", "precision", "predictions"):
        assert word in curve["hovertemplate"]


def test_bars_are_every_bins_count_on_the_second_axis(before):
    bars = traces(reliability_figure(before))["predictions per bin"]
    assert bars["type"] == "bar" and bars["yaxis"] == "y2"
    assert bars["y"] == [4, 0, 3, 0, 5]
    assert bars["x"] == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    # each bar covers 90% of its bin, centred
    lefts = np.add(bars["x"], bars["offset"])
    np.testing.assert_allclose(lefts, np.arange(5) / 5 + 0.01)
    np.testing.assert_allclose(bars["width"], [0.18] * 5)


def test_diagonal_title_and_axes(before):
    fig = reliability_figure(before, width=500, height=300)
    diag = traces(fig)["perfectly calibrated"]
    assert diag["x"] == [0.0, 1.0] and diag["y"] == [0.0, 1.0]
    assert diag["line"]["dash"] == "dash"
    layout = fig["layout"]
    assert layout["title"]["text"] == "Reliability: ECE 0.123"
    assert layout["xaxis"]["title"]["text"] == "confidence"
    assert layout["xaxis"]["range"] == [0, 1]
    assert layout["yaxis"]["title"]["text"] == "share right (precision)"
    assert layout["yaxis"]["range"] == [0, 1]
    assert layout["yaxis2"]["overlaying"] == "y" and layout["yaxis2"]["side"] == "right"
    # the bars stay in the lower third: the axis goes to 3x the fullest bin
    assert layout["yaxis2"]["range"] == [0, 15]
    assert layout["showlegend"] is True
    assert (layout["width"], layout["height"]) == (500, 300)
    assert "width" not in reliability_figure(before)["layout"]


def test_after_adds_its_curve_and_ece(before, after):
    fig = reliability_figure(before, after=after)
    t = traces(fig)
    assert set(t) == {
        "before", "after calibration", "perfectly calibrated",
        "predictions per bin", "predictions per bin, after calibration",
    }
    assert fig["layout"]["title"]["text"] == "Reliability: ECE 0.123 \u2192 0.046"
    assert t["before"]["y"] == pytest.approx([0.25, 2 / 3, 0.6])
    assert t["after calibration"]["x"] == pytest.approx([0.2, 0.4, 0.6])
    assert t["after calibration"]["y"] == pytest.approx([0.0, 0.5, 0.75])
    assert t["before"]["line"]["color"] != t["after calibration"]["line"]["color"]
    # each calibration's bars, side by side in its own bins
    assert t["predictions per bin"]["y"] == [4, 0, 3, 0, 5]
    assert t["predictions per bin, after calibration"]["y"] == [2, 6, 4, 0]
    left = np.add(t["predictions per bin"]["x"], t["predictions per bin"]["offset"])
    np.testing.assert_allclose(left + t["predictions per bin"]["width"], t["predictions per bin"]["x"])
    a = t["predictions per bin, after calibration"]
    np.testing.assert_allclose(a["offset"], 0, atol=1e-12)
    # the fullest bin of either sets the bars' axis
    assert fig["layout"]["yaxis2"]["range"] == [0, 18]


def test_figure_is_strict_json_and_valid_plotly(before, after):
    for fig in (reliability_figure(before), reliability_figure(before, after=after)):
        assert json.loads(json.dumps(fig, allow_nan=False)) == fig
        go = pytest.importorskip("plotly.graph_objects")
        go.Figure(fig)  # raises on an unknown property


def test_rejects_what_is_not_a_calibration(before):
    with pytest.raises(TypeError, match="after must be a Calibration.*got dict"):
        reliability_figure(before, after=before.to_dict())
    with pytest.raises(TypeError, match="calibration must be a Calibration"):
        plot_calibration(None)


def test_from_match_records():
    # 0.05 | 0.15, 0.15 (one right) | 0.95, 1.0 (one right), bins of 0.1
    conf = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    tp = np.array([True, False, True, True, False])
    images = np.arange(conf.size)
    records = MatchRecords(
        classes=("a",), pred_conf=conf, pred_tp=tp, pred_class=np.zeros(conf.size, dtype=np.int64),
        pred_sample=images, gt_conf=conf[tp], gt_class=np.zeros(int(tp.sum()), dtype=np.int64),
        gt_sample=images[tp], num_samples=conf.size,
    )
    cal = calibration(records)
    fig = reliability_figure(cal)
    curve = traces(fig)["confidences"]
    assert curve["x"] == pytest.approx([0.05, 0.15, 0.975])
    assert curve["y"] == pytest.approx([1.0, 0.5, 0.5])
    assert traces(fig)["predictions per bin"]["y"] == cal.count.tolist()
    assert fig["layout"]["title"]["text"] == f"Reliability: ECE {cal.ece:.3f}"


# --------------------------------------------------------------------------
# matplotlib


def lines_of(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_plot_calibration_draws_the_same_numbers(before, after, tmp_path):
    fig = plot_calibration(before, after=after)
    ax = fig.axes[0]
    lines = lines_of(ax)
    np.testing.assert_allclose(lines["before"].get_xdata(), [0.1, 0.5, 0.9])
    np.testing.assert_allclose(lines["before"].get_ydata(), [0.25, 2 / 3, 0.6])
    np.testing.assert_allclose(lines["after calibration"].get_xdata(), [0.2, 0.4, 0.6])
    np.testing.assert_allclose(lines["after calibration"].get_ydata(), [0.0, 0.5, 0.75])
    np.testing.assert_allclose(lines["perfectly calibrated"].get_xydata(), [[0, 0], [1, 1]])
    assert ax.get_title() == "Reliability: ECE 0.123 \u2192 0.046"
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    # the bars: every bin's count, on the twin axes
    ax_n = fig.axes[1]
    heights = [[p.get_height() for p in c] for c in ax_n.containers]
    assert heights == [[4, 0, 3, 0, 5], [2, 6, 4, 0]]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) == set(traces(reliability_figure(before, after=after)))
    # shows itself in a notebook
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    fig.savefig(tmp_path / "reliability.png")


def test_plot_calibration_into_given_axes(before):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert plot_calibration(before, ax=ax) is fig
    assert set(lines_of(ax)) == {"confidences", "perfectly calibrated"}
    np.testing.assert_allclose(lines_of(ax)["confidences"].get_ydata(), [0.25, 2 / 3, 0.6])
    assert ax.get_title() == "Reliability: ECE 0.123"
    # the given axes and the bars' twin
    assert len(fig.axes) == 2 and fig.axes[0] is ax
