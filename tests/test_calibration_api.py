"""Calibration through every front end (#12): the result's reliability
diagram and calibrator, the calibrated confidences written to a new field,
storage, the operator, the command line and the panel. The math (bins, ECE
against a recount from evaluate_detections, the maps) is in
test_calibration.py."""

import json

import numpy as np
import pytest

import fiftyone as fo
import fiftyone.operators as foo

import optimal_confidence as oc

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.__main__ import main

from helpers import snapshot

URI = "@threshold-lab/optimal_confidence/optimal_confidence"


def _drop(dataset, *fields):
    dataset.reload()
    for f in fields:
        if dataset.has_field(f):
            dataset.delete_sample_field(f)


def test_fitted_on_train_the_ece_drops_on_val(demo_dataset):
    """The demo's split: the calibrator fitted on `train`, written to a new
    field, measured on `val` (the figures of the closing note)."""
    train = compute_optimal_confidence(demo_dataset.match_tags("train"), "predictions", progress=False)
    before = compute_optimal_confidence(demo_dataset.match_tags("val"), "predictions", progress=False)
    labels = snapshot(demo_dataset)
    try:
        for method in ("isotonic", "sigmoid"):
            cal = train.fit_calibrator(method)
            n = cal.apply(demo_dataset, "predictions", f"oc_cal_{method}")
            assert n == demo_dataset.count("predictions.detections")
            after = compute_optimal_confidence(
                demo_dataset.match_tags("val"), f"oc_cal_{method}", progress=False
            )
            ece_before, ece_after = before.calibration().ece, after.calibration().ece
            print(f"{method}: val ECE {ece_before:.4f} -> {ece_after:.4f}")
            assert ece_after < 0.6 * ece_before
            # the same boxes and matches: only the confidences moved, monotonely per class
            assert (after.records.pred_tp == before.records.pred_tp).all()
        # the predictions themselves are untouched
        demo_dataset.reload()
        assert snapshot(demo_dataset)["labels"]["predictions"] == labels["labels"]["predictions"]
    finally:
        _drop(demo_dataset, "oc_cal_isotonic", "oc_cal_sigmoid")


def test_a_new_field_only(demo_dataset):
    cal = compute_optimal_confidence(demo_dataset, "predictions", progress=False).fit_calibrator()
    with pytest.raises(ValueError, match="labels are never changed"):
        cal.apply(demo_dataset, "predictions", "predictions", overwrite=True)
    with pytest.raises(ValueError, match="already has a field 'baseline'"):
        cal.apply(demo_dataset, "predictions", "baseline")
    # overwrite replaces calibrated confidences only, never another field
    for other in ("baseline", "ground_truth"):
        with pytest.raises(ValueError, match=f"Field '{other}' .* was not written by a calibrator"):
            cal.apply(demo_dataset, "predictions", other, overwrite=True)
    with pytest.raises(ValueError, match="out_field must be a field name"):
        cal.apply(demo_dataset, "predictions", "_private")
    with pytest.raises(ValueError, match="is not a Detections, Polylines or Classification field"):
        cal.apply(demo_dataset, "filepath", "x")
    try:
        cal.apply(demo_dataset.limit(5), "predictions", "oc_cal_new")
        first = demo_dataset.first()
        assert [d.confidence for d in first.oc_cal_new.detections] == pytest.approx(
            cal.predict([d.confidence for d in first.predictions.detections],
                        [d.label for d in first.predictions.detections]).tolist()
        )
        assert demo_dataset.skip(5).count("oc_cal_new") == 0  # a view: its samples only
        assert demo_dataset.get_field("oc_cal_new").info == {
            "optimal_confidence_calibrated_from": "predictions"
        }
        cal.apply(demo_dataset.skip(5), "predictions", "oc_cal_new", overwrite=True)
        assert demo_dataset.count("oc_cal_new.detections") == demo_dataset.count("predictions.detections")
    finally:
        _drop(demo_dataset, "oc_cal_new")


