"""Bad input is refused before anything is written, on every front end;
what FiftyOne's evaluation counts its own way is followed or refused; a
stale evaluation is not reused; per-class views hold with many classes."""

import numpy as np
import pytest

import fiftyone as fo
import fiftyone.operators as foo

from optimal_confidence import compute_optimal_confidence
from optimal_confidence.cli import main

from helpers import make_random_dataset, oracle_counts, snapshot
from test_operator import URI, _form


@pytest.fixture(scope="module")
def ds():
    dataset = make_random_dataset("oc-refusals", num_samples=20, seed=12)
    yield dataset
    dataset.delete()


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the command line: exit 2, one line, nothing written


def test_cli_refuses_before_writing_anything(ds, capsys, tmp_path):
    runs = ds.list_runs()
    cases = [
        (["--use-masks"], "no object of 'predictions' has an instance mask"),
        (["--objective", "fbeta", "--beta", "1e300"], "beta must be in (0, 1000]"),
        (["--save-run", "k", "--plot", "/proc/oc/curves.png"], "--plot /proc/oc/curves.png: cannot write it"),
        (["--num-thresholds", str(10**9)], "--num-thresholds must be at least 1 and at most 1,000,000"),
        (["--bootstrap", str(10**9)], "--bootstrap must be at least 1 and at most 100,000"),
        (["--bootstrap", "10", "--seed", "-1"], "seed must be at least 0"),
    ]
    for argv, fragment in cases:
        code, out, err = _cli(capsys, "--dataset", ds.name, *argv)
        assert (code, out) == (2, ""), (argv, err)
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert fragment in err, err
    ds.reload()
    assert ds.list_runs() == runs


def test_cli_demo_with_no_samples_builds_nothing(capsys):
    from optimal_confidence.demo import DEMO_DATASET_NAME

    existed = fo.dataset_exists(DEMO_DATASET_NAME)
    code, out, err = _cli(capsys, "--demo", "--demo-samples", "0")
    assert code == 2 and "--demo-samples must be at least 1" in err
    assert fo.dataset_exists(DEMO_DATASET_NAME) == existed


def test_numbers_too_large_for_memory_are_refused_with_the_reason(ds):
    with pytest.raises(ValueError, match="cannot show more than the exact sweep"):
        compute_optimal_confidence(ds, "predictions", num_thresholds=10**9)
    with pytest.raises(ValueError, match="resample sweeps every image again"):
        compute_optimal_confidence(ds, "predictions", n_bootstrap=10**9)
    props = _form(ds, {"pred_field": "predictions", "show_uncertainty": True, "n_bootstrap": 10**9})
    assert props["n_bootstrap"].invalid and "100,000" in props["n_bootstrap"].error_message


def test_an_upper_bound_below_every_confidence_names_the_upper_bound(ds):
    with pytest.raises(ValueError) as e:
        compute_optimal_confidence(ds, "predictions", upper_bound=-5.0)
    assert e.value.option == "upper_bound"
    assert str(e.value).startswith("upper_bound (-5.0) is below the smallest confidence")


# -- the form


def test_the_form_with_a_ground_truth_the_view_excludes(ds):
    view = ds.exclude_fields("ground_truth")
    props = _form(
        ds, {"gt_field": "ground_truth", "pred_field": "predictions", "view_target": "CURRENT_VIEW"}, view=view
    )
    assert props["gt_field"].invalid
    assert props["gt_field"].error_message == (
        "'ground_truth' is not a label field of the chosen target; choose one of ['logits', 'predictions']"
    )


def test_reusing_an_evaluation_takes_its_iou_and_classwise(ds):
    ds.evaluate_detections("predictions", gt_field="ground_truth", eval_key="oc_loose", iou=0.7, classwise=False)
    try:
        params = {"pred_field": "predictions", "eval_key": "oc_loose", "iou": 0.5, "classwise": True, "run_key": "reused"}
        props = _form(ds, params)
        assert not any(p.invalid for p in props.values())
        assert "iou" not in props and "classwise" not in props  # the evaluation's
        out = foo.execute_operator(URI, ctx=dict(view=ds.view(), params=params)).result
        expected = compute_optimal_confidence(ds, "predictions", iou=0.7, classwise=False)
        assert out["best_threshold"] == expected.best_threshold
        assert (out["tp"], out["fp"], out["fn"]) == (expected.best_tp, expected.best_fp, expected.best_fn)
    finally:
        ds.delete_evaluation("oc_loose")
        if "reused" in ds.list_runs():
            ds.delete_run("reused")


# -- what FiftyOne's evaluation counts its own way


def _one_image_dataset(name, gts, preds):
    dataset = fo.Dataset(name, overwrite=True)
    dataset.add_sample(
        fo.Sample(
            filepath=f"/tmp/optimal_confidence_tests/{name}.jpg",
            ground_truth=fo.Detections(detections=gts),
            predictions=fo.Detections(detections=preds),
        )
    )
    return dataset


def test_labels_that_are_none_are_refused(capsys):
    dataset = _one_image_dataset(
        "oc-none-labels",
        [fo.Detection(label=None, bounding_box=[0.1, 0.1, 0.3, 0.3])],
        [fo.Detection(label=None, bounding_box=[0.1, 0.1, 0.3, 0.3], confidence=0.9)],
    )
    try:
        before = snapshot(dataset)
        with pytest.raises(ValueError, match=r"1 of the 1 objects in 'predictions' have no label \(None\)"):
            compute_optimal_confidence(dataset, "predictions", run_key="none")
        code, _, err = _cli(capsys, "--dataset", dataset.name)
        assert code == 2 and "have no label (None)" in err
        assert snapshot(dataset) == before
    finally:
        dataset.delete()


