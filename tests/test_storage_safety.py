"""Storing a run is safe against races and kills: of concurrent stores of
one new run key exactly one succeeds (real threads, real processes against
the real database); a process killed with SIGKILL while saving leaves no
half-written run, an overwritten run survives, and the panel keeps working.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.store.runs import (
    broken_optimal_confidence_runs,
    list_optimal_confidence_runs,
    repair_optimal_confidence_runs,
)

from conftest import ROOT
from helpers import make_random_dataset
from test_panel import AppPanel


@pytest.fixture
def ds():
    # persistent: other processes store runs on it
    dataset = make_random_dataset("oc-storage", num_samples=20, seed=4)
    dataset.persistent = True
    yield dataset
    dataset.delete()


def _outcomes(found):
    ok = [x for x in found if x == "ok"]
    refused = [x for x in found if x != "ok"]
    return ok, refused


def test_two_threads_storing_one_new_key(ds):
    found = []
    barrier = threading.Barrier(2)

    def store(field):
        barrier.wait()
        try:
            compute_optimal_confidence(ds, field, run_key="race", progress=False)
            found.append("ok")
        except ValueError as e:
            found.append(str(e))

    threads = [threading.Thread(target=store, args=(f,)) for f in ("predictions", "logits")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok, refused = _outcomes(found)
    assert len(ok) == 1 and len(refused) == 1, found
    assert "already has a run 'race'" in refused[0]
    assert list_optimal_confidence_runs(ds) == ["race"]
    assert load_optimal_confidence(ds, "race").best_f1 > 0


_RACER = textwrap.dedent(
    """
    import sys, time
    import fiftyone as fo
    from optimal_confidence import compute_optimal_confidence
    name, key, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    ds = fo.load_dataset(name)
    while time.time() < start:
        time.sleep(0.001)
    try:
        compute_optimal_confidence(ds, "predictions", run_key=key, progress=False)
        print("ok")
    except ValueError as e:
        print("refused:", e)
    """
)


def test_processes_storing_one_new_key(ds):
    for key in ("race_a", "race_b"):
        start = time.time() + 8  # every process imported and waiting
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _RACER, ds.name, key, str(start)],
                env=dict(os.environ, PYTHONPATH=ROOT),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=180) for p in procs]
        lines = [out.strip().splitlines()[-1] for out, err in outs]
        ok = [x for x in lines if x == "ok"]
        assert len(ok) == 1, [(o[0][-500:], o[1][-500:]) for o in outs]
        assert all(f"already has a run '{key}'" in x for x in lines if x != "ok"), lines
    ds.reload()
    assert sorted(list_optimal_confidence_runs(ds)) == ["race_a", "race_b"]


_KILLED = textwrap.dedent(
    """
    import sys, time
    import fiftyone as fo
    import fiftyone.core.runs as forun
    from optimal_confidence import compute_optimal_confidence
    name, key, overwrite, marker = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
    save = forun.BaseRun.save_run_results.__func__

    def paused(cls, samples, run_key, *args, **kwargs):
        # the save is under way: let the parent kill us here
        open(marker, "w").write(run_key)
        time.sleep(120)
        return save(cls, samples, run_key, *args, **kwargs)

    forun.BaseRun.save_run_results = classmethod(paused)
    ds = fo.load_dataset(name)
    compute_optimal_confidence(ds, "logits", iou=0.3, run_key=key, overwrite=overwrite, progress=False)
    """
)


def _kill_during_save(ds, key, overwrite, tmp_path):
    marker = tmp_path / f"{key}.saving"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, ds.name, key, "1" if overwrite else "0", str(marker)],
        env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "the child never reached the save"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    ds.reload()


def test_a_kill_during_the_save_leaves_no_half_written_run(ds, tmp_path):
    kept = compute_optimal_confidence(ds, "predictions", run_key="kept", progress=False)

    # a new key: it does not appear
    _kill_during_save(ds, "fresh", False, tmp_path)
    assert list_optimal_confidence_runs(ds) == ["kept"]
    assert "fresh" not in ds.list_runs()
    assert len(broken_optimal_confidence_runs(ds)) == 1  # the unfinished store

    # an overwrite: the old run is still there, whole
    _kill_during_save(ds, "kept", True, tmp_path)
    assert list_optimal_confidence_runs(ds) == ["kept"]
    again = load_optimal_confidence(ds, "kept")
    assert again.config.pred_field == "predictions" and again.best_f1 == kept.best_f1

    # the panel loads, lists what can be shown and offers to delete the rest
    panel = AppPanel(ds)
    panel.event("on_load")
    assert panel.state["runs"] == ["kept"]
    assert len(panel.state["broken"]) == 2
    assert "cannot be shown" in panel.prop("broken_text")["default"]
    panel.event("on_click_repair")
    ds.reload()
    assert broken_optimal_confidence_runs(ds) == {}
    assert ds.list_runs() == ["kept"]
    assert panel.state["broken"] == {}

    # the killed process's claims do not block the keys
    compute_optimal_confidence(ds, "logits", run_key="fresh", progress=False)
    compute_optimal_confidence(ds, "logits", run_key="kept", overwrite=True, progress=False)
    assert load_optimal_confidence(ds, "kept").config.pred_field == "logits"


def test_an_interrupted_overwrite_gets_its_old_run_back(ds):
    """Killed between setting the old run aside and renaming the new one
    in: the old run comes back on the next repair (or store of that key)."""
    compute_optimal_confidence(ds, "predictions", run_key="r", progress=False)
    ds.rename_run("r", "r__oc_replaced_0123abcd")
    assert list_optimal_confidence_runs(ds) == []
    assert repair_optimal_confidence_runs(ds) == {"r__oc_replaced_0123abcd": "restored as 'r'"}
    assert load_optimal_confidence(ds, "r").config.pred_field == "predictions"


def test_a_run_without_results_is_skipped_not_fatal(ds):
    """A run registered without results (an older version killed mid-save)
    is the newest: the listing and the panel skip it and offer to delete it."""
    compute_optimal_confidence(ds, "predictions", run_key="good", progress=False)
    ds.register_run("half", ds.init_run(method="optimal_confidence"))
    assert list_optimal_confidence_runs(ds) == ["good"]
    assert broken_optimal_confidence_runs(ds) == {"half": "registered without results (its store was interrupted)"}
    panel = AppPanel(ds)
    panel.event("on_load")
    assert panel.state["controls"]["run_key"] == "good"


def test_a_result_deleted_elsewhere_is_said_to_be_gone(ds):
    from optimal_confidence.plots import threshold_id

    a = compute_optimal_confidence(ds, "predictions", run_key="a", progress=False)
    compute_optimal_confidence(ds, "logits", run_key="b", progress=False)
    panel = AppPanel(ds)
    panel.state = {"open_run": "a"}
    panel.event("on_load")
    assert panel.state["controls"]["run_key"] == "a"
    ds.delete_run("a")  # another tab, a notebook
    panel.click("threshold", threshold_id(a.best_threshold))
    assert panel.state["message"] == "The result 'a' is gone (deleted elsewhere); showing the newest result."
    assert panel.state["controls"]["run_key"] == "b"
    assert panel.state["runs"] == ["b"]
