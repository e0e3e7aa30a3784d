"""The fast matcher in several processes on one machine.

The samples are cut into ``num_workers`` ranges of sample ids;
each worker process opens the collection by name (as FiftyOne's own
parallel ``map_samples`` does: its own database client, the view rebuilt
from its stages), reads its range with
:func:`~optimal_confidence.records.fast_matching.records_fast_many` and sends
back its match records, which :func:`~optimal_confidence.curves.merge.merge_records`
joins in the order of the ranges. Matches never cross images, so the
joined records give the same counts as one process at every threshold.

Workers are forked (FiftyOne's multiprocessing context on Linux and macOS),
so they start in milliseconds and share the parent's imports.
"""

from __future__ import annotations

from typing import Any, Callable

from bson import ObjectId

import fiftyone.core.collections as foc
import fiftyone.core.utils as fou

from ..curves.merge import merge_records
from ..curves.sweep import MatchRecords
from .fast_matching import records_fast_many

__all__ = ["MIN_PARALLEL_SAMPLES", "id_range_view", "id_ranges", "parallel_records_fast", "workers_for"]

#: below this many samples, ``num_workers=None`` means one process: starting
#: workers and reading ids costs more than a second read saves
MIN_PARALLEL_SAMPLES = 10_000

# set in each worker by _init_worker: the collection it reads
_collection: foc.SampleCollection | None = None


def workers_for(num_workers: int | None, num_samples: int) -> int:
    """The worker processes to use: ``num_workers`` when given (at most one
    per sample), else FiftyOne's recommendation for a process pool from
    :data:`MIN_PARALLEL_SAMPLES` samples on; 1 means this process."""
    if num_workers is None:
        if num_samples < MIN_PARALLEL_SAMPLES:
            return 1
        num_workers = fou.recommend_process_pool_workers(None)
    elif fou.recommend_process_pool_workers(num_workers) == 0:
        # a daemon process (e.g. a pool worker) may not start children
        return 1
    return max(1, min(int(num_workers), num_samples))


def parallel_records_fast(
    samples: foc.SampleCollection,
    pred_fields: list[str],
    gt_field: str,
    *,
    num_workers: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **options: Any,
) -> list[MatchRecords]:
    """:func:`~optimal_confidence.records.fast_matching.records_fast_many`,
    in :func:`workers_for` processes.

    The fields and options are checked here first (on no samples), so a
    field the fast matcher does not cover raises its
    ``UnsupportedMatchingError`` before any worker starts; one found in the
    data (an ambiguous crowd flag) comes from the worker that reads it.

    Args:
        samples: a dataset or view
        pred_fields: the ``Detections`` fields of predictions
        gt_field: the ground truth field
        num_workers (None): see :func:`workers_for`
        progress (None): receives ``(done, total)`` sample counts as the
            workers finish
        **options: the options of ``records_fast_many``

    Returns:
        one :class:`~optimal_confidence.curves.sweep.MatchRecords` per field,
        with counts equal to one process's at every threshold
    """
    num_samples = len(samples)
    workers = workers_for(num_workers, num_samples)
    if workers <= 1:
        return records_fast_many(samples, pred_fields, gt_field, progress=progress, **options)
    records_fast_many(samples.limit(0), pred_fields, gt_field, **options)
    shares = id_ranges(samples.values("id"), workers)

    ctx = fou.get_multiprocessing_context()
    init = (*_serialized(samples),)
    parts: list[list[MatchRecords] | None] = [None] * workers
    done = 0
    with ctx.Pool(workers, initializer=_init_worker, initargs=init) as pool:
        jobs = [(k, share, pred_fields, gt_field, options) for k, share in enumerate(shares)]
        for k, records in pool.imap_unordered(_match_share, jobs):
            parts[k] = records
            done += records[0].num_samples
            if progress is not None:
                progress(done, num_samples)
    return [merge_records([p[f] for p in parts]) for f in range(len(pred_fields))]


def id_ranges(ids: list[str], workers: int) -> list[tuple[str, str]]:
    """``workers`` ranges ``(first, last)`` of sample ids, with about as many
    of ``ids`` in each, in id order (a range reads by the ``_id`` index; a
    list of ids to select would be matched again for every batch read)."""
    ids = sorted(ids)  # hex strings of one length sort as the ObjectIds
    cuts = [round(k * len(ids) / workers) for k in range(workers + 1)]
    return [(ids[a], ids[b - 1]) for a, b in zip(cuts, cuts[1:])]


def id_range_view(samples: foc.SampleCollection, first: str, last: str) -> foc.SampleCollection:
    """The samples of ``samples`` with ids from ``first`` to ``last``: a
    ``$match`` on ``_id`` reads by the index (an expression would scan)."""
    in_range = {"_id": {"$gte": ObjectId(first), "$lte": ObjectId(last)}}
    return samples.mongo([{"$match": in_range}])


def _serialized(samples: foc.SampleCollection) -> tuple[str, Any]:
    """The dataset's name and the view's stages, as a worker rebuilds it."""
    dataset = samples._root_dataset
    stages = None if samples is dataset else samples._serialize()
    return dataset.name, stages


def _init_worker(dataset_name: str, stages: Any) -> None:
    """Opens the collection in a worker, with a database client of its own
    (pymongo's clients must not cross a fork)."""
    import fiftyone as fo
    import fiftyone.core.odm.database as food
    import fiftyone.core.view as fov

    global _collection
    food._disconnect()
    # the parent has validated the database already; a warning about its
    # version would be printed once per worker
    fo.config.database_validation = False
    dataset = fo.load_dataset(dataset_name, reload=True)
    _collection = dataset if stages is None else fov.DatasetView._build(dataset, stages)


def _match_share(job: tuple) -> tuple[int, list[MatchRecords]]:
    """The records of one worker's range of sample ids."""
    k, (first, last), pred_fields, gt_field, options = job
    share = id_range_view(_collection, first, last)
    return k, records_fast_many(share, pred_fields, gt_field, **options)