@pytest.mark.parametrize(
    "box", [[0.1, 0.1, float("nan"), 0.2], [0.1, 0.1, -0.2, 0.3], [0.1, 0.1, float("inf"), 0.2]]
)
def test_malformed_boxes_are_refused_on_every_engine(box):
    dataset = _one_image_dataset(
        "oc-bad-box",
        [fo.Detection(label="a", bounding_box=box)],
        [fo.Detection(label="a", bounding_box=[0.1, 0.1, 0.2, 0.2], confidence=0.5)],
    )
    try:
        sample_id = dataset.first().id
        for engine in ("fast", "fiftyone"):
            with pytest.raises(ValueError) as e:
                compute_optimal_confidence(dataset, "predictions", engine=engine, run_key="bad")
            message = str(e.value)
            assert "'ground_truth' has a malformed bounding box" in message, engine
            assert sample_id in message and (str(box[2]) in message or "nan" in message), message
        assert dataset.list_runs() == []
    finally:
        dataset.delete()


def test_a_crowd_attribute_set_to_none_is_no_crowd_as_for_fiftyone():
    crowd = fo.Detection(
        label="a", bounding_box=[0.1, 0.1, 0.4, 0.4], attributes={"iscrowd": fo.Attribute(value=True)}
    )
    crowd["iscrowd"] = None  # FiftyOne reads this, and stops there
    preds = [
        fo.Detection(label="a", bounding_box=[0.1, 0.1, 0.2, 0.2], confidence=0.9),
        fo.Detection(label="a", bounding_box=[0.12, 0.12, 0.2, 0.2], confidence=0.8),
    ]
    dataset = _one_image_dataset("oc-crowd-none", [crowd], preds)
    try:
        result = compute_optimal_confidence(dataset, "predictions", iou=0.2)
        for t in (0.8, 0.9):
            assert tuple(result.counts_at(t)) == oracle_counts(dataset, "predictions", "ground_truth", t, iou=0.2)
        assert tuple(result.counts_at(0.8)) == (1, 1, 0)  # one match: not a crowd
        with pytest.raises(ValueError, match="engine='fast' does not cover this field"):
            compute_optimal_confidence(dataset, "predictions", iou=0.2, engine="fast")
    finally:
        dataset.delete()


def test_an_evaluation_with_confidences_edited_since_is_not_reused():
    """Two predictions compete for one object in each of 20 images; the
    confidences are swapped after the evaluation."""
    dataset = fo.Dataset("oc-stale-eval", overwrite=True)
    for i in range(20):
        gt = fo.Detection(label="a", bounding_box=[0.1, 0.1, 0.4, 0.4])
        good = fo.Detection(label="a", bounding_box=[0.1, 0.1, 0.4, 0.4], confidence=0.95)
        worse = fo.Detection(label="a", bounding_box=[0.12, 0.12, 0.4, 0.4], confidence=0.5)
        dataset.add_sample(
            fo.Sample(
                filepath=f"/tmp/optimal_confidence_tests/stale/{i}.jpg",
                ground_truth=fo.Detections(detections=[gt]),
                predictions=fo.Detections(detections=[good, worse]),
            )
        )
    try:
        dataset.evaluate_detections("predictions", eval_key="oc_eval")
        fresh = compute_optimal_confidence(dataset, "predictions", eval_key="oc_eval")
        assert tuple(fresh.counts_at(0.9)) == (20, 0, 0)
        # swap: the worse box is now the confident one
        for sample in dataset:
            good, worse = sample.predictions.detections
            good.confidence, worse.confidence = 0.5, 0.95
            sample.save()
        assert oracle_counts(dataset, "predictions", "ground_truth", 0.9) == (20, 0, 0)
        with pytest.raises(ValueError, match="Evaluation 'oc_eval' does not fit the current confidences"):
            compute_optimal_confidence(dataset, "predictions", eval_key="oc_eval")
        # matching again gives FiftyOne's answer
        again = compute_optimal_confidence(dataset, "predictions")
        assert tuple(again.counts_at(0.9)) == (20, 0, 0)
    finally:
        dataset.delete()


# -- many classes


def test_per_class_views_hold_with_1500_classes(tmp_path):
    rng = np.random.default_rng(0)
    dataset = fo.Dataset("oc-many-classes", overwrite=True)
    samples = []
    for i in range(300):
        dets, preds = [], []
        for k in range(5):
            label = f"c{(5 * i + k) % 1500}"
            box = [float(x) for x in rng.uniform(0, 0.5, 2)] + [0.3, 0.3]
            dets.append(fo.Detection(label=label, bounding_box=box))
            preds.append(fo.Detection(label=label, bounding_box=box, confidence=round(float(rng.uniform()), 2)))
        samples.append(fo.Sample(
            filepath=f"/tmp/optimal_confidence_tests/many/{i}.jpg",
            ground_truth=fo.Detections(detections=dets),
            predictions=fo.Detections(detections=preds),
        ))
    dataset.add_samples(samples)
    try:
        result = compute_optimal_confidence(dataset, "predictions", per_class=True)
        assert len(result.classes) == 1500
        view = result.view(dataset)
        kept = view.count("predictions.detections")
        c = result.operating_counts()
        assert kept == c.tp + c.fp
        for d in view.values("predictions.detections", unwind=True)[:200]:
            assert d.confidence >= result.class_thresholds[d.label]
        dataset.save_view("per_class", view)
        assert dataset.load_saved_view("per_class").count("predictions.detections") == kept
    finally:
        dataset.delete()
