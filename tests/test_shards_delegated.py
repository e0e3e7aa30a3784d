"""A sweep in shards run by two real ``fiftyone delegated launch`` workers
sharing the tests' database: the merged, stored run equals one pass."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fiftyone as fo
from fiftyone.operators.delegated import DelegatedOperationService

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.app.shards import BUCKET, JOBS, queue_shards
from optimal_confidence.app.shards import _db

from database import stop_process
from helpers import random_dataset_with_operations

pytestmark = pytest.mark.delegated


@pytest.fixture
def workers(tmp_path):
    fiftyone = os.path.join(os.path.dirname(sys.executable), "fiftyone")
    procs, logs = [], []
    try:
        for i in range(2):
            log = open(tmp_path / f"worker{i}.log", "w+")
            logs.append(log)
            procs.append(subprocess.Popen([fiftyone, "delegated", "launch"], stdout=log, stderr=subprocess.STDOUT))
        yield procs
    finally:
        for p in procs:
            stop_process(p, timeout=10)
        for log in logs:
            log.close()


@pytest.fixture
def ds():
    with random_dataset_with_operations("oc-shards-delegated", num_samples=300, seed=5) as dataset:
        yield dataset


def test_two_workers_run_four_shards_and_the_last_one_merges(ds, workers):
    queued = queue_shards(ds, "predictions", num_shards=4, run_key="sharded", objective="precision", target=0.5)
    assert queued.state == "queued"
    with pytest.raises(RuntimeError, match="is queued"):
        queued.result()
    result = queued.wait(timeout=90, poll=0.5)
    want = compute_optimal_confidence(ds, "predictions", objective="precision", target=0.5)
    np.testing.assert_array_equal(result.thresholds, want.thresholds)
    for k in ("tp", "fp", "fn"):
        np.testing.assert_array_equal(getattr(result, k), getattr(want, k))
    assert result.best_threshold == want.best_threshold
    ds.reload()
    assert load_optimal_confidence(ds, "sharded").best_threshold == want.best_threshold
    ops = queued.operations()
    outs = [d.result.result for d in ops]
    assert sorted(o["shard"] for o in outs) == [0, 1, 2, 3] and sum(o["num_samples"] for o in outs) == 300
    assert sum(bool(o.get("merged")) for o in outs) == 1
    workers_seen = {o["worker"].rsplit(":", 1)[1] for o in outs}
    assert workers_seen <= {str(p.pid) for p in workers}
    assert len(workers_seen) == 2, outs
    assert _db()[JOBS].count_documents({}) == 0 and _db()[f"{BUCKET}.files"].count_documents({}) == 0


def test_a_bad_request_queues_nothing(ds):
    before = DelegatedOperationService().count(filters={})
    with pytest.raises(ValueError):
        queue_shards(ds, "predictions", iou=2.0)
    with pytest.raises(ValueError, match="review_precision"):
        queue_shards(ds, "predictions", review_precision=0.9)
    assert DelegatedOperationService().count(filters={}) == before
    assert _db()[JOBS].count_documents({}) == 0
