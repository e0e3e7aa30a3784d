"""The Python API: results, stored runs, bad input, and nothing lost."""

import json

import numpy as np
import pytest

import fiftyone as fo

from optimal_confidence import (
    OptimalConfidenceResult,
    compute_optimal_confidence,
    list_optimal_confidence_runs,
    load_optimal_confidence,
    suggest_run_key,
)
from helpers import make_random_dataset, snapshot


@pytest.fixture(scope="module")
def result(random_dataset):
    return compute_optimal_confidence(random_dataset, "predictions")


@pytest.fixture
def fresh_dataset():
    ds = make_random_dataset("oc-fresh", num_samples=25, seed=11)
    ds.add_sample_field("notes", fo.StringField)
    ds.add_sample_field("classification", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification)
    sample = ds.first()
    sample["classification"] = fo.Classification(label="x", confidence=0.3)
    sample["notes"] = "keep me"
    sample.save()
    yield ds
    ds.delete()


def test_result_arrays_are_aligned_and_the_best_point_is_the_argmax(result):
    n = result.num_thresholds
    for name in ("thresholds", "tp", "fp", "fn", "precision", "recall", "f1"):
        assert getattr(result, name).shape == (n,), name
    assert np.all(np.diff(result.thresholds) > 0)
    i = result.best_index
    assert result.best_f1 == pytest.approx(result.f1.max())
    assert result.best_threshold == result.thresholds[i]
    tp, fp, fn = result.best_tp, result.best_fp, result.best_fn
    assert result.best_precision == pytest.approx(tp / (tp + fp))
    assert result.best_recall == pytest.approx(tp / (tp + fn))
    assert result.best_f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_metrics_are_plain_numbers(result):
    m = result.metrics()
    assert set(m) == {
        "best_threshold", "best_f1", "precision", "recall",
        "tp", "fp", "fn", "num_thresholds", "run_key", "objective", "score", "ece", "laece",
    }
    assert m["objective"] == "F1" and m["score"] == m["best_f1"]
    assert m["ece"] == result.calibration().ece  # the confidences are in [0, 1]
    assert m["laece"] == result.calibration().laece.value  # at the chosen threshold
    for k in ("best_threshold", "best_f1", "precision", "recall", "score", "ece", "laece"):
        assert type(m[k]) is float
    for k in ("tp", "fp", "fn", "num_thresholds"):
        assert type(m[k]) is int
    json.dumps(m)


def test_class_counts_add_up_to_the_totals(result, random_dataset):
    per_class = result.class_counts()
    assert set(per_class) == set(random_dataset.distinct("ground_truth.detections.label"))
    for k, total in zip(("tp", "fp", "fn"), (result.tp, result.fp, result.fn)):
        np.testing.assert_array_equal(sum(getattr(c, k) for c in per_class.values()), total)


def test_one_class_equals_a_sweep_restricted_to_that_class(result, random_dataset):
    from fiftyone import ViewField as F

    view = random_dataset.filter_labels(
        "predictions", F("label") == "dog", only_matches=False
    ).filter_labels("ground_truth", F("label") == "dog", only_matches=False)
    dog = compute_optimal_confidence(view, "predictions")
    counts = result.counts_at(dog.thresholds)
    per_class = result.records.restrict_to_class("dog")
    from optimal_confidence.curves.sweep import count_at

    c = count_at(per_class, dog.thresholds)
    np.testing.assert_array_equal(c.tp, dog.tp)
    np.testing.assert_array_equal(c.fp, dog.fp)
    np.testing.assert_array_equal(c.fn, dog.fn)
    assert np.all(counts.tp >= c.tp)


def test_to_dict_round_trips_through_json(result):
    d = json.loads(json.dumps(result.to_dict()))
    again = OptimalConfidenceResult.from_dict(d)
    assert again.config == result.config
    np.testing.assert_array_equal(again.thresholds, result.thresholds)
    np.testing.assert_array_equal(again.f1, result.f1)
    assert again.best_threshold == result.best_threshold
    with pytest.raises(ValueError, match="format version"):
        OptimalConfidenceResult.from_dict({**d, "format_version": 99})


def test_packed_dict_round_trips_every_array_exactly(result):
    from optimal_confidence.curves.packed import is_packed

    d = json.loads(json.dumps(result.to_dict(packed=True)))
    assert d["format_version"] == 2
    assert is_packed(d["thresholds"]) and is_packed(d["records"]["pred_sample"])
    again = OptimalConfidenceResult.from_dict(d)
    for name in ("thresholds", "tp", "fp", "fn"):
        np.testing.assert_array_equal(getattr(again, name), getattr(result, name))
    for name in ("pred_conf", "pred_tp", "pred_class", "pred_sample", "gt_conf", "gt_class", "gt_sample", "pred_iou"):
        a, b = getattr(again.records, name), getattr(result.records, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)  # NaNs in the same places
    assert np.isnan(result.records.gt_conf).any()  # (the NaNs are exercised)
    # the same result as the plain lists, packed or not
    assert OptimalConfidenceResult.from_dict(result.to_dict()).best_threshold == again.best_threshold


