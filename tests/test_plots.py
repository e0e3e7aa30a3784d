"""Figures (plotly trace dicts, matplotlib) and ``result.view()``."""

import json

import numpy as np
import pytest

from fiftyone import ViewField as F

import optimal_confidence
from optimal_confidence import compute_optimal_confidence
from optimal_confidence.plots import curve_data, plotly_figures, threshold_id
from optimal_confidence.curves.sweep import precision_recall_f1

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
    assert best["text"] == [f"F1 = {result.best_f1:.3f}<br>at t = {result.best_threshold:.4g}"]
    assert best["customdata"][0][4:7] == [result.best_tp, result.best_fp, result.best_fn]
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
    (marker,) = [t for t in fig["data"] if t["mode"] == "markers"]
    assert marker["x"] == [result.best_threshold]
    i = result.best_index
    assert marker["customdata"][0][4:7] == [
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


def test_plotly_marks_a_selected_threshold(result, random_dataset):
    t = float(result.thresholds[-2])
    figs = plotly_figures(result, selected=t)
    fig = figs["threshold"]
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [result.best_threshold, t]
    # the dotted line in the legend, before the star (drawn on top, last)
    legend = _trace(fig, f"selected t = {t:.4g}")
    assert legend["line"]["dash"] == "dot" and legend["x"] == [None]
    assert fig["data"][-1]["name"] == "best F1"
    # its point on the PR curve: the counts of the curve at t
    point = _trace(figs["pr"], f"selected t = {t:.4g}")
    i = len(result.thresholds) - 2
    assert point["x"] == [result.recall[i]] and point["y"] == [result.precision[i]]
    assert point["ids"] == [threshold_id(t)]
    # between two swept thresholds of one class: exact from the records,
    # as evaluating the view at that threshold
    label = result.classes[0]
    between = float(np.mean(result.thresholds[3:5]))
    (point,) = [
        p for p in plotly_figures(result, classes=label, selected=between)["pr"]["data"]
        if p["name"].startswith("selected")
    ]
    tp, fp, fn = oracle_counts(
        random_dataset.filter_labels("predictions", F("label") == label, only_matches=False)
        .filter_labels("ground_truth", F("label") == label, only_matches=False),
        "predictions", "ground_truth", between,
    )
    assert point["x"] == [tp / (tp + fn)] and point["y"] == [tp / (tp + fp)]
    json.dumps(figs, allow_nan=False)


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
        assert oracle_counts(ds, "predictions", "ground_truth", t) == tuple(result.counts_at(t))
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


# ---------------------------------------------------------------------------
# Objectives, per-class thresholds, review bands, intervals, classification


def _shapes(fig, name):
    return [s for s in fig["layout"]["shapes"] if s["name"] == name]


def test_plotly_marks_the_point_of_a_precision_target(result):
    strict = result.with_objective("precision", target=0.55)
    # the case worth testing: not the best F1
    assert strict.best_threshold != result.best_threshold
    figs = plotly_figures(strict)
    fig = figs["threshold"]
    marker = fig["data"][-1]
    label = "recall at precision >= 0.55"
    assert marker["name"] == f"best {label}"
    i = int(np.flatnonzero(strict.thresholds == strict.best_threshold)[0])
    # the chosen point: the highest recall among thresholds with precision
    # >= 0.55, found here by a plain scan
    ok = [k for k in range(len(strict.thresholds)) if strict.precision[k] >= 0.55]
    scan = max(ok, key=lambda k: (strict.recall[k], strict.precision[k], -k))
    assert i == scan
    # on the recall curve (what the objective maximizes), labelled with it
    assert marker["x"] == [strict.thresholds[scan]]
    assert marker["y"] == [strict.recall[scan]]
    assert marker["text"] == [
        f"{label} = {strict.recall[scan]:.3f}<br>at t = {strict.thresholds[scan]:.4g}"
    ]
    assert strict.best_score == strict.recall[scan]
    (best,) = _shapes(fig, "best")
    assert best["x0"] == best["x1"] == strict.thresholds[scan]
    # the target as a horizontal line across the plot
    (target,) = _shapes(fig, "target")
    assert (target["y0"], target["y1"], target["xref"]) == (0.55, 0.55, "paper")
    assert "precision target 0.55" in [a["text"] for a in fig["layout"]["annotations"]]
    # PR figure: precision is its y
    pr = figs["pr"]
    assert pr["data"][1]["x"] == [strict.recall[scan]]
    assert pr["data"][1]["y"] == [strict.precision[scan]]
    (pr_target,) = pr["layout"]["shapes"]
    assert (pr_target["y0"], pr_target["y1"]) == (0.55, 0.55)


def test_plotly_recall_target_cost_and_fbeta(result):
    loose = result.with_objective("recall", target=0.5)
    figs = plotly_figures(loose)
    marker = figs["threshold"]["data"][-1]
    i = loose.best_index
    # on the precision curve; the target on the recall axis of the PR plot
    assert marker["y"] == [loose.precision[i]]
    (target,) = _shapes(figs["threshold"], "target")
    assert target["y0"] == 0.5
    (pr_target,) = figs["pr"]["layout"]["shapes"]
    assert (pr_target["x0"], pr_target["x1"], pr_target["yref"]) == (0.5, 0.5, "paper")

    costly = result.with_objective("cost", fn_cost=3)
    marker = plotly_figures(costly)["threshold"]["data"][-1]
    cost = costly.fp + 3 * costly.fn
    k = int(np.argmin(cost))
    assert marker["x"] == [costly.thresholds[k]]
    # a cost is a count, not a rate: no three decimals
    assert marker["text"][0].startswith(f"cost (1 per FP, 3 per FN) = {cost[k]:g}<br>")
    assert not _shapes(plotly_figures(costly)["threshold"], "target")

    f2 = result.with_objective("fbeta", beta=2)
    fig = plotly_figures(f2)["threshold"]
    assert [t["name"] for t in fig["data"]] == ["Precision", "Recall", "F1", "F2", "best F2"]
    tp, fp, fn = (a.astype(float) for a in (f2.tp, f2.fp, f2.fn))
    by_hand = 5 * tp / (5 * tp + 4 * fn + fp)
    np.testing.assert_allclose(_trace(fig, "F2")["y"], by_hand, rtol=1e-12)
    assert fig["data"][-1]["y"] == [by_hand[f2.best_index]]


def test_plotly_per_class_thresholds(random_dataset, result):
    per_class = result.with_objective(per_class=True, min_support=46)
    choices = per_class.class_choices
    assert {ch.own for ch in choices.values()} == {True, False}
    for label, ch in choices.items():
        c = curve_data(per_class, label)
        assert c.best_threshold == ch.threshold
        assert c.score == ch.score
        assert c.best_label == (
            f"{label}'s threshold" if ch.own else f"{label}: global threshold"
        )
    # the operating point of the per-class thresholds, on the PR figure,
    # against evaluating the per-class view
    (op,) = [t for t in plotly_figures(per_class)["pr"]["data"] if t["name"] == "per-class thresholds"]
    tp, fp, fn = oracle_counts(
        per_class.view(random_dataset), "predictions", "ground_truth", -1e9
    )
    assert op["x"] == [tp / (tp + fn)] and op["y"] == [tp / (tp + fp)]
    # not on a single class's figure
    assert len(plotly_figures(per_class, classes=result.classes[0])["pr"]["data"]) == 2


def test_plotly_shades_the_review_band_and_the_interval(result):
    band = result.review_band(0.6, 0.1)
    fig = plotly_figures(result, band=band, selected=0.5)["threshold"]
    assert [s["name"] for s in fig["layout"]["shapes"]] == ["review band", "best", "selected"]
    (rect,) = _shapes(fig, "review band")
    assert (rect["type"], rect["x0"], rect["x1"]) == ("rect", band.t_low, band.t_high)
    assert (rect["y0"], rect["y1"], rect["yref"]) == (0, 1, "paper")
    assert rect["x0"] < rect["x1"]
    assert "review" in [a["text"] for a in fig["layout"]["annotations"]]
    json.dumps(fig, allow_nan=False)
    # an empty band: no label
    t = float(result.thresholds[3])
    empty = plotly_figures(result, band=result.review_band(t_low=t, t_high=t))["threshold"]
    assert [(s["x0"], s["x1"]) for s in _shapes(empty, "review band")] == [(t, t)]
    assert "review" not in [a["text"] for a in empty["layout"]["annotations"]]

    sure = result.with_bootstrap(200, seed=0)
    fig = plotly_figures(sure)["threshold"]
    (ci,) = _shapes(fig, "threshold CI")
    assert (ci["x0"], ci["x1"]) == sure.threshold_ci
    # a class's figure marks another threshold: no interval there
    assert not _shapes(plotly_figures(sure, classes=result.classes[0])["threshold"], "threshold CI")
    assert not _shapes(plotly_figures(sure, show_ci=False)["threshold"], "threshold CI")


def test_plot_curves_marks_the_objective_and_shades_the_band(result):
    strict = result.with_objective("precision", target=0.55).with_bootstrap(50, seed=1)
    band = strict.review_band(0.6, 0.1)
    fig = optimal_confidence.plot_curves(strict, band=band)
    ax_t = fig.axes[0]
    lines = {line.get_label(): line for line in ax_t.get_lines()}
    star = lines["best recall at precision >= 0.55"]
    assert list(star.get_xdata()) == [strict.best_threshold]
    assert list(star.get_ydata()) == [strict.best_recall]
    assert list(lines["precision target 0.55"].get_ydata()) == [0.55, 0.55]
    assert any(f"recall at precision >= 0.55 = {strict.best_score:.3f}" in t.get_text() for t in ax_t.texts)
    patches = {p.get_label(): p for p in ax_t.patches}
    shaded = patches["review band"]
    assert (shaded.get_x(), shaded.get_x() + shaded.get_width()) == pytest.approx(
        (band.t_low, band.t_high), abs=1e-12
    )
    ci = patches["95% interval of the threshold"]
    assert (ci.get_x(), ci.get_x() + ci.get_width()) == pytest.approx(strict.threshold_ci, abs=1e-12)


# -- classification

ANIMALS = ["cat", "dog", "bird"]


def make_classification_dataset(name, num_samples=80, seed=11):
    """Images with a yes/no answer and an animal class, a classifier that is
    right more often when confident; some images without ground truth, some
    without a prediction or confidence."""
    import fiftyone as fo

    rng = np.random.default_rng(seed)

    def answer(truth, choices):
        conf = round(float(rng.uniform(0.3, 1.0)), 2)
        right = rng.random() < conf
        label = truth if right else str(rng.choice([c for c in choices if c != truth]))
        return label, (None if rng.random() < 0.05 else conf)

    samples = []
    for i in range(num_samples):
        s = fo.Sample(filepath=f"/tmp/optimal_confidence_tests/{name}/{i}.jpg")
        if i % 17 != 5:
            yes = str(rng.choice(["yes", "no"], p=[0.4, 0.6]))
            s["answer_gt"] = fo.Classification(label=yes)
            label, conf = answer(yes, ["yes", "no"])
            s["answer"] = fo.Classification(label=label, confidence=conf)
            animal = str(rng.choice(ANIMALS))
            s["animal_gt"] = fo.Classification(label=animal)
            if i % 13 != 3:
                label, conf = answer(animal, ANIMALS)
                s["animal"] = fo.Classification(label=label, confidence=conf)
        samples.append(s)
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(samples, progress=False)
    return ds


def recount_multiclass(ds, t):
    """Coverage and accuracy at ``t``, counted image by image."""
    judged = answered = right = 0
    for gt, pred in zip(*ds.values(["animal_gt", "animal"])):
        if gt is None:
            continue
        judged += 1
        if pred is not None and pred.confidence is not None and pred.confidence >= t:
            answered += 1
            right += pred.label == gt.label
    return answered / judged, (right / answered if answered else 0.0)


@pytest.fixture(scope="module")
def cls_dataset():
    ds = make_classification_dataset("oc-plots-classification")
    yield ds
    ds.delete()


def test_multiclass_plots_accuracy_and_coverage(cls_dataset):
    r = compute_optimal_confidence(
        cls_dataset, "animal", "animal_gt", objective="accuracy", target=0.8, progress=False
    )
    assert r.config.task == "multiclass"
    figs = plotly_figures(r)
    fig = figs["threshold"]
    names = [t["name"] for t in fig["data"]]
    assert names == ["Accuracy", "Coverage", "lowest threshold with accuracy >= 0.8"]
    accuracy, coverage = _trace(fig, "Accuracy"), _trace(fig, "Coverage")
    for k, t in enumerate(accuracy["x"]):
        cov, acc = recount_multiclass(cls_dataset, t)
        assert coverage["y"][k] == pytest.approx(cov, abs=1e-12)
        assert accuracy["y"][k] == pytest.approx(acc, abs=1e-12)
    # the lowest threshold whose automatic answers are 80% right
    first = next(k for k, a in enumerate(accuracy["y"]) if a >= 0.8)
    marker = fig["data"][-1]
    assert marker["x"] == [accuracy["x"][first]] and marker["y"] == [accuracy["y"][first]]
    (target,) = _shapes(fig, "target")
    assert target["y0"] == 0.8
    assert "accuracy target 0.8" in [a["text"] for a in fig["layout"]["annotations"]]
    assert "Accuracy, coverage" in fig["layout"]["title"]["text"]
    assert "coverage" in accuracy["hovertemplate"] + coverage["hovertemplate"]
    # the second figure: accuracy against coverage
    pr = figs["pr"]
    assert pr["data"][0]["x"] == coverage["y"] and pr["data"][0]["y"] == accuracy["y"]
    assert pr["layout"]["xaxis"]["title"]["text"].startswith("coverage")
    json.dumps(figs, allow_nan=False)

    fig = optimal_confidence.plot_curves(r)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "accuracy" in labels and "coverage" in labels and "recall" not in labels

    # a binary question behaves as detection
    yes = compute_optimal_confidence(
        cls_dataset, "answer", "answer_gt", positive_label="yes", progress=False
    )
    assert [t["name"] for t in plotly_figures(yes)["threshold"]["data"]] == [
        "Precision", "Recall", "F1", "best F1"
    ]


def test_the_best_points_label_sits_where_no_curve_runs(result):
    """Precision, recall and F1 meet near the chosen point: its label goes
    to a free spot of the plot, with a line to the point, in both figures."""
    from optimal_confidence.plots.data import LABEL_HEIGHT, LABEL_WIDTH, _crossings, marks

    for r in (result, result.with_objective("precision", target=0.55), result.with_objective("cost", fn_cost=3)):
        m = marks(r)
        x, y = m.label_at
        span = float(r.thresholds[-1] - r.thresholds[0])
        box = (x - LABEL_WIDTH * span / 2, x + LABEL_WIDTH * span / 2, y - LABEL_HEIGHT / 2, y + LABEL_HEIGHT / 2)
        assert _crossings(m.curves, m.keys, box) == 0
        assert not box[0] <= r.best_threshold <= box[1]  # nor the point's dashed line
        fig = plotly_figures(r)["threshold"]
        (label,) = [a for a in fig["layout"]["annotations"] if a.get("name") == "best label"]
        assert (label["ax"], label["ay"]) == (x, y)
        assert (label["x"], label["y"]) == (r.best_threshold, fig["data"][-1]["y"][0])
        assert label["text"] == fig["data"][-1]["text"][0]
        ax_t = optimal_confidence.plot_curves(r).axes[0]
        (text,) = [t for t in ax_t.texts if m.curves.score_text in t.get_text()]
        assert tuple(text.get_position()) == (x, y)