def test_video_frames_get_a_new_frame_field(video_dataset):
    r = compute_optimal_confidence(video_dataset, "frames.pred", "frames.gt", progress=False)
    cal = r.fit_calibrator("sigmoid", per_class=False)
    try:
        n = cal.apply(video_dataset, "frames.pred", "frames.pred_cal")
        assert n == int(np.isfinite(r.records.pred_conf).sum())
        confs = video_dataset.values("frames.pred_cal.detections.confidence", unwind=True)
        raw = video_dataset.values("frames.pred.detections.confidence", unwind=True)
        assert [c is None for c in confs] == [c is None for c in raw]
        ok = [c for c in raw if c is not None]
        assert [c for c in confs if c is not None] == pytest.approx(cal.predict(ok).tolist())
    finally:
        video_dataset.reload()
        if video_dataset.has_frame_field("pred_cal"):
            video_dataset.delete_frame_field("pred_cal")


def test_stored_with_the_run_and_written_by_the_operator(demo_dataset):
    params = dict(
        pred_field="predictions", calibrate="isotonic", calibrated_field="oc_op_cal",
        show_calibration=True, run_key="oc_cal_run",
    )
    try:
        out = foo.execute_operator(URI, ctx=dict(view=demo_dataset.view(), params=params)).result
        assert out["calibrated_field"] == "oc_op_cal"
        loaded = load_optimal_confidence(demo_dataset, "oc_cal_run")
        direct = compute_optimal_confidence(demo_dataset, "predictions", calibrate="isotonic", progress=False)
        conf = np.linspace(0, 1, 21)
        assert loaded.calibrator.predict(conf).tolist() == direct.calibrator.predict(conf).tolist()
        assert "ECE" in out["summary"] and out["ece"] == direct.calibration().ece
        demo_dataset.reload()
        assert demo_dataset.count("oc_op_cal.detections") == demo_dataset.count("predictions.detections")
        # again: the field exists, so nothing runs and nothing is stored
        before = snapshot(demo_dataset)
        with pytest.raises(Exception, match="already has a field 'oc_op_cal'"):
            foo.execute_operator(
                URI, ctx=dict(view=demo_dataset.view(), params={**params, "run_key": "oc_cal_run2"})
            ).raise_exceptions()
        assert snapshot(demo_dataset) == before
    finally:
        if "oc_cal_run" in demo_dataset.list_runs():
            demo_dataset.delete_run("oc_cal_run")
        _drop(demo_dataset, "oc_op_cal")


def test_the_command_line_prints_the_reliability_diagram(random_dataset, capsys):
    code = main(["--dataset", random_dataset.name, "--pred", "predictions", "--calibration", "--json"])
    printed = json.loads(capsys.readouterr().out)
    cal = compute_optimal_confidence(random_dataset, "predictions", progress=False).calibration()
    assert code == 0 and printed["calibration"] == json.loads(json.dumps(cal.to_dict()))
    code = main(["--dataset", random_dataset.name, "--pred", "predictions", "--calibration"])
    out = capsys.readouterr().out
    assert code == 0 and f"ECE {cal.ece:.4f} over {cal.num_predictions:,} predictions" in out
    assert out.count("\n  [0.") == 10  # one row per bin
    # logits have no calibration to measure: refused before anything is stored
    before = snapshot(random_dataset)
    code = main([
        "--dataset", random_dataset.name, "--pred", "logits", "--calibration", "--save-run", "oc_logits",
    ])
    err = capsys.readouterr().err
    assert code == 2 and "calibration needs confidences in [0, 1]; these range from -8.8" in err
    assert snapshot(random_dataset) == before


def test_a_classifier_is_calibrated_by_its_answers():
    ds = fo.Dataset("oc-cal-classifier")
    try:
        rng = np.random.default_rng(3)
        for i in range(200):
            truth = str(rng.choice(["a", "b", "c"]))
            conf = float(rng.uniform(0.34, 1))
            right = rng.random() < conf ** 2  # over-confident
            label = truth if right else str(rng.choice([x for x in "abc" if x != truth]))
            ds.add_sample(fo.Sample(
                filepath=f"/tmp/oc-cal/{i}.jpg",
                gt=fo.Classification(label=truth),
                pred=fo.Classification(label=label, confidence=conf),
            ))
        r = compute_optimal_confidence(ds, "pred", "gt", progress=False)
        cal = r.calibration(5)
        right = np.array(ds.values("pred.label")) == np.array(ds.values("gt.label"))
        conf = np.array(ds.values("pred.confidence"))
        b = np.clip((conf * 5).astype(int), 0, 4)
        for k in range(5):
            if (b == k).any():
                assert cal.precision[k] == pytest.approx(right[b == k].mean())
                assert cal.mean_confidence[k] == pytest.approx(conf[b == k].mean())
        assert cal.mean_confidence[cal.count > 0].mean() > cal.precision[cal.count > 0].mean()
    finally:
        ds.delete()


