"""Figures (plotly trace dicts, matplotlib) and ``result.view()``."""

import json

import numpy as np
import pytest

from fiftyone import ViewField as F

import optimal_confidence
from optimal_confidence import compute_optimal_confidence
from optimal_confidence.plots import curve_data, plotly_figures, threshold_id
from optimal_confidence.sweep import precision_recall_f1

from helpers import oracle_counts


@pytest.fixture(scope="module")
def result(random_dataset):
    return compute_optimal_confidence(random_dataset, "predictions")


def _trace(fig, name):
    (trace,) = [t for t in fig["data"] if t["name"] == name]
    return trace


def test_plotly_threshold_figure_holds_the_curves_and_the_best_point(result):
    figs = plotly_figures(result, width=480, height=300)
    # plain JSON: what the App receives
    json.dumps(figs, allow_nan=False)

    fig = figs["threshold"]
    assert [t["name"] for t in fig["data"]] == ["Precision", "Recall", "F1", "best F1"]
    thresholds = result.thresholds.tolist()
    for name, values in (
        ("Precision", result.precision),
        ("Recall", result.recall),
        ("F1", result.f1),
    ):
        trace = _trace(fig, name)
        assert trace["x"] == thresholds
        assert trace["y"] == values.tolist()
        assert trace["ids"] == [threshold_id(t) for t in thresholds]
        assert [float(i) for i in trace["ids"]] == thresholds
        # customdata: threshold, P, R, F1, TP, FP, FN
        custom = np.array(trace["customdata"])
        np.testing.assert_array_equal(custom[:, 4], result.tp)
        np.testing.assert_array_equal(custom[:, 5], result.fp)
        np.testing.assert_array_equal(custom[:, 6], result.fn)

    best = _trace(fig, "best F1")
    assert best["x"] == [result.best_threshold] and best["y"] == [result.best_f1]
    assert best["ids"] == [threshold_id(result.best_threshold)]
    assert best["text"] == [f"best F1: {result.best_threshold:.4g}"]
    assert best["customdata"][0][4:] == [result.best_tp, result.best_fp, result.best_fn]
    # the best threshold also as a vertical line
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [result.best_threshold]

    # hover: the threshold (the unified box's header), P, R, F1, TP/FP/FN
    assert fig["layout"]["hovermode"] == "x unified"
    hover = " ".join(t["hovertemplate"] for t in fig["data"][:3])
    for word in ("precision", "recall", "F1", "TP", "FP", "FN"):
        assert word in hover
    for word in ("threshold", "precision", "recall", "F1", "TP", "FP", "FN"):
        assert word in best["hovertemplate"]

    layout = fig["layout"]
    assert (layout["width"], layout["height"]) == (480, 300)
    assert layout["margin"]["t"] > 0 and layout["showlegend"] is True


def test_plotly_pr_figure(result):
    fig = plotly_figures(result)["pr"]
    curve, best = fig["data"]
    assert curve["x"] == result.recall.tolist()
    assert curve["y"] == result.precision.tolist()
    assert curve["ids"] == [threshold_id(t) for t in result.thresholds]
    assert best["x"] == [result.best_recall] and best["y"] == [result.best_precision]
    for word in ("threshold", "precision", "recall", "F1", "TP", "FP", "FN"):
        assert word in curve["hovertemplate"]
    assert fig["layout"]["width"] and fig["layout"]["height"]


def test_plotly_figures_per_class_and_pooled_classes(result):
    per_class = result.class_counts()
    label = result.classes[0]
    fig = plotly_figures(result, classes=label)["threshold"]
    p, r, f1 = precision_recall_f1(per_class[label])
    assert _trace(fig, "Precision")["y"] == p.tolist()
    assert _trace(fig, "Recall")["y"] == r.tolist()
    assert _trace(fig, "F1")["y"] == f1.tolist()
    assert label in fig["layout"]["title"]["text"]
    # each class deploys at the best threshold: that is the point marked
    (marker,) = [t for t in fig["data"] if t["mode"] == "markers+text"]
    assert marker["x"] == [result.best_threshold]
    i = result.best_index
    assert marker["customdata"][0][4:] == [
        int(per_class[label].tp[i]), int(per_class[label].fp[i]), int(per_class[label].fn[i])
    ]

    # a list of classes pools their counts; all classes pool to the totals
    two = curve_data(result, result.classes[:2])
    np.testing.assert_array_equal(two.tp, per_class[result.classes[0]].tp + per_class[result.classes[1]].tp)
    every = curve_data(result, result.classes)
    np.testing.assert_array_equal(every.tp, result.tp)
    np.testing.assert_array_equal(every.fp, result.fp)
    np.testing.assert_array_equal(every.fn, result.fn)

    with pytest.raises(ValueError, match="Unknown classes \\['zebra'\\]"):
        plotly_figures(result, classes="zebra")