def test_pack_and_unpack():
    from optimal_confidence.curves.packed import pack, unpack

    floats = np.array([0.5, np.nan, -0.0, 1e-300, np.inf])
    back = unpack(json.loads(json.dumps(pack(floats, np.float64))), np.float64)
    np.testing.assert_array_equal(back, floats)
    assert back.flags.writeable and np.signbit(back[2])
    ints = np.array([-(2**62), 0, 7, 2**62])
    np.testing.assert_array_equal(unpack(pack(ints, np.int64), np.int64), ints)
    np.testing.assert_array_equal(unpack(pack([True, False, True], bool), bool), [True, False, True])
    assert unpack(pack([], np.float64), np.float64).shape == (0,)
    # plain lists, as to_dict() writes them and older runs hold them
    np.testing.assert_array_equal(unpack([0.5, None], np.float64), [0.5, np.nan])
    np.testing.assert_array_equal(unpack([1, 2], np.int64), [1, 2])
    with pytest.raises(ValueError, match="holds 3 values where 4 were stored"):
        unpack({**pack(ints[:3], np.int64), "size": 4}, np.int64)
    with pytest.raises(ValueError, match="Cannot pack"):
        pack(["a"], object)


def test_report_shows_the_best_row(result):
    text = result.report(num_rows=2)
    assert f"{result.best_threshold:.3f}" in text
    assert sum(line.startswith("*") for line in text.splitlines()) == 1
    assert f"TP {result.best_tp}" in text


def test_report_shows_enough_decimals_to_tell_thresholds_apart():
    from optimal_confidence.outputs.reports import decimals as _decimals

    assert _decimals(np.array([0.5, 0.51, 0.516])) == 3
    assert _decimals(np.array([0.5161, 0.5163, 0.6])) == 4
    assert _decimals(np.array([-3.2, 1e-7, 2e-7])) == 7


def test_config_records_what_was_run(random_dataset):
    r = compute_optimal_confidence(random_dataset, "predictions", iou=0.6, classwise=False, upper_bound=0.8)
    c = r.config
    assert (c.pred_field, c.gt_field, c.iou, c.classwise) == ("predictions", "ground_truth", 0.6, False)
    assert c.lower_bound == min(random_dataset.distinct("predictions.detections.confidence"))
    assert c.upper_bound == 0.8 and r.thresholds[-1] <= 0.8
    assert c.num_samples == len(random_dataset) and c.num_thresholds is None


def test_store_load_and_refuse_to_overwrite(fresh_dataset):
    ds = fresh_dataset
    assert suggest_run_key(ds) == "optimal_confidence"
    r = compute_optimal_confidence(ds, "predictions", run_key="optimal_confidence")
    assert r.run_key == "optimal_confidence"
    assert suggest_run_key(ds) == "optimal_confidence_2"

    # stored packed (format 2): strings, not a JSON number per value
    stored = ds.load_run_results("optimal_confidence", cache=False).result
    assert stored["format_version"] == 2 and isinstance(stored["records"]["gt_sample"]["data"], str)
    loaded = load_optimal_confidence(ds, "optimal_confidence")
    np.testing.assert_array_equal(loaded.thresholds, r.thresholds)
    np.testing.assert_array_equal(loaded.records.pred_conf, r.records.pred_conf)
    np.testing.assert_array_equal(loaded.fn, r.fn)
    assert loaded.config == r.config and loaded.run_key == "optimal_confidence"
    assert loaded.class_counts().keys() == r.class_counts().keys()

    before = snapshot(ds)
    with pytest.raises(ValueError, match="already has a run 'optimal_confidence'.*overwrite=True"):
        compute_optimal_confidence(ds, "predictions", iou=0.9, run_key="optimal_confidence")
    assert snapshot(ds) == before
    assert load_optimal_confidence(ds, "optimal_confidence").config.iou == 0.5

    compute_optimal_confidence(ds, "predictions", iou=0.9, run_key="optimal_confidence", overwrite=True)
    assert load_optimal_confidence(ds, "optimal_confidence").config.iou == 0.9

    compute_optimal_confidence(ds, "predictions", run_key="second")
    assert list_optimal_confidence_runs(ds) == ["second", "optimal_confidence"]
    # the run remembers the view it was computed on
    assert len(ds.load_run_view("second")) == len(ds)


def test_loading_a_run_that_is_not_ours_is_refused(fresh_dataset):
    ds = fresh_dataset
    ds.register_run("someone_else", ds.init_run(method="other_tool"))
    with pytest.raises(ValueError, match="not stored by optimal_confidence"):
        load_optimal_confidence(ds, "someone_else")
    with pytest.raises(ValueError, match="has no run 'missing'"):
        load_optimal_confidence(ds, "missing")
    with pytest.raises(ValueError, match="already has a run 'someone_else'"):
        compute_optimal_confidence(ds, "predictions", run_key="someone_else")


