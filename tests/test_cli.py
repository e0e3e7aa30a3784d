"""The command line: ``python -m optimal_confidence``."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fiftyone as fo

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.__main__ import main

from conftest import ROOT


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_equals_api(random_dataset, capsys):
    code, out, err = _run(
        capsys, "--dataset", random_dataset.name, "--pred", "predictions", "--json"
    )
    assert code == 0, err
    printed = json.loads(out)

    expected = compute_optimal_confidence(random_dataset, "predictions", progress=False)
    assert printed["dataset"] == random_dataset.name
    assert printed["best_threshold"] == pytest.approx(expected.best_threshold)
    assert printed["best_f1"] == pytest.approx(expected.best_f1)
    assert (printed["tp"], printed["fp"], printed["fn"]) == (
        expected.best_tp,
        expected.best_fp,
        expected.best_fn,
    )
    assert printed["num_thresholds"] == expected.num_thresholds
    assert printed["run_key"] is None


def test_table_marks_the_best_row(random_dataset, capsys):
    code, out, _ = _run(
        capsys,
        "--dataset", random_dataset.name,
        "--num-thresholds", "11",
        "--lower-bound", "0",
        "--upper-bound", "1",
        "--rows", "2",
    )
    assert code == 0
    expected = compute_optimal_confidence(
        random_dataset, "predictions", lower_bound=0, upper_bound=1,
        num_thresholds=11, progress=False,
    )
    best_rows = [l for l in out.splitlines() if l.startswith("*")]
    assert len(best_rows) == 1
    cells = best_rows[0].split()
    assert float(cells[1]) == pytest.approx(expected.best_threshold, abs=1e-3)
    assert int(cells[-3]) == expected.best_tp
    assert int(cells[-1]) == expected.best_fn
    # two rows each side of the best one, and the header
    assert len([l for l in out.splitlines() if l.strip() and l.split()[0][0] in "*0123456789"]) <= 5


def test_save_run_and_refuse_to_overwrite(random_dataset, capsys):
    key = "cli_run"
    try:
        code, _, err = _run(
            capsys, "--dataset", random_dataset.name, "--any-class",
            "--iou", "0.75", "--save-run", key,
        )
        assert code == 0, err
        stored = load_optimal_confidence(random_dataset, key)
        assert stored.config.classwise is False
        assert stored.config.iou == 0.75

        code, _, err = _run(capsys, "--dataset", random_dataset.name, "--save-run", key)
        assert code == 2
        assert key in err and "--overwrite" in err and "overwrite=True" not in err

        code, _, err = _run(
            capsys, "--dataset", random_dataset.name, "--save-run", key, "--overwrite"
        )
        assert code == 0, err
        assert load_optimal_confidence(random_dataset, key).config.classwise is True
    finally:
        if key in random_dataset.list_runs():
            random_dataset.delete_run(key)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--dataset", "oc-no-such-dataset"], "No dataset named 'oc-no-such-dataset'"),
        (["--pred", "nope"], "nope"),
        (["--pred", "ground_truth"], "are both"),
        (["--lower-bound", "0.8", "--upper-bound", "0.2"], "--lower-bound (0.8)"),
        (["--num-thresholds", "0"], "--num-thresholds must be"),
        (["--iou", "1.5"], "iou"),
    ],
)
def test_bad_input_exits_2_with_one_line(random_dataset, capsys, argv, fragment):
    if "--dataset" not in argv:
        argv = ["--dataset", random_dataset.name] + argv
    runs_before = random_dataset.list_runs()
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert fragment in err
    assert random_dataset.list_runs() == runs_before


def test_module_entry_point(random_dataset):
    """``python -m optimal_confidence`` runs in a fresh process."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "optimal_confidence", "--dataset", "oc-no-such-dataset"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "No dataset named 'oc-no-such-dataset'" in proc.stderr

    proc = subprocess.run(
        [sys.executable, "-m", "optimal_confidence", "--dataset", random_dataset.name, "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert np.isclose(
        printed["best_f1"],
        compute_optimal_confidence(random_dataset, "predictions", progress=False).best_f1,
    )


def test_objective_and_per_class_json_equal_the_api(random_dataset, capsys):
    code, out, err = _run(
        capsys, "--dataset", random_dataset.name, "--objective", "recall",
        "--target", "0.5", "--per-class", "--min-support", "3", "--json",
    )
    assert code == 0, err
    printed = json.loads(out)
    expected = compute_optimal_confidence(
        random_dataset, "predictions", objective="recall", target=0.5,
        per_class=True, min_support=3, progress=False,
    )
    assert printed["objective"] == "precision at recall >= 0.5"
    assert printed["best_threshold"] == expected.best_threshold
    assert printed["score"] == pytest.approx(expected.best_score)
    assert printed["class_thresholds"] == expected.class_thresholds
    c = expected.operating_counts()
    assert printed["operating_point"]["fn"] == c.fn


def test_gate_at_a_deployed_threshold(random_dataset, capsys):
    counts = compute_optimal_confidence(random_dataset, "predictions", progress=False).counts_at(0.5)
    tp, fp, fn = counts
    f1 = 2 * tp / (2 * tp + fp + fn)

    code, out, err = _run(
        capsys, "--dataset", random_dataset.name, "--at", "0.5",
        "--min-f1", f"{f1 - 0.01:.4f}", "--json",
    )
    assert code == 0, err
    at = json.loads(out)["at"]
    assert (at["tp"], at["fp"], at["fn"]) == (tp, fp, fn)
    assert at["f1"] == pytest.approx(f1) and at["failed"] == []

    code, out, err = _run(
        capsys, "--dataset", random_dataset.name, "--at", "0.5",
        "--min-f1", f"{f1 + 0.01:.4f}", "--min-recall", "0",
    )
    assert code == 1
    assert f"At threshold 0.5: F1 {f1:.4f}" in out
    assert err.startswith("check failed at threshold 0.5: f1 ")
    assert "recall" not in err

    with pytest.raises(SystemExit) as e:
        main(["--dataset", random_dataset.name, "--min-f1", "0.5"])
    assert e.value.code == 2
    assert "need --at" in capsys.readouterr().err


def test_unattainable_target_exits_2(random_dataset, capsys):
    code, out, err = _run(
        capsys, "--dataset", random_dataset.name, "--objective", "recall", "--target", "0.99"
    )
    assert code == 2 and out == ""
    assert "highest recall is" in err and err.count("\n") == 1


def test_bootstrap_review_band_and_held_out_check(random_dataset, capsys):
    ids = random_dataset.values("id")
    random_dataset.select(ids[:30]).tag_samples("oc_tune")
    random_dataset.select(ids[30:]).tag_samples("oc_check")
    try:
        code, out, err = _run(
            capsys, "--dataset", random_dataset.name, "--tag", "oc_tune",
            "--bootstrap", "100", "--seed", "4", "--review-precision", "0.55",
            "--max-lost", "0.1", "--check-tag", "oc_check", "--json",
        )
        assert code == 0, err
        printed = json.loads(out)
        tune = random_dataset.match_tags("oc_tune")
        r = compute_optimal_confidence(tune, "predictions", n_bootstrap=100, seed=4, progress=False)
        assert printed["threshold_ci"] == list(r.threshold_ci)
        assert printed["review_band"] == r.review_band(0.55, 0.1).to_dict()
        check = r.check_on(random_dataset.match_tags("oc_check"))
        assert printed["held_out"]["held_out"] == check.held_out

        code, _, err = _run(capsys, "--dataset", random_dataset.name, "--tag", "oc_nope")
        assert code == 2 and "No sample has the tag 'oc_nope'" in err
    finally:
        random_dataset.untag_samples(["oc_tune", "oc_check"])


def test_plot_writes_a_png(random_dataset, capsys, tmp_path):
    path = tmp_path / "out" / "curves.png"
    code, out, err = _run(capsys, "--dataset", random_dataset.name, "--plot", str(path))
    assert code == 0, err
    assert f"Curves written to {path}" in out
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_demo_builds_once_reuses_and_keeps_stdout_clean(tmp_path):
    """``--demo`` builds the demo dataset when it is missing and reuses it
    afterwards (what a user added to it stays); a different dataset under
    its name is deleted only with ``--rebuild-demo``. With progress bars on,
    ``--json`` still prints only JSON on stdout."""
    from optimal_confidence.demo import DEMO_DATASET_NAME

    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        FIFTYONE_SHOW_PROGRESS_BARS="true",
        FIFTYONE_DEFAULT_DATASET_DIR=str(tmp_path),  # the demo's images
    )

    def demo(*argv):
        return subprocess.run(
            [sys.executable, "-m", "optimal_confidence", "--demo",
             "--demo-samples", "12", *argv],
            env=env, capture_output=True, text=True, timeout=300,
        )

    if fo.dataset_exists(DEMO_DATASET_NAME):
        fo.delete_dataset(DEMO_DATASET_NAME)
    try:
        proc = demo("--json", "--engine", "fiftyone")
        assert proc.returncode == 0, proc.stderr
        printed = json.loads(proc.stdout)  # nothing else on stdout
        assert "%" in proc.stderr  # the progress bar went to stderr
        assert "Evaluating detections" in proc.stderr  # and FiftyOne's log
        ds = fo.load_dataset(DEMO_DATASET_NAME)
        assert len(ds) == 12
        expected = compute_optimal_confidence(ds, "predictions", progress=False)
        assert printed["best_threshold"] == expected.best_threshold

        # reused: a user's run on it survives
        compute_optimal_confidence(ds, "predictions", run_key="mine", progress=False)
        proc = demo("--tag", "train", "--check-tag", "val")
        assert proc.returncode == 0, proc.stderr
        assert "Held-out check" in proc.stdout
        ds.reload()
        assert ds.list_runs() == ["mine"]

        # another size: refused, nothing deleted; --rebuild-demo replaces it
        proc = subprocess.run(
            [sys.executable, "-m", "optimal_confidence", "--demo", "--demo-samples", "8"],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 2 and "--rebuild-demo" in proc.stderr
        assert fo.load_dataset(DEMO_DATASET_NAME).list_runs() == ["mine"]
        proc = subprocess.run(
            [sys.executable, "-m", "optimal_confidence", "--demo", "--demo-samples",
             "8", "--rebuild-demo", "--json"],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert len(fo.load_dataset(DEMO_DATASET_NAME)) == 8
        assert fo.load_dataset(DEMO_DATASET_NAME).list_runs() == []
    finally:
        if fo.dataset_exists(DEMO_DATASET_NAME):
            fo.delete_dataset(DEMO_DATASET_NAME)
