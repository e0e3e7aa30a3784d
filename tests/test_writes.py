"""Every write goes through one plan, checked as a whole before the first
write, carried out all or nothing, files confined and never clobbered
(issue 19). One test per case a hostile read found, then a property test
that throws requests built from a vocabulary of hazards at the plan.
"""

import hashlib
import importlib.util
import json
import math
import os
import random
import re
import threading

import pytest
import yaml

import fiftyone as fo
import fiftyone.operators as foo

from optimal_confidence import apply_thresholds, compare_models, compute_optimal_confidence
from optimal_confidence.__main__ import main
from optimal_confidence.curves.sweep import point_metrics
from optimal_confidence.run.jobs import execute
from optimal_confidence.spec.options import OptionError
from optimal_confidence.spec.request import RunRequest
from optimal_confidence.store.files import EXPORT_DIR_ENV, confined_path, safe_segment
from optimal_confidence.store.plan import CALIBRATED_MARK, owns_evaluation
from optimal_confidence.store.runs import compared_runs, list_optimal_confidence_runs

from helpers import make_random_dataset

OPERATOR = "@threshold-lab/optimal_confidence/optimal_confidence"


def _dataset(name, seed=3, num_samples=16):
    """Detections with crowds, a user's own label attribute (``verified``,
    dynamic: the schema does not declare it) and a user's sample field
    ``mine_tp``."""
    ds = make_random_dataset(name, num_samples=num_samples, seed=seed)
    sample = next(s for s in ds if s.ground_truth is not None and s.ground_truth.detections and s.predictions is not None and s.predictions.detections)
    sample.ground_truth.detections[0]["verified"] = True
    sample.ground_truth.detections[0]["mine_iou"] = 0.5
    sample.predictions.detections[0]["their_id"] = "a user's id"
    sample.save()
    ds.add_sample_field("mine_tp", fo.IntField)
    ds.set_values("mine_tp", list(range(len(ds))))
    return ds


@pytest.fixture
def ds():
    dataset = _dataset("oc-writes")
    yield dataset
    dataset.delete()