def test_nothing_lost(fresh_dataset):
    ds = fresh_dataset
    ds.evaluate_detections("predictions", eval_key="eval")  # the user's own
    before = snapshot(ds)
    compute_optimal_confidence(ds, "predictions", run_key="oc")
    compute_optimal_confidence(ds, "logits", iou=0.7, classwise=False)
    after = snapshot(ds)
    assert after["runs"] == before["runs"] + ["oc"]
    after["runs"] = before["runs"]
    assert after == before
    assert ds.list_evaluations() == ["eval"]


BAD_INPUT = [
    (dict(pred_field="nope"), "pred_field 'nope' does not exist.*Fields with Detections, Polylines or Classification: \\['classification', 'ground_truth', 'logits', 'predictions'\\]"),
    (dict(pred_field="predictions", gt_field="nope"), "gt_field 'nope' does not exist"),
    (dict(pred_field="notes"), "pred_field 'notes' holds StringField; optimal_confidence needs a Detections, Polylines or Classification field"),
    (dict(pred_field="classification"), "'classification' holds Classification but gt_field 'ground_truth' holds Detections; both must be the same label type"),
    (dict(pred_field="predictions", positive_label="cat"), "positive_label applies to Classification fields"),
    (dict(pred_field="predictions", gt_field="predictions"), "both 'predictions'"),
    (dict(pred_field="predictions", lower_bound=0.8, upper_bound=0.2), "lower_bound \\(0.8\\) must be below upper_bound \\(0.2\\)"),
    (dict(pred_field="predictions", lower_bound=0.5, upper_bound=0.5), "must be below"),
    (dict(pred_field="predictions", lower_bound=5.0), "above the largest confidence"),
    (dict(pred_field="predictions", lower_bound=0.96, upper_bound=0.99), "No prediction confidence lies within"),
    (dict(pred_field="predictions", num_thresholds=0), "num_thresholds must be at least 1"),
    (dict(pred_field="predictions", num_thresholds=2.5), "num_thresholds must be an integer"),
    (dict(pred_field="predictions", iou=0), "iou must be in \\(0, 1\\]; got 0"),
    (dict(pred_field="predictions", iou=1.5), "iou must be in \\(0, 1\\]; got 1.5"),
    (dict(pred_field="predictions", iou="high"), "iou must be a number"),
    (dict(pred_field="predictions", lower_bound=float("nan")), "lower_bound must be finite"),
    (dict(pred_field="predictions", run_key="not valid"), "Invalid run key 'not valid'"),
    (dict(pred_field="predictions", run_key="3d"), "Invalid run key"),
]


@pytest.mark.parametrize("kwargs, message", BAD_INPUT)
def test_bad_input_is_refused_and_the_dataset_untouched(fresh_dataset, kwargs, message):
    before = snapshot(fresh_dataset)
    with pytest.raises(ValueError, match=message):
        compute_optimal_confidence(fresh_dataset, run_key=kwargs.pop("run_key", "oc"), **kwargs)
    assert snapshot(fresh_dataset) == before


def test_bad_views_are_refused(fresh_dataset):
    from fiftyone import ViewField as F

    ds = fresh_dataset
    cases = [
        (ds.limit(0), "The view is empty"),
        (ds.filter_labels("predictions", F("label") == "zebra", only_matches=False), "no predictions in 'predictions'"),
        (ds.set_field("predictions.detections.confidence", None), "has a confidence"),
        (ds.filter_labels("ground_truth", F("label") == "zebra", only_matches=False), "no ground truth objects"),
    ]
    before = snapshot(ds)
    for view, message in cases:
        with pytest.raises(ValueError, match=message):
            compute_optimal_confidence(view, "predictions", run_key="oc")
    assert snapshot(ds) == before
    with pytest.raises(ValueError, match="must be a FiftyOne dataset or view"):
        compute_optimal_confidence([1, 2], "predictions")


def test_video_field_without_frames_prefix_is_explained(video_dataset):
    with pytest.raises(ValueError, match="pass 'frames.pred'"):
        compute_optimal_confidence(video_dataset, "pred", "frames.gt")


def test_engine_choice_and_progress(random_dataset):
    with pytest.raises(ValueError, match="engine must be 'auto', 'fast' or 'fiftyone'"):
        compute_optimal_confidence(random_dataset, "predictions", engine="quick")

    calls = []
    fast = compute_optimal_confidence(
        random_dataset, "predictions", engine="fast", progress=lambda pb: calls.append((pb.iteration, pb.total))
    )
    assert fast.config.method == "fast"
    assert calls and calls[-1] == (len(random_dataset), len(random_dataset))

    # fo.report_progress keeps state on the bar it is given
    import fiftyone as fo

    seen = []
    compute_optimal_confidence(
        random_dataset, "predictions", progress=fo.report_progress(lambda pb: seen.append(pb.progress), dt=0.0)
    )
    assert seen and seen[-1] == 1.0