def test_a_binary_classifier_is_calibrated_by_its_positive_score(tmp_path):
    ds = fo.Dataset("oc-cal-binary")
    try:
        rng = np.random.default_rng(4)
        for i in range(300):
            truth = str(rng.choice(["yes", "no"]))
            conf = float(rng.uniform(0.5, 1))
            right = rng.random() < conf ** 3  # over-confident
            label = truth if right else ("no" if truth == "yes" else "yes")
            ds.add_sample(fo.Sample(
                filepath=f"/tmp/oc-cal-bin/{i}.jpg",
                gt=fo.Classification(label=truth),
                pred=fo.Classification(label=label, confidence=conf),
            ))
        r = compute_optimal_confidence(ds, "pred", "gt", positive_label="yes", progress=False)
        cal = r.fit_calibrator(per_class=False)
        assert cal.positive_label == "yes"
        assert type(cal).from_dict(json.loads(json.dumps(cal.to_dict()))).positive_label == "yes"
        cal.apply(ds, "pred", "pred_cal")
        labels, conf = ds.values("pred.label"), np.array(ds.values("pred.confidence"))
        score = np.where(np.array(labels) == "yes", conf, 1 - conf)
        new = np.array(ds.values("pred_cal.confidence"))
        # each answer keeps its label; its positive score is the calibrated one
        assert ds.values("pred_cal.label") == labels
        np.testing.assert_allclose(np.where(np.array(labels) == "yes", new, 1 - new), cal.predict(score))
        # swept again, the calibrated field is better calibrated
        again = compute_optimal_confidence(ds, "pred_cal", "gt", positive_label="yes", progress=False)
        assert again.calibration().ece < 0.5 * r.calibration().ece
        # deployed: the answers that call the image positive at the threshold
        config = r.deployment_config()
        assert (config["task"], config["positive_label"]) == ("binary", "yes")
        kept = oc.apply_thresholds(list(zip(labels, conf)), config)
        assert len(kept) == r.best_tp + r.best_fp
        assert all((c if l == "yes" else 1 - c) >= r.best_threshold for l, c in kept)
        assert r.view(ds).count("pred") == r.best_tp + r.best_fp
        path = r.export(tmp_path / "binary.json")
        assert oc.apply_thresholds(list(zip(labels, conf)), path) == kept
        path = r.export(tmp_path / "binary.yaml", "ultralytics")
        assert oc.apply_thresholds(list(zip(labels, conf)), path) == kept
        with pytest.raises(ValueError, match="names no positive_label"):
            oc.apply_thresholds(kept, {**config, "positive_label": None})
        # a precision guarantee bounds the wrong answers among the positive calls
        g = compute_optimal_confidence(
            ds, "pred", "gt", positive_label="yes", objective="precision", target=0.8,
            guarantee=0.9, progress=False,
        ).guarantee
        assert g.metric == "share of wrong answers among those kept" and g.precision >= 0.8
        # overwrite replaces calibrated confidences of the same label type only
        cal.apply(ds, "pred", "pred_cal", overwrite=True)
        sample = ds.first()
        sample["old"] = fo.Detections()
        sample.save()
        field = ds.get_field("old")
        field.info = {"optimal_confidence_calibrated_from": "boxes"}
        field.save()
        # a field that only says a calibrator wrote it is not one (the
        # package marks what it writes: tests/test_writes.py)
        with pytest.raises(ValueError, match="'old' of dataset .* was not written by a calibrator"):
            cal.apply(ds, "pred", "old", overwrite=True)
    finally:
        ds.delete()