def test_plotly_thins_long_curves_but_keeps_exact_points(result):
    assert result.num_thresholds > 8
    fig = plotly_figures(result, max_points=5)["threshold"]
    f1 = _trace(fig, "F1")
    assert len(f1["x"]) <= 6
    assert f1["x"][0] == result.thresholds[0] and f1["x"][-1] == result.thresholds[-1]
    assert result.best_threshold in f1["x"]
    for t, y in zip(f1["x"], f1["y"]):
        i = int(np.searchsorted(result.thresholds, t))
        assert y == result.f1[i]


def test_plotly_marks_a_selected_threshold(result):
    t = float(result.thresholds[-2])
    fig = plotly_figures(result, selected=t)["threshold"]
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [result.best_threshold, t]


def test_plot_curves_draws_both_plots(result):
    fig = optimal_confidence.plot_curves(result)
    ax_t, ax_pr = fig.axes
    lines = {line.get_label(): line for line in ax_t.get_lines()}
    assert {"precision", "recall", "F1", "best F1"} <= set(lines)
    np.testing.assert_array_equal(lines["F1"].get_xdata(), result.thresholds)
    np.testing.assert_array_equal(lines["F1"].get_ydata(), result.f1)
    np.testing.assert_array_equal(lines["precision"].get_ydata(), result.precision)
    np.testing.assert_array_equal(lines["recall"].get_ydata(), result.recall)
    assert list(lines["best F1"].get_xdata()) == [result.best_threshold]
    assert list(lines["best F1"].get_ydata()) == [result.best_f1]
    assert any(f"{result.best_threshold:.4g}" in t.get_text() for t in ax_t.texts)

    pr = {line.get_label(): line for line in ax_pr.get_lines()}
    np.testing.assert_array_equal(pr["PR curve"].get_xdata(), result.recall)
    np.testing.assert_array_equal(pr["PR curve"].get_ydata(), result.precision)
    assert list(pr["best F1"].get_xdata()) == [result.best_recall]


def test_plot_curves_into_given_axes(result, tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert optimal_confidence.plot_curves(result, ax=ax, classes=result.classes[0]) is fig
    assert len(fig.axes) == 1 and len(ax.get_lines()) >= 4

    fig2 = Figure()
    axes = fig2.subplots(1, 2)
    assert optimal_confidence.plot_curves(result, ax=axes) is fig2
    assert all(a.get_lines() for a in axes)
    fig2.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0

    with pytest.raises(ValueError, match="pair of Axes"):
        optimal_confidence.plot_curves(result, ax=list(Figure().subplots(1, 3)))


def test_view_keeps_the_predictions_at_the_threshold(random_dataset, result):
    ds = random_dataset
    for t in (None, float(result.thresholds[len(result.thresholds) // 2]), 0.9):
        view = result.view(ds, t)
        t = result.best_threshold if t is None else t
        # every sample stays, so ground truth without predictions counts
        assert len(view) == len(ds)
        expected = ds.filter_labels(
            "predictions", F("confidence") >= t, only_matches=False
        ).count("predictions.detections")
        assert view.count("predictions.detections") == expected
        assert expected == int((result.records.pred_conf >= t).sum())
        # the oracle, on the view returned
        assert oracle_counts(view, "predictions", "ground_truth", 0.0) == oracle_counts(
            ds, "predictions", "ground_truth", t
        )
        assert oracle_counts(ds, "predictions", "ground_truth", t) == tuple(
            int(c[0]) for c in result.counts_at(t)
        )
    # nothing was written
    assert ds.count("predictions.detections") == len(result.records.pred_conf)


def test_view_with_per_class_thresholds(random_dataset, result):
    per_class = result.with_objective(per_class=True)
    view = per_class.view(random_dataset)
    for label, t in per_class.class_thresholds.items():
        kept = view.filter_labels("predictions", F("label") == label).count(
            "predictions.detections"
        )
        assert kept == random_dataset.filter_labels(
            "predictions", (F("label") == label) & (F("confidence") >= t)
        ).count("predictions.detections")


def test_view_on_frames_and_bad_input(video_dataset, random_dataset, result):
    video = compute_optimal_confidence(video_dataset, "frames.pred", "frames.gt")
    t = video.best_threshold
    view = video.view(video_dataset)
    assert view.count("frames.pred.detections") == int((video.records.pred_conf >= t).sum())

    with pytest.raises(ValueError, match="must be a number"):
        result.view(random_dataset, "0.5")
    with pytest.raises(ValueError, match="must be finite"):
        result.view(random_dataset, float("nan"))
    with pytest.raises(ValueError, match="dataset or view"):
        result.view([1, 2, 3])
    with pytest.raises(ValueError, match="has no field 'predictions'"):
        result.view(video_dataset)
