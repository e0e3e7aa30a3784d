"""A sweep in shards on FiftyOne's delegated operations: each shard is a
queued ``sweep_shard`` operation that any ``fiftyone delegated launch``
worker sharing the database may claim (FiftyOne claims atomically: an
operation moves from QUEUED to RUNNING once). A shard's match records go to
a GridFS bucket of our own (a shard of 100k images outgrows a 16 MB
document); the worker that records the last shard merges them
(:func:`~optimal_confidence.run.shards.merge`) and stores the run, then
deletes the blobs and the job document. A shard that fails deletes the job
and its blobs, and the other shards then fail at once.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gridfs
import pymongo
from bson import ObjectId

import fiftyone as fo
import fiftyone.core.odm as foo_odm
import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService

from ..records.parallel import id_range_view, id_ranges
from ..result.stored import load_optimal_confidence
from ..run.jobs import check
from ..run.shards import MATCHING_OPTIONS, match_records, merge, refuse_options
from ..spec.request import RunRequest
from ..spec.table import ACTION_OPTIONS, BAND_OPTIONS
from ..store.runs import suggest_run_key
from .operators import execute_now

__all__ = ["QueuedShards", "SweepShard", "queue_shards"]

SHARD_URI = "@threshold-lab/optimal_confidence/sweep_shard"
JOBS = "optimal_confidence_shard_jobs"
BUCKET = "optimal_confidence_shards"


def _db() -> Any:
    return foo_odm.get_db_conn()


def _bucket() -> gridfs.GridFSBucket:
    return gridfs.GridFSBucket(_db(), bucket_name=BUCKET)


def drop_job(job: str) -> None:
    """Deletes a job's document and its shards' blobs (idempotent)."""
    _db()[JOBS].delete_one({"_id": ObjectId(job)})
    bucket = _bucket()
    for f in _db()[f"{BUCKET}.files"].find({"metadata.job": job}, {"_id": 1}):
        try:
            bucket.delete(f["_id"])
        except gridfs.errors.NoFile:
            pass


def _save(job: str, index: int, data: bytes, worker: str) -> dict | None:
    """Stores a shard's bytes and marks it done; the job after, or None
    when the job is gone (its blob is then deleted)."""
    fid = _bucket().upload_from_stream(f"{job}/{index}", data, metadata={"job": job, "index": index})
    after = _db()[JOBS].find_one_and_update(
        {"_id": ObjectId(job)},
        {"$addToSet": {"done": index}, "$set": {f"workers.{index}": worker}},
        return_document=pymongo.ReturnDocument.AFTER,
    )
    if after is None:
        _bucket().delete(fid)
    return after


def _load(job: str, num_shards: int) -> list[bytes]:
    """The newest blob of each shard, in shard order."""
    newest: dict[int, Any] = {}
    for f in _db()[f"{BUCKET}.files"].find({"metadata.job": job}).sort("uploadDate", 1):
        newest[f["metadata"]["index"]] = f["_id"]
    if sorted(newest) != list(range(num_shards)):
        raise RuntimeError(f"Shard job {job}: blobs of shards {sorted(newest)} of {num_shards} found")
    return [_bucket().open_download_stream(newest[i]).read() for i in range(num_shards)]


def _gone(job: str) -> RuntimeError:
    return RuntimeError(f"Shard job {job} is gone (cancelled, or another shard failed)")


class SweepShard(foo.Operator):
    @property
    def config(self) -> foo.OperatorConfig:
        return foo.OperatorConfig(
            name="sweep_shard", label="Optimal confidence: one shard of a sweep",
            unlisted=True, allow_immediate_execution=True, allow_delegated_execution=True,
        )

    def execute(self, ctx: Any) -> dict[str, Any]:
        p = ctx.params
        job, index, n = p["job"], int(p["index"]), int(p["num_shards"])
        worker = f"{socket.gethostname()}:{os.getpid()}"
        try:
            if _db()[JOBS].find_one({"_id": ObjectId(job)}, {"_id": 1}) is None:
                raise _gone(job)
            view = id_range_view(ctx.view, p["lo"], p["hi"])
            shard = match_records(view, p["pred_field"], p["gt_field"], **p["matching"])
            after = _save(job, index, shard.to_bytes(), worker)
            if after is None:
                raise _gone(job)
            out = {"shard": index, "worker": worker, "num_samples": shard.num_samples}
            if len(after["done"]) == n:  # the last shard: merge and store
                result = merge(_load(job, n), **p["choosing"])
                drop_job(job)
                out.update(merged=True, run_key=result.run_key, best_threshold=result.best_threshold)
            return out
        except BaseException:
            drop_job(job)
            raise


def _cut(samples: Any, num_shards: int) -> list[tuple[str, str]]:
    """Contiguous ranges of sorted sample ids, as (lowest, highest)."""
    ids = samples.values("id")
    if not ids:
        raise ValueError("There are no samples to sweep")
    return id_ranges(ids, max(1, min(int(num_shards), len(ids))))


def queue_shards(
    samples: Any, pred_field: str, gt_field: str | None = "ground_truth", *,
    num_shards: int = 4, run_key: str | None = None, delegation_target: str | None = None,
    **options: Any,
) -> "QueuedShards":
    """Queues a sweep of ``samples`` as ``num_shards`` delegated operations
    (``fiftyone delegated launch`` workers run them; the last one merges and
    stores the run under ``run_key``, a free key by default). Options and
    writes are checked before anything is queued.

    Returns:
        a :class:`QueuedShards`
    """
    refuse_options(options, lambda k: k in ACTION_OPTIONS or k in BAND_OPTIONS or k == "eval_key",
                   "the merged result's methods (review_band, evaluate, export), not with shards")
    dataset = samples._root_dataset
    run_key = run_key or suggest_run_key(dataset)
    check(samples, RunRequest.build(pred_field=pred_field, gt_field=gt_field, run_key=run_key, **options), confine=True)
    matching = {k: v for k, v in options.items() if k in MATCHING_OPTIONS}
    choosing = {k: v for k, v in options.items() if k not in MATCHING_OPTIONS} | {"run_key": run_key}
    ranges = _cut(samples, num_shards)
    job = ObjectId()
    _db()[JOBS].insert_one({"_id": job, "dataset": dataset.name, "num_shards": len(ranges),
                            "run_key": run_key, "done": [], "workers": {}, "created_at": datetime.utcnow()})
    ctx = dict(view=samples) if isinstance(samples, fo.DatasetView) else dict(dataset=samples)
    ops = []
    try:
        for i, (lo, hi) in enumerate(ranges):
            params = dict(job=str(job), index=i, num_shards=len(ranges), lo=lo, hi=hi, pred_field=pred_field,
                          gt_field=gt_field, matching=matching, choosing=choosing)
            out = execute_now(SHARD_URI, ctx, params=params, request_delegation=True,
                              delegation_target=delegation_target)
            out.raise_exceptions()
            ops.append(str(out.result["id"]))
    except BaseException:
        svc = DelegatedOperationService()
        for op in ops:
            svc.delete_operation(ObjectId(op))
        drop_job(str(job))
        raise
    return QueuedShards(str(job), dataset.name, run_key, len(ranges))


@dataclass(frozen=True)
class QueuedShards:
    """A sharded sweep queued for delegated workers: its ``state`` and, once
    the last shard has merged, its ``result()``."""

    id: str
    dataset_name: str
    run_key: str
    num_shards: int

    def operations(self) -> list[Any]:
        """The newest delegated operation of each shard (a rerun replaces it)."""
        docs = DelegatedOperationService().list_operations(
            operator=SHARD_URI, **{"context.request_params.params.job": self.id})
        newest: dict[int, Any] = {}
        for d in sorted(docs, key=lambda d: d.queued_at):
            newest[int(d.context.request_params["params"]["index"])] = d
        return [newest[i] for i in sorted(newest)]

    @property
    def state(self) -> str:
        """"queued", "running", "completed" or "failed"."""
        states = [str(d.run_state) for d in self.operations()]
        if "failed" in states:
            return "failed"
        if states and all(s == "completed" for s in states):
            return "completed"
        return "running" if {"running", "completed"} & set(states) else "queued"

    def result(self) -> Any:
        """The merged result stored under ``run_key``.

        Raises:
            RuntimeError: while shards are queued or running, or when one failed
        """
        state = self.state
        if state == "failed":
            errs = [getattr(d.result, "error", None) for d in self.operations() if str(d.run_state) == "failed"]
            last = (str(next((e for e in errs if e), "unknown error")).strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"The sharded sweep {self.id} failed: {last}")
        if state != "completed":
            raise RuntimeError(f"The sharded sweep {self.id} is {state}: `fiftyone delegated launch` "
                               f"workers run its shards; then call .result() again")
        dataset = fo.load_dataset(self.dataset_name)
        dataset.reload()  # the run was stored by another process
        return load_optimal_confidence(dataset, self.run_key)

    def wait(self, timeout: float | None = None, poll: float = 1.0) -> Any:
        """Waits until the shards are done and returns :meth:`result`."""
        end = None if timeout is None else time.time() + timeout
        while self.state in ("queued", "running"):
            if end is not None and time.time() > end:
                raise TimeoutError(f"The sharded sweep {self.id} is still {self.state} after {timeout} s")
            time.sleep(poll)
        return self.result()

    def cancel(self) -> None:
        """Marks unfinished shards failed and deletes the job and its blobs
        (for a worker that died: its shard stays running otherwise)."""
        svc = DelegatedOperationService()
        for d in self.operations():
            if str(d.run_state) in ("queued", "running", "scheduled"):
                svc.set_failed(d.id)
        drop_job(self.id)
