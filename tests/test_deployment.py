"""Models compared at operating points, FiftyOne's evaluation at the chosen
threshold, and the operating point carried to deployment (#13)."""

import json
import os
import uuid

import numpy as np
import pytest
import yaml
from bson import ObjectId

import fiftyone as fo
from fiftyone import ViewField as F

from optimal_confidence import (
    apply_thresholds,
    compare_models,
    compute_optimal_confidence,
    load_optimal_confidence,
)
from optimal_confidence.__main__ import main
from optimal_confidence.demo import make_demo_dataset
from optimal_confidence.outputs.deployment import threshold_for
from optimal_confidence.store.runs import compared_runs

from helpers import oracle_counts, snapshot

FIELDS = ["predictions", "baseline"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo: two models of different quality on the same images."""
    ds = make_demo_dataset(
        f"oc-deploy-{uuid.uuid4().hex[:8]}", num_samples=40, seed=5,
        images_dir=str(tmp_path_factory.mktemp("images")),
    )
    yield ds
    ds.delete()


def _curves(result):
    return {
        k: np.asarray(getattr(result, k))
        for k in ("thresholds", "tp", "fp", "fn", "precision", "recall", "f1")
    }


@pytest.mark.parametrize("options", [{}, {"classwise": False, "objective": "precision", "target": 0.8}])
def test_a_comparison_equals_separate_calls(demo, options):
    cmp = compare_models(demo, FIELDS, progress=False, **options)
    assert cmp.fields == FIELDS
    for field in FIELDS:
        alone = compute_optimal_confidence(demo, field, progress=False, **options)
        got, want = _curves(cmp.results[field]), _curves(alone)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{field} {k}")
        assert cmp.results[field].best_threshold == alone.best_threshold


def test_operating_points_at_equal_precision_and_recall(demo):
    cmp = compare_models(demo, FIELDS, progress=False)
    ref, base = cmp.results["predictions"], cmp.results["baseline"]
    rows = {r["model"]: r for r in cmp.operating_points()}
    assert rows["predictions"]["threshold"] == ref.best_threshold
    assert (rows["baseline"]["tp"], rows["baseline"]["fp"], rows["baseline"]["fn"]) == (
        base.best_tp, base.best_fp, base.best_fn,
    )
    # The baseline at the reference's precision: the most recall among the
    # thresholds whose precision reaches it
    p = ref.best_precision
    at = rows["baseline"]["at_precision"]
    assert at["target"] == pytest.approx(p)
    ok = np.asarray(base.precision) >= p
    if ok.any():
        assert at["recall"] == pytest.approx(np.asarray(base.recall)[ok].max())
        assert at["precision"] >= p
    else:
        assert at is None
    # ... and at the reference's recall: the most precision reaching it
    r = ref.best_recall
    ok = np.asarray(base.recall) >= r
    at = rows["baseline"]["at_recall"]
    if ok.any():
        assert at["precision"] == pytest.approx(np.asarray(base.precision)[ok].max())
    else:  # the weaker model never finds that many objects
        assert at is None and "not reached" in cmp.report()
    # the reference at its own point
    assert rows["predictions"]["at_recall"]["threshold"] == ref.best_threshold
    # the stronger model is stronger where it matters: the demo's point
    assert ref.best_f1 > base.best_f1
    text = cmp.report()
    assert "predictions" in text and "baseline" in text and f"At precision >= {p:.4g}" in text


def test_a_stored_comparison_is_one_run_per_model(demo):
    key = "oc_cmp"
    before = set(demo.list_runs())
    try:
        cmp = compare_models(demo, FIELDS, run_key=key, progress=False)
        keys = [f"{key}_predictions", f"{key}_baseline"]
        assert set(demo.list_runs()) - before == set(keys)
        for k, field in zip(keys, FIELDS):
            assert compared_runs(demo, k) == keys
            loaded = load_optimal_confidence(demo, k)
            assert loaded.best_threshold == cmp.results[field].best_threshold
        with pytest.raises(ValueError, match="already has a run"):
            compare_models(demo, FIELDS, run_key=key, progress=False)
    finally:
        for k in set(demo.list_runs()) - before:
            demo.delete_run(k)


def test_a_comparison_refuses_a_field_twice_before_storing(demo):
    before = snapshot(demo)
    with pytest.raises(ValueError, match="compare_with"):
        compare_models(demo, ["predictions", "predictions"], run_key="oc_twice", progress=False)
    assert snapshot(demo) == before


@pytest.mark.parametrize("per_class", [False, True])
def test_evaluation_at_the_operating_point_sums_to_its_counts(demo, per_class):
    result = compute_optimal_confidence(demo, "predictions", per_class=per_class, progress=False)
    labels = demo.values("predictions")
    key = "oc_at_point"
    try:
        results = result.evaluate(demo, key)
        assert key in demo.list_evaluations()
        c = result.operating_counts()
        assert (int(demo.sum(f"{key}_tp")), int(demo.sum(f"{key}_fp")), int(demo.sum(f"{key}_fn"))) == (
            c.tp, c.fp, c.fn,
        )
        if not per_class:
            assert (c.tp, c.fp, c.fn) == oracle_counts(demo, "predictions", "ground_truth", result.best_threshold)
        # an ordinary evaluation: FiftyOne loads it and reports per class
        loaded = demo.load_evaluation_results(key)
        assert set(loaded.classes) >= {"car", "person"}
        assert results.report()["car"]["support"] > 0
        # the predictions below their threshold took part in nothing
        config = result.deployment_config()
        for s in demo.select_fields("predictions"):
            for d in s.predictions.detections if s.predictions else []:
                below = d.confidence < threshold_for(config, d.label)
                assert (getattr(d, key, None) is None) == below, d
        with pytest.raises(ValueError, match="already has an evaluation"):
            result.evaluate(demo, key)
        # replaced on request: evaluated under a new key, renamed when done
        schema = set(demo.get_field_schema(flat=True))
        result.evaluate(demo, key, threshold=0.8, overwrite=True)
        assert demo.list_evaluations().count(key) == 1
        assert set(demo.get_field_schema(flat=True)) == schema  # nothing left under another key
        c = result.counts_at(0.8)
        assert tuple(int(demo.sum(f"{key}_{k}")) for k in ("tp", "fp", "fn")) == (c.tp, c.fp, c.fn)
        assert demo.get_evaluation_info(key).key == key
    finally:
        if key in demo.list_evaluations():
            demo.delete_evaluation(key)
    # the user's labels are what they were (evaluation fields gone with it)
    assert [d.to_dict() if d else d for d in demo.values("predictions")] == [
        d.to_dict() if d else d for d in labels
    ]


def test_a_failed_replacement_keeps_the_old_evaluation(demo, monkeypatch):
    result = compute_optimal_confidence(demo, "predictions", progress=False)
    key = "oc_kept_old"
    result.evaluate(demo, key)
    try:
        before = snapshot(demo)
        real = fo.DatasetView.evaluate_detections

        def fails_halfway(self, *args, **kwargs):
            real(self, *args, **kwargs)  # the new evaluation is written...
            raise RuntimeError("killed")  # ... and then the run fails

        monkeypatch.setattr(fo.DatasetView, "evaluate_detections", fails_halfway)
        with pytest.raises(RuntimeError, match="killed"):
            result.evaluate(demo, key, threshold=0.9, overwrite=True)
        after = snapshot(demo)
        for s in (before, after):  # the samples were written to, and then restored
            s["labels"].pop("last_modified_at")
        assert after == before and demo.list_evaluations() == [key]
        assert int(demo.sum(f"{key}_tp")) == result.best_tp
    finally:
        demo.delete_evaluation(key)


def _kept_counts(demo, config):
    """TP, FP, FN of the predictions apply_thresholds keeps, by FiftyOne."""
    kept = {
        d.id for s in demo.select_fields("predictions")
        for d in apply_thresholds(s.predictions or fo.Detections(), config).detections
    }
    view = demo.filter_labels("predictions", F("_id").is_in([ObjectId(i) for i in kept]), only_matches=False)
    view.evaluate_detections("predictions", gt_field="ground_truth", eval_key="oc_kept")
    try:
        return tuple(int(view.sum(f"oc_kept_{k}")) for k in ("tp", "fp", "fn"))
    finally:
        demo.delete_evaluation("oc_kept")


@pytest.mark.parametrize("per_class", [False, True])
def test_an_exported_config_keeps_the_operating_point(demo, tmp_path, per_class):
    result = compute_optimal_confidence(demo, "predictions", per_class=per_class, progress=False)
    c = result.operating_counts()
    path = result.export(str(tmp_path / "deploy" / "point.json"))
    config = json.load(open(path))
    assert config["threshold"] == result.best_threshold
    assert config["counts"]["tp"] == c.tp and config["dataset"] == demo.name
    assert ("class_thresholds" in config) == per_class
    # re-applied by FiftyOne, the kept predictions give the operating counts
    assert _kept_counts(demo, path) == (c.tp, c.fp, c.fn)
    # plain pairs keep the same predictions
    pairs = [(d.label, d.confidence) for s in demo.values("predictions") if s for d in s.detections]
    assert len(apply_thresholds(pairs, config)) == c.tp + c.fp
    # YAML and the Ultralytics form say the same
    y = yaml.safe_load(open(result.export(str(tmp_path / "point.yaml"))))
    assert y["threshold"] == config["threshold"] and y.get("class_thresholds") == config.get("class_thresholds")
    u = yaml.safe_load(open(result.export(str(tmp_path / "u.yaml"), "ultralytics")))
    assert u["conf"] == min([config["threshold"], *(config.get("class_thresholds") or {}).values()])
    # Ultralytics' own task name and keys only; the per-class thresholds read back
    assert (config["task"], u["task"], sorted(u)) == ("detection", "detect", ["conf", "task"])
    assert len(apply_thresholds(pairs, tmp_path / "u.yaml")) == c.tp + c.fp
    # every file export writes reads back, whatever its extension and path type
    os.rename(tmp_path / "u.yaml", tmp_path / "u.cfg")
    assert len(apply_thresholds(pairs, tmp_path / "u.cfg")) == c.tp + c.fp
    # a format the extension contradicts is refused before anything is written
    for fmt in ("yaml", "ultralytics"):
        with pytest.raises(ValueError, match="is named .json"):
            result.export(tmp_path / "y.json", fmt)
    assert not (tmp_path / "y.json").exists()
    # what is no config is refused, saying what to pass
    with pytest.raises(ValueError, match="Cannot read the deployment config .*missing.json"):
        apply_thresholds(pairs, tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="broken.json is not a JSON deployment config"):
        apply_thresholds(pairs, tmp_path / "broken.json")
    with pytest.raises(ValueError, match="has no 'threshold': pass the dict of result.deployment_config"):
        apply_thresholds(pairs, {"conf": 0.5})
    # a FiftyOne Detections keeps its other attributes
    dets = fo.Detections(detections=[fo.Detection(label="car", confidence=0.99)], source="cam-3")
    kept = apply_thresholds(dets, config)
    assert kept.source == "cam-3" and len(kept.detections) == 1 and dets.source == "cam-3"
    with pytest.raises(ValueError, match="format must be one of"):
        result.export(str(tmp_path / "x.txt"), "tflite")


def test_supervision_detections_are_filtered_like_fiftyone(demo):
    sv = pytest.importorskip("supervision")
    result = compute_optimal_confidence(demo, "predictions", per_class=True, progress=False)
    config = result.deployment_config()
    sample = max(demo, key=lambda s: len(s.predictions.detections) if s.predictions else 0)
    dets = sample.predictions.detections
    names = sorted({d.label for d in dets})
    det = sv.Detections(
        xyxy=np.array([[x, y, x + w, y + h] for x, y, w, h in (d.bounding_box for d in dets)]),
        confidence=np.array([d.confidence for d in dets]),
        class_id=np.array([names.index(d.label) for d in dets]),
    )
    want = [d.confidence for d in apply_thresholds(sample.predictions, config).detections]
    by_id = apply_thresholds(det, config, class_names=dict(enumerate(names)))
    assert sorted(by_id.confidence.tolist()) == sorted(want)
    det.data["class_name"] = np.array([d.label for d in dets])
    assert sorted(apply_thresholds(det, config).confidence.tolist()) == sorted(want)
    with pytest.raises(ValueError, match="class_names"):
        del det.data["class_name"]
        apply_thresholds(det, config)


def test_a_confidence_floor_is_warned_about(demo):
    assert compute_optimal_confidence(demo, "predictions", progress=False).warnings == []
    cut = demo.filter_labels("predictions", F("confidence") >= 0.6, only_matches=False)
    result = compute_optimal_confidence(cut, "predictions", progress=False)
    assert result.best_threshold >= 0.6
    (warning,) = result.warnings
    assert "confidence floor" in warning and "lowest confidence stored is 0.6" in warning
    assert warning in result.report()


def test_the_command_line_compares_exports_and_evaluates(demo, tmp_path, capsys):
    out_file = tmp_path / "point.json"
    try:
        code = main([
            "--dataset", demo.name, "--pred", "predictions", "--pred", "baseline",
            "--export", str(out_file), "--evaluate-key", "oc_cli_eval", "--json",
        ])
        out, err = capsys.readouterr()
        assert code == 0, err
        printed = json.loads(out)
        assert [r["model"] for r in printed["comparison"]] == FIELDS
        assert printed["exported"] == str(out_file)
        assert json.load(open(out_file))["threshold"] == pytest.approx(printed["best_threshold"])
        assert printed["evaluation"] == "oc_cli_eval"
        assert int(demo.sum("oc_cli_eval_tp")) == printed["tp"]
        # refused before anything is written: the key exists now
        out_file.unlink()
        code = main([
            "--dataset", demo.name, "--pred", "predictions", "--export", str(out_file),
            "--evaluate-key", "oc_cli_eval",
        ])
        out, err = capsys.readouterr()
        assert code == 2 and "already has an evaluation 'oc_cli_eval'" in err
        assert not out_file.exists()
    finally:
        if "oc_cli_eval" in demo.list_evaluations():
            demo.delete_evaluation("oc_cli_eval")


def test_the_command_line_compares_with_the_predictions_it_chose(demo, capsys):
    # no --pred: the rule chooses 'predictions', then the models and their runs follow
    try:
        code = main(["--dataset", demo.name, "--compare", "baseline", "--save-run", "oc_chosen", "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert [r["model"] for r in json.loads(out)["comparison"]] == FIELDS
        assert {"oc_chosen_predictions", "oc_chosen_baseline"} <= set(demo.list_runs())
        # the field chosen is also the one to compare with: refused, one line
        code = main(["--dataset", demo.name, "--compare", "predictions"])
        out, err = capsys.readouterr()
        assert code == 2 and "--compare names" in err and len(err.strip().splitlines()) == 1, err
    finally:
        for k in ("oc_chosen_predictions", "oc_chosen_baseline"):
            if k in demo.list_runs():
                demo.delete_run(k)


def test_deployment_code_needs_no_fiftyone(tmp_path):
    """apply_thresholds imports numpy, not FiftyOne (nor its database)."""
    import subprocess
    import sys

    config = tmp_path / "c.json"
    config.write_text(json.dumps({"threshold": 0.65, "class_thresholds": {"bicycle": 0.5}}))
    code = (
        "import sys\n"
        "from optimal_confidence import apply_thresholds\n"
        f"kept = apply_thresholds([('car', 0.7), ('car', 0.6), ('bicycle', 0.55), ('dog', None)], {str(config)!r})\n"
        "print(kept, 'fiftyone' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[('car', 0.7), ('bicycle', 0.55)] False"