def _state(dataset, *folders):
    """What a write could change: the dataset (schemas, every value of
    every field, runs, evaluations and brain runs with their timestamps,
    saved views) and every file under ``folders``. (As
    :func:`helpers.snapshot`, in one read of the values.)"""
    fields = [f for f in dataset.get_field_schema() if f != "last_modified_at"]
    s = {
        "schema": {k: str(v) for k, v in dataset.get_field_schema(flat=True).items()},
        "evaluations": dataset.list_evaluations(),
        "runs": dataset.list_runs(),
        "brain_runs": dataset.list_brain_runs(),
        "saved_views": dataset.list_saved_views(),
        "labels": dict(zip(fields, dataset.values(fields, _raw=True))),
    }
    s["evaluation_times"] = {k: _ms(dataset.get_evaluation_info(k).timestamp) for k in dataset.list_evaluations()}
    s["run_times"] = {k: _ms(dataset.get_run_info(k).timestamp) for k in dataset.list_runs()}
    files = {}
    for folder in folders:
        for root, _, names in os.walk(folder):
            for n in names:
                p = os.path.join(root, n)
                files[p] = hashlib.sha1(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else "?"
    s["files"] = files
    return s


def _ms(t):
    """A timestamp as the database keeps it (milliseconds)."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000).isoformat()


def _refused(dataset, fn, match, *folders):
    before = _state(dataset, *folders)
    with pytest.raises(ValueError, match=match):
        fn()
    dataset.reload()
    assert _state(dataset, *folders) == before


# ---------------------------------------------------------------------------
# Data lost or overwritten without overwrite


@pytest.mark.parametrize(
    "key", ["label", "iscrowd", "confidence", "bounding_box", "tags", "id", "verified", "their", "mine"]
)
def test_an_evaluation_key_never_writes_over_a_label_attribute(ds, key):
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    attr = {"mine": "mine_tp", "their": "their_id"}.get(key, key)
    what = "field 'mine_tp'" if key == "mine" else f"attribute '{attr}'"
    _refused(ds, lambda: result.evaluate(ds, key), re.escape(what))
    _refused(ds, lambda: result.evaluate(ds, key, overwrite=True), re.escape(what))


def test_the_label_key_is_refused_by_every_front_end(ds, capsys):
    op = foo.get_operator(OPERATOR)
    _refused(ds, lambda: op(ds, "predictions", evaluate_key="label"), "attribute 'label'")
    before = _state(ds)
    code = main(["--dataset", ds.name, "--pred", "predictions", "--evaluate-key", "label", "--save-run", "r"])
    assert code == 2 and "attribute 'label'" in capsys.readouterr().err
    assert _state(ds) == before


def test_an_evaluation_never_replaces_a_users_field_or_evaluation(ds):
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    # a user's own label attribute, only in the documents
    _refused(ds, lambda: result.evaluate(ds, "mine"), "field 'mine_tp'")
    ds.evaluate_detections("predictions", gt_field="ground_truth", eval_key="theirs")
    _refused(ds, lambda: result.evaluate(ds, "theirs", overwrite=True), "did not run")
    # ours may be replaced, with overwrite only
    result.evaluate(ds, "ours")
    assert owns_evaluation(ds, "ours")
    _refused(ds, lambda: result.evaluate(ds, "ours"), "overwrite=True")
    t = 0.6
    result.evaluate(ds, "ours", threshold=t, overwrite=True)
    assert tuple(int(ds.sum(f"ours_{k}")) for k in ("tp", "fp", "fn")) == result.counts_at(t)
    assert sorted(ds.list_evaluations()) == ["ours", "theirs"]


def test_overwrite_never_replaces_a_run_this_package_did_not_store(ds):
    ds.register_run("other", ds.init_run(method="someone_else"))
    _refused(
        ds,
        lambda: compute_optimal_confidence(ds, "predictions", run_key="other", overwrite=True, progress=False),
        "did not store",
    )


def test_two_concurrent_overwrites_of_one_evaluation_leave_exactly_one(ds):
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    result.evaluate(ds, "k")
    for _ in range(3):
        found, barrier = [], threading.Barrier(2)

        def overwrite(t):
            barrier.wait()
            try:
                result.evaluate(ds, "k", threshold=t, overwrite=True)
                found.append(t)
            except ValueError as e:
                found.append(str(e))
            except RuntimeError as e:
                # two threads share one in-memory Dataset (a singleton per
                # process; processes each have their own): FiftyOne may
                # iterate its runs dict while the other thread renames one.
                # The write itself may have landed
                assert "changed size during iteration" in str(e), e
                found.append(("maybe", t))

        threads = [threading.Thread(target=overwrite, args=(t,)) for t in (0.3, 0.7)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        ds.reload()
        assert ds.list_evaluations() == ["k"], found
        assert owns_evaluation(ds, "k")
        sums = tuple(int(ds.sum(f"k_{c}")) for c in ("tp", "fp", "fn"))
        done = [t for t in found if isinstance(t, float)]
        maybe = [x[1] for x in found if isinstance(x, tuple)]
        assert done + maybe and sums in [result.counts_at(t) for t in done + maybe], found
        assert all("another process" in x for x in found if isinstance(x, str)), found
    assert not [f for f in ds.get_field_schema(flat=True) if "__oc_" in f]


# ---------------------------------------------------------------------------
# Files: confined from the App, never clobbered unasked


def test_safe_segments_and_confined_paths(tmp_path, monkeypatch):
    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    assert safe_segment("plain-name_1.0") == "plain-name_1.0"
    for hostile in ("a/b", "../up", "..", "x/../../y", "spa ce"):
        seg = safe_segment(hostile)
        assert "/" not in seg and seg not in (".", "..") and not seg.startswith(".")
    assert safe_segment("a/b") != safe_segment("a_b")  # two names never share a folder
    root = os.path.realpath(tmp_path / "exports")
    assert confined_path("ds", "deploy/x.json") == os.path.join(root, "ds", "deploy", "x.json")
    for bad in ("../x.json", "/etc/passwd", "a/../../x.json", "~/x.json", "", ".."):
        with pytest.raises(OptionError, match="export_path"):
            confined_path("ds", bad)
    # a symlink inside the folder that leads out of it
    (tmp_path / "exports" / "ds").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "exports" / "ds" / "link")
    with pytest.raises(OptionError, match="must stay inside"):
        confined_path("ds", "link/x.json")


def test_the_app_writes_files_only_inside_its_export_folder(ds, tmp_path, monkeypatch):
    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    op = foo.get_operator(OPERATOR)
    for bad in (str(target), "../../victim.txt", "../x.json"):
        _refused(ds, lambda: op(ds, "predictions", export_path=bad), "export_path", str(tmp_path))
    assert target.read_text() == "keep me"
    op(ds, "predictions", export_path="deploy/point.json", run_key="r1")
    path = tmp_path / "exports" / ds.name / "deploy" / "point.json"
    assert json.loads(path.read_text())["run_key"] == "r1"
    # an existing file is never replaced unasked, also from the App
    _refused(ds, lambda: op(ds, "predictions", export_path="deploy/point.json", run_key="r2"),
             "already exists", str(tmp_path))
    op(ds, "predictions", export_path="deploy/point.json", run_key="r1", overwrite=True)


def test_the_panel_export_of_a_hostile_dataset_name_stays_in_the_folder(tmp_path, monkeypatch):
    from test_panel import AppPanel

    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    hostile = make_random_dataset("oc-w/../../escape", num_samples=8, seed=2)
    try:
        compute_optimal_confidence(hostile, "predictions", run_key="r", progress=False)
        panel = AppPanel(hostile)
        panel.event("on_load")
        panel.event("on_click_export")
        written = [os.path.join(r, n) for r, _, ns in os.walk(tmp_path) for n in ns]
        assert len(written) == 1, written
        root = os.path.realpath(tmp_path / "exports")
        assert os.path.commonpath([os.path.realpath(written[0]), root]) == root
        assert written[0] in panel.state["message"]
    finally:
        hostile.delete()


def test_files_from_python_are_never_clobbered_unasked_and_written_whole(ds, tmp_path):
    result = compute_optimal_confidence(ds, "predictions", per_class=True, progress=False)
    path = tmp_path / "t.json"
    path.write_text("mine")
    _refused(ds, lambda: result.export(path), "already exists", str(tmp_path))
    assert path.read_text() == "mine"
    result.export(path, overwrite=True)
    assert json.loads(path.read_text())["class_thresholds"] == result.class_thresholds
    assert sorted(os.listdir(tmp_path)) == ["t.json"]  # no temporary file left
    # a path that cannot be written: nothing written, no folder left
    (tmp_path / "afile").write_text("x")
    with pytest.raises((ValueError, OSError)):
        result.export(tmp_path / "afile" / "sub" / "t.json")
    assert sorted(os.listdir(tmp_path)) == ["afile", "t.json"]


# ---------------------------------------------------------------------------
# Half-written runs


@pytest.mark.parametrize("key", ["confidence", "bounding_box", "tags"])
def test_a_refused_evaluation_key_stores_no_run(ds, key, capsys):
    before = _state(ds)
    code = main(["--dataset", ds.name, "--pred", "predictions", "--evaluate-key", key, "--save-run", "r"])
    assert code == 2, capsys.readouterr()
    assert _state(ds) == before


def test_a_calibrated_field_that_the_evaluation_writes_is_refused_up_front(ds):
    request = RunRequest.build(
        pred_field="predictions", gt_field="ground_truth", calibrate="isotonic",
        calibrated_field="ev_tp", evaluate_key="ev", run_key="r",
    )
    _refused(ds, lambda: execute(ds, request), "both write the field 'ev_tp'")


def test_the_calibrated_field_of_the_default_predictions(ds, capsys):
    code = main(["--dataset", ds.name, "--calibrate", "isotonic", "--calibrated-field", "cal", "--save-run", "r"])
    assert code == 0, capsys.readouterr().err
    ds.reload()
    assert ds.get_field("cal").info[CALIBRATED_MARK] == "predictions"
    assert list_optimal_confidence_runs(ds) == ["r"]


def test_overwrite_replaces_a_calibrated_field_only_of_the_same_kind_and_never_a_copy(ds):
    calibrator = compute_optimal_confidence(ds, "predictions", calibrate="isotonic", progress=False).calibrator
    calibrator.apply(ds, "predictions", "cal")
    ds.clone_sample_field("cal", "my_copy")  # the mark in its info travels; it is not ours
    _refused(ds, lambda: calibrator.apply(ds, "logits", "my_copy", overwrite=True), "not written by a calibrator")
    ds.set_values("answer", [fo.Classification(label="car", confidence=0.7)] * len(ds))
    _refused(ds, lambda: calibrator.apply(ds, "answer", "cal", overwrite=True), "holds Detections calibrated earlier")
    for bad in ("no", 1, None):
        _refused(ds, lambda: calibrator.apply(ds, "logits", "cal", overwrite=bad), "overwrite must be True or False")
    calibrator.apply(ds, "logits", "cal", overwrite=True)
    assert ds.get_field("cal").info[CALIBRATED_MARK] == "logits"


def test_the_calibrated_field_is_written_where_it_was_fitted(ds):
    ids = ds.values("id")
    view = ds.select(ids[: len(ids) // 2])
    # confidences the calibrator never saw (and cannot take) outside the view
    outside = ds.select(ids[len(ids) // 2:])
    far = next(s for s in outside if s.predictions is not None and s.predictions.detections)
    far.predictions.detections[0].confidence = 7.5
    far.save()
    request = RunRequest.build(
        pred_field="predictions", gt_field="ground_truth", calibrate="sigmoid",
        calibrated_field="cal", run_key="r",
    )
    execute(view, request)
    written = ds.values("cal")
    assert all(v is None for v in written[len(ids) // 2:])
    in_view = [v for v in written[: len(ids) // 2] if v is not None]
    assert in_view and all(0 <= d.confidence <= 1 for v in in_view for d in v.detections if d.confidence is not None)
    # applied to all samples: refused before anything is written
    calibrator = compute_optimal_confidence(view, "predictions", calibrate="sigmoid", progress=False).calibrator
    _refused(ds, lambda: calibrator.apply(ds, "predictions", "cal2"), "sigmoid calibrator")


# ---------------------------------------------------------------------------
# Wrong or misleading


def _ultralytics_cfg():
    spec = importlib.util.find_spec("ultralytics")  # found, not imported (no torch here)
    assert spec is not None, "the tests need Ultralytics' wheel (make install adds it, --no-deps)"
    folder = os.path.join(list(spec.submodule_search_locations)[0], "cfg")
    keys = set(yaml.safe_load(open(os.path.join(folder, "default.yaml"))))
    tasks = re.search(r"^TASKS\s*=\s*\(([^)]*)\)", open(os.path.join(folder, "__init__.py")).read(), re.M)
    return keys, set(re.findall(r'"(\w+)"', tasks.group(1)))


def test_the_ultralytics_export_is_what_ultralytics_accepts(ds, tmp_path):
    keys, tasks = _ultralytics_cfg()
    result = compute_optimal_confidence(ds, "predictions", per_class=True, min_support=1, progress=False)
    path = result.export(tmp_path / "predict.yaml", "ultralytics")
    cfg = yaml.safe_load(open(path))
    assert set(cfg) <= keys and cfg["task"] in tasks == tasks and cfg["task"] == "detect"
    assert cfg["conf"] == min([result.best_threshold, *result.class_thresholds.values()])
    # the per-class thresholds read back from the same file
    pairs = [(d.label, d.confidence) for v in ds.values("predictions") if v for d in v.detections]
    assert apply_thresholds(pairs, path) == apply_thresholds(pairs, result.deployment_config())
    # a YAML export to a path without a YAML extension reads back too
    os.rename(path, tmp_path / "predict.cfg")
    assert apply_thresholds(pairs, tmp_path / "predict.cfg") == apply_thresholds(pairs, result.deployment_config())


@pytest.mark.parametrize(
    "config, match",
    [
        ({"threshold": None}, "'threshold' must be a finite number"),
        ({"threshold": "0.5"}, "'threshold' must be a finite number"),
        ({"threshold": True}, "'threshold' must be a finite number"),
        ({"threshold": math.nan}, "'threshold' must be a finite number"),
        ({"threshold": 0.5, "class_thresholds": {"car": None}}, "class 'car' must be a finite number"),
        ({"threshold": 0.5, "class_thresholds": [0.5, 0.6]}, "must map each class"),
        ({"threshold": 0.5, "task": "segmentation"}, "'task' must be one of"),
        ([0.5], "has no 'threshold'"),
    ],
)
def test_hand_edited_configs_are_refused_with_what_to_fix(config, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        apply_thresholds([("car", 0.9)], config)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match=match):
        apply_thresholds([("car", 0.9)], path)


def test_a_per_class_comparison_shows_what_each_model_ships(ds):
    cmp = compare_models(ds, ["predictions", "logits"], per_class=True, progress=False)
    for row, result in zip(cmp.operating_points(), cmp.results.values()):
        shipped = point_metrics(result.operating_counts())
        assert {k: row[k] for k in shipped} == shipped
        assert row["class_thresholds"] == result.class_thresholds
    assert "per class" in cmp.report()


def test_an_overwritten_comparison_leaves_no_stale_member(ds):
    ds.clone_sample_field("predictions", "third")
    compare_models(ds, ["predictions", "logits"], run_key="cmp", progress=False)
    assert compared_runs(ds, "cmp_logits") == ["cmp_predictions", "cmp_logits"]
    _refused(ds, lambda: compare_models(ds, ["predictions", "third"], run_key="cmp", progress=False), "overwrite=True")
    compare_models(ds, ["predictions", "third"], run_key="cmp", iou=0.9, overwrite=True, progress=False)
    assert sorted(list_optimal_confidence_runs(ds)) == ["cmp_predictions", "cmp_third"]
    assert compared_runs(ds, "cmp_predictions") == ["cmp_predictions", "cmp_third"]
    assert {ds.get_run_info(k).config.sweep_iou for k in ds.list_runs()} == {0.9}


@pytest.mark.parametrize(
    "options",
    [
        {"objective": "precision", "target": 0.8, "guarantee": "0.9"},
        {"objective": "precision", "target": 0.8, "guarantee": float("nan")},
        {"objective": "precision", "target": None},
        {"compare_with": "predictions"},
        {"compare_with": ["predictions"]},
        {"evaluate_key": "label"},
        {"calibrate": "isotonic", "calibrated_field": "ground_truth"},
    ],
)
def test_op_raises_the_option_error_for_a_bad_value(ds, options):
    op = foo.get_operator(OPERATOR)
    before = _state(ds)
    with pytest.raises(ValueError) as e:
        op(ds, "predictions", **options)
    # the spec's OptionError (of the plugin's own copy of the library), not
    # FiftyOne's ExecutionError
    assert type(e.value).__name__ == "OptionError" and e.value.option in options
    assert _state(ds) == before


# ---------------------------------------------------------------------------
# All or nothing


def _ours(ds):
    """A run, an evaluation and a calibrated field this package wrote."""
    execute(ds, RunRequest.build(
        pred_field="predictions", gt_field="ground_truth", calibrate="isotonic",
        calibrated_field="cal", evaluate_key="ev", run_key="r",
    ))


def test_a_failure_while_committing_puts_everything_back(ds, tmp_path, monkeypatch):
    from optimal_confidence.store.files import FileStep

    _ours(ds)
    (tmp_path / "point.json").write_text("old")
    before = _state(ds, str(tmp_path))

    def fails(self, samples=None):
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr(FileStep, "commit", fails)
    request = RunRequest.build(
        pred_field="logits", gt_field="ground_truth", calibrate="sigmoid", calibrated_field="cal",
        evaluate_key="ev", run_key="r", overwrite=True, export_path=str(tmp_path / "point.json"),
    )
    with pytest.raises(RuntimeError, match="the disk is gone"):
        execute(ds, request)
    ds.reload()
    assert _state(ds, str(tmp_path)) == before
    assert owns_evaluation(ds, "ev")  # still ours: a later overwrite may replace it


def test_a_failure_while_staging_leaves_nothing(ds, tmp_path):
    (tmp_path / "afile").write_text("x")
    request = RunRequest.build(
        pred_field="predictions", gt_field="ground_truth", calibrate="isotonic",
        calibrated_field="cal", evaluate_key="ev", run_key="r",
        export_path=str(tmp_path / "afile" / "deep" / "point.json"),
    )
    before = _state(ds, str(tmp_path))
    with pytest.raises(Exception):
        execute(ds, request)
    ds.reload()
    assert _state(ds, str(tmp_path)) == before


# ---------------------------------------------------------------------------
# The property test: requests built from hazards


#: per option: the values that may go through, then the hazards (names the
#: dataset, FiftyOne or the same request already use, paths out of the
#: export folder or into a file, existing files, ...)
_VOCABULARY = {
    "run_key": ([None, "new_run"], ["r", "foreign", "x__oc_pending_0123abcd", "1bad"]),
    "evaluate_key": (
        [None, "ev_new"],
        ["ev", "theirs", "label", "iscrowd", "confidence", "verified", "mine", "mine_iou", "_x"],
    ),
    "calibrated_field": (
        [None, "cal_new"],
        ["cal", "mine_tp", "ground_truth", "filepath", "ev_new_tp", "tags", "_hidden"],
    ),
    "export_path": ([None, "new"], ["existing", "in_a_file", "a_folder", "escape", "absolute"]),
    "overwrite": ([False, True], []),
    "confine": ([False, True], []),
}


def _draw(rng):
    """A request: each option a value that may go through, or (one time in
    three) a hazard."""
    out = {}
    for name, (fine, hazards) in _VOCABULARY.items():
        out[name] = rng.choice(hazards if hazards and rng.random() < 0.35 else fine)
    return out


def _template():
    ds = _dataset("oc-writes-template", seed=5, num_samples=10)
    _ours(ds)
    ds.register_run("foreign", ds.init_run(method="someone_else"))
    ds.evaluate_detections("logits", gt_field="ground_truth", eval_key="theirs")
    ds.persistent = True
    return ds


def _export_path(kind, tmp, confine):
    if kind is None:
        return None
    if confine:
        return {"new": "deploy/new.json", "existing": "old.json", "in_a_file": "afile/x.json",
                "a_folder": "deploy", "escape": "../../outside.json", "absolute": str(tmp / "abs.json")}[kind]
    return {"new": str(tmp / "deploy" / "new.json"), "existing": str(tmp / "old.json"),
            "in_a_file": str(tmp / "afile" / "x.json"), "a_folder": str(tmp),
            "escape": str(tmp / ".." / "outside.json"), "absolute": str(tmp / "abs.json")}[kind]


def _planned(options):
    """The names a successful request may change."""
    runs = {options["run_key"]} if options.get("run_key") else set()
    evaluations = {options["evaluate_key"]} if options.get("evaluate_key") else set()
    fields = {options["calibrated_field"]} if options.get("calibrated_field") else set()
    for e in evaluations:
        fields |= {f"{e}_tp", f"{e}_fp", f"{e}_fn"}
    return runs, evaluations, fields


def _changed(before, after, key):
    keys = set(before[key]) | set(after[key])
    return {k for k in keys if before[key].get(k) != after[key].get(k)}


def test_every_request_is_refused_whole_or_makes_only_its_planned_writes(tmp_path, monkeypatch):
    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    template = _template()
    rng = random.Random(19)
    outcomes = {"refused": 0, "done": 0}
    try:
        for i in range(int(os.environ.get("OC_PROPERTY_REQUESTS", 250))):
            options = _draw(rng)
            confine = options.pop("confine")
            files = tmp_path / f"f{i}"
            export_root = tmp_path / "exports" / template.name
            for folder in (files, export_root):
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "old.json").write_text("old")
                (folder / "afile").write_text("a file")
            kind = options.pop("export_path")
            options["export_path"] = _export_path(kind, files, confine)
            if options["calibrated_field"]:
                options["calibrate"] = "isotonic"
            ds = template
            watched = [str(files), str(tmp_path / "exports")]
            before = _state(ds, *watched)
            try:
                request = RunRequest.build(pred_field="predictions", gt_field="ground_truth", **options)
                execute(ds, request, confine=confine)
            except (ValueError, OSError) as e:
                ds.reload()
                assert _state(ds, *watched) == before, (options, confine, str(e))
                outcomes["refused"] += 1
            else:
                ds.reload()
                after = _state(ds, *watched)
                runs, evaluations, fields = _planned(options)
                assert _changed(before, after, "run_times") <= runs, options
                assert _changed(before, after, "evaluation_times") <= evaluations, options
                changed_fields = {k for k in set(before["schema"]) | set(after["schema"])
                                  if before["schema"].get(k) != after["schema"].get(k)}
                allowed = {p for p in changed_fields if p.split(".")[0] in fields}
                for e in evaluations:  # its attributes on both label fields
                    allowed |= {p for p in changed_fields if re.search(rf"\.{e}(_id|_iou)?$", p)}
                assert changed_fields == allowed, (options, changed_fields - allowed)
                labels = {k for k in before["labels"] if before["labels"][k] != after["labels"].get(k)}
                assert labels <= fields | {"ground_truth", "predictions"}, options
                if labels & {"ground_truth", "predictions"}:  # only the evaluation's attributes
                    assert evaluations, options
                files_changed = _changed(before, after, "files")
                assert files_changed <= ({os.path.abspath(options["export_path"])} if not confine and options["export_path"] else set()) | (
                    {confined_path(template.name, options["export_path"])} if confine and options["export_path"] else set()
                ), (options, files_changed)
                outcomes["done"] += 1
    finally:
        template.delete()
    # the vocabulary reaches both sides (`pytest -s` prints how often)
    print(f"\nwrite plan property test: {outcomes}")
    assert outcomes["refused"] > 20 and outcomes["done"] > 10, outcomes


_KILLED = """
import sys, time
import fiftyone as fo
import fiftyone.core.collections as foc
from optimal_confidence.run.jobs import execute
from optimal_confidence.spec.request import RunRequest

name, marker = sys.argv[1], sys.argv[2]
evaluate = foc.SampleCollection.evaluate_detections

def paused(self, *args, **kwargs):
    out = evaluate(self, *args, **kwargs)  # the staged evaluation is complete
    open(marker, "w").write("staged")
    time.sleep(120)  # the parent kills us here, before the commit
    return out

foc.SampleCollection.evaluate_detections = paused
ds = fo.load_dataset(name)
execute(ds, RunRequest.build(
    pred_field="logits", gt_field="ground_truth", calibrate="isotonic", calibrated_field="cal",
    evaluate_key="ev", run_key="r", overwrite=True,
))
"""


def test_a_kill_while_writing_leaves_only_temporary_names_that_repair_removes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from optimal_confidence import repair_optimal_confidence_runs

    from conftest import ROOT

    ds = _dataset("oc-writes-killed", seed=6, num_samples=10)
    ds.persistent = True
    try:
        _ours(ds)
        before = _state(ds)
        marker = tmp_path / "staged"
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILLED, ds.name, str(marker)],
            env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        deadline = time.time() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the child never staged its evaluation"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        ds.reload()
        # what the user sees is as it was; the staged writes wait under temporary names
        assert list_optimal_confidence_runs(ds) == ["r"]
        staged = [k for k in ds.list_evaluations() if "_oc_pending_" in k]
        assert len(staged) == 1, ds.list_evaluations()
        done = repair_optimal_confidence_runs(ds)
        assert done.get(f"evaluation {staged[0]}") == "deleted" and set(done.values()) == {"deleted"}, done
        ds.reload()
        assert _state(ds) == before
        # the killed process's claims do not block the names
        execute(ds, RunRequest.build(pred_field="logits", gt_field="ground_truth", evaluate_key="ev",
                                     run_key="r", overwrite=True))
        assert ds.get_run_info("r").config.sweep_pred_field == "logits"
    finally:
        ds.delete()


# ---------------------------------------------------------------------------
# What a second hostile read found


def test_replacing_our_evaluation_still_never_writes_over_the_new_fields_attributes(ds):
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    result.evaluate(ds, "ev")
    sample = next(s for s in ds if s.logits is not None and s.logits.detections)
    sample.logits.detections[0]["ev"] = "the user's"
    sample.save()
    other = compute_optimal_confidence(ds, "logits", progress=False)
    _refused(ds, lambda: other.evaluate(ds, "ev", overwrite=True), "attribute 'ev'")


def test_names_that_look_like_the_packages_own_are_left_alone(ds):
    ds.register_run("foo__oc_replaced_0123abcd", ds.init_run(method="theirs"))
    ds.add_sample_field("mine_oc_pending_0123abcd", fo.StringField)
    ds.add_sample_field("keep_oc_replaced_0123abcd", fo.StringField)
    before = _state(ds)
    with pytest.raises(ValueError):
        compute_optimal_confidence(ds, "predictions", run_key="foo__oc_replaced_0123abcd", progress=False)
    compute_optimal_confidence(ds, "predictions", run_key="foo", progress=False)  # nothing of theirs moves
    from optimal_confidence import repair_optimal_confidence_runs

    assert repair_optimal_confidence_runs(ds) == {}
    after = _state(ds)
    assert set(after["runs"]) == set(before["runs"]) | {"foo"}
    assert after["schema"] == before["schema"]
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    _refused(ds, lambda: result.evaluate(ds, "e_oc_replaced_0123abcd"), "writes under way")
    _refused(ds, lambda: result.fit_calibrator().apply(ds, "predictions", "c_oc_pending_0123abcd"), "writes under way")


def test_evaluations_and_fields_are_refused_on_patches_and_clips_views(ds):
    patches = ds.to_patches("ground_truth")
    request = RunRequest.build(pred_field="predictions", gt_field="ground_truth", evaluate_key="ev")
    with pytest.raises(ValueError, match="patches, clips or frames view"):
        from optimal_confidence.store.plan import Write, check_writes

        check_writes(patches, [Write("evaluation", "ev", "evaluate_key")])
    assert "ev" not in ds.list_evaluations() and request.evaluate_key == "ev"


def test_plans_of_different_names_at_once_lose_no_declaration(ds):
    result = compute_optimal_confidence(ds, "predictions", calibrate="isotonic", progress=False)
    barrier, errors = threading.Barrier(3), []

    def write(i):
        barrier.wait()
        try:
            result.evaluate(ds, f"ev{i}")
            result.calibrator.apply(ds, "predictions", f"cal{i}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ds.reload()
    assert errors == []
    schema = ds.get_field_schema(flat=True)
    for i in range(3):
        assert {f"ev{i}_tp", f"predictions.detections.ev{i}", f"ground_truth.detections.ev{i}_id", f"cal{i}"} <= set(schema)
        assert owns_evaluation(ds, f"ev{i}")


def test_symlinks_never_lead_the_app_out_of_its_folder(ds, tmp_path, monkeypatch):
    from optimal_confidence.store.files import dataset_folder

    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    (tmp_path / "exports").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", dataset_folder(ds.name))  # the dataset's folder itself
    request = RunRequest.build(pred_field="predictions", gt_field="ground_truth", export_path="pwn.json")
    _refused(ds, lambda: execute(ds, request, confine=True), "must stay inside", str(tmp_path))
    os.unlink(dataset_folder(ds.name))
    # a symlink planted while the sweep runs, after the plan was checked
    planted = lambda outcome: os.makedirs(dataset_folder(ds.name), exist_ok=True) or os.symlink(  # noqa: E731
        tmp_path / "outside", os.path.join(dataset_folder(ds.name), "sub"))
    request = RunRequest.build(pred_field="predictions", gt_field="ground_truth", export_path="sub/pwn.json")
    with pytest.raises(ValueError, match="must stay inside"):
        execute(ds, request, confine=True, before_store=planted)
    assert os.listdir(tmp_path / "outside") == []


def test_two_dataset_names_never_share_a_folder():
    names = ["rv a/b", "rv_a_b", safe_segment("rv a/b"), "..", ".hidden", "plain"]
    segments = [safe_segment(n) for n in names]
    assert len(set(segments)) == len(names), segments
    assert safe_segment("plain") == "plain"


def test_a_commit_that_fails_halfway_is_undone(ds, monkeypatch):
    from optimal_confidence.store import evaluation

    _ours(ds)
    before = _state(ds)
    real, failed = evaluation._rename, []

    def flaky(dataset, old, new, nones):
        if new == "ev" and not failed:  # the new one into place, after the old one was set aside
            failed.append(old)
            raise RuntimeError("lost the database")
        real(dataset, old, new, nones)

    monkeypatch.setattr(evaluation, "_rename", flaky)
    request = RunRequest.build(pred_field="logits", gt_field="ground_truth", evaluate_key="ev", run_key="r", overwrite=True)
    with pytest.raises(RuntimeError, match="lost the database"):
        execute(ds, request)
    monkeypatch.setattr(evaluation, "_rename", real)
    ds.reload()
    assert _state(ds) == before and owns_evaluation(ds, "ev")


@pytest.mark.parametrize("path", [b"/tmp/x.json", 123, None, ["a"], "dir/", "x\0y.json"])
def test_a_path_of_the_wrong_kind_is_a_value_error(ds, path, tmp_path):
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    with pytest.raises(ValueError):
        result.export(path)
    with pytest.raises(ValueError):
        result.evaluate(ds, path)
    with pytest.raises(ValueError):
        result.fit_calibrator().apply(ds, path, "c")
    with pytest.raises(ValueError):
        result.fit_calibrator().apply(None, "predictions", "c")


def test_concurrent_exports_into_a_new_folder_all_succeed(ds, tmp_path):
    result = compute_optimal_confidence(ds, "predictions", progress=False)
    errors, barrier = [], threading.Barrier(4)

    def export(i):
        barrier.wait()
        try:
            result.export(tmp_path / "deep" / "er" / f"f{i}.json")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=export, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(os.listdir(tmp_path / "deep" / "er")) == 4


def test_configs_that_lie_are_refused_and_every_label_type_is_filtered(ds, tmp_path):
    result = compute_optimal_confidence(ds, "predictions", per_class=True, progress=False)
    path = result.export(tmp_path / "u.yaml", "ultralytics")
    text = open(path).read()
    open(path, "w").write(re.sub(r"^conf: .*$", "conf: 0.99", text, flags=re.M))
    with pytest.raises(ValueError, match="it was edited"):
        apply_thresholds([("car", 0.9)], path)
    (tmp_path / "k.yaml").write_text("threshold: 0.5\nclass_thresholds: {1: 0.9, yes: 0.9, null: 0.9}\n")
    with pytest.raises(ValueError, match="class names must be text"):
        apply_thresholds([("car", 0.9)], tmp_path / "k.yaml")
    config = {"threshold": 0.5, "class_thresholds": {"car": 0.8}}
    lines = fo.Polylines(polylines=[fo.Polyline(label="car", confidence=0.7), fo.Polyline(label="person", confidence=0.6)])
    assert [p.label for p in apply_thresholds(lines, config).polylines] == ["person"]
    labels = fo.Classifications(classifications=[fo.Classification(label="car", confidence=0.9)])
    assert len(apply_thresholds(labels, config).classifications) == 1
    assert apply_thresholds(fo.Classification(label="car", confidence=0.7), config) is None
    with pytest.raises(ValueError, match="takes FiftyOne labels"):
        apply_thresholds(42, config)
