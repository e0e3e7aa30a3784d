"""A sweep in shards: match each part of a collection where it is, merge
the records once.

The curve is a sum over images, so the match records of disjoint parts of
a collection (id ranges read by other processes or machines, cuts at
random) add up to the records of one pass. :func:`match_records` matches
one shard with the matching options; :func:`merge` joins shards and
chooses with the other options, giving the
:class:`~optimal_confidence.OptimalConfidenceResult` one
:func:`~optimal_confidence.compute_optimal_confidence` call over their
union gives: the same thresholds and counts.

Example::

    shards = [oc.match_records(dataset[k::4] ...)]   # anywhere, any order
    result = oc.merge(shards, objective="precision", target=0.9)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import fiftyone as fo
import fiftyone.core.collections as foc

from ..curves.merge import merge_records
from ..curves.sweep import MatchRecords, count_at
from ..curves.sweep_curves import SweepConfig, SweepCurves
from ..records import sweeping
from ..records.shards import MATCHING_KEYS, RecordShard
from ..records.sources import check_detections, open_source
from ..result.result import OptimalConfidenceResult
from ..spec.options import OPTIONS, OptionError
from ..spec.request import RunRequest
from ..spec.table import ACTION_OPTIONS, BAND_OPTIONS
from ..store.plan import check_writes
from . import pipeline

__all__ = ["RecordShard", "match_records", "merge"]

#: the options of :func:`match_records`: the fields and how to match
MATCHING_OPTIONS = tuple(
    o.name for o in OPTIONS if o.group in ("fields", "matching") and o.name not in ACTION_OPTIONS
)
#: matching options that only say how a shard is read, not what it holds
_READING = ("engine", "eval_key", "num_workers")


def match_records(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str | None = "ground_truth",
    *,
    progress: bool | Callable | None = None,
    **options: Any,
) -> RecordShard:
    """The match records of one shard of a collection, for :func:`merge`.

    Run it on any part of a dataset (``dataset.match(...)``, an id range,
    ``select(ids)``, a random cut), in any process or machine that reaches
    the database. A shard may hold no predictions; the merged records are
    checked.

    Args:
        samples: the shard: a dataset or view
        pred_field: the predictions field
        gt_field ("ground_truth"): the ground truth field
        progress (None): FiftyOne's ``progress`` argument
        **options: the matching options of
            :func:`~optimal_confidence.compute_optimal_confidence` (``iou``,
            ``classwise``, ``iscrowd``, ``engine``, ``num_workers``, ...);
            the others are :func:`merge`'s

    Returns:
        a :class:`~optimal_confidence.records.shards.RecordShard`; its
        ``to_bytes()`` carries it elsewhere
    """
    refuse_options(options, lambda k: k not in MATCHING_OPTIONS, "oc.merge (they choose, match_records matches)")
    request = RunRequest.build(pred_field=pred_field, gt_field=gt_field, **options)
    empty = len(samples.limit(1)) == 0
    # an empty shard is checked against its dataset, and has no records
    request, label_type = sweeping.prepare(samples._root_dataset if empty else samples, request)
    if empty:
        records, source = _no_records(), None
    else:
        source = open_source(samples, request, label_type, progress, checked=False)
        records = source.records()
    used = {} if source is None else source.settings
    matching = {
        "dataset": samples._root_dataset.name, "pred_field": request.pred_field,
        "gt_field": request.gt_field, "label_type": label_type.__name__,
        "iou": float(request.iou), "classwise": bool(request.classwise),
        "iscrowd": used.get("iscrowd", request.iscrowd),
        "use_masks": bool(used.get("use_masks", request.use_masks)),
        "use_boxes": bool(used.get("use_boxes", request.use_boxes)),
        "positive_label": request.positive_label,
        "method": "none" if source is None else source.method,
    }
    return RecordShard(records, matching)


def merge(
    shards: Sequence[RecordShard | bytes],
    **options: Any,
) -> OptimalConfidenceResult:
    """The result of one sweep over the union of ``shards``: their records
    joined (:func:`~optimal_confidence.curves.merge.merge_records`), the
    thresholds chosen, the objective applied, intervals and calibration as
    asked, and with ``run_key`` the run stored on the shards' dataset
    through the write plan (checked before anything is merged).

    Args:
        shards: :class:`~optimal_confidence.records.shards.RecordShard`\\ s
            (or their bytes) of disjoint samples, matched with the same
            fields and options
        **options: the options of
            :func:`~optimal_confidence.compute_optimal_confidence` that
            choose and store (``objective``, ``target``, bounds,
            ``num_thresholds``, ``n_bootstrap``, ``run_key``, ...); a
            matching option must equal the shards'

    Returns:
        an :class:`~optimal_confidence.OptimalConfidenceResult`

    Raises:
        ValueError: if there are no shards, they were matched differently,
            an option is invalid, or there is nothing to sweep; nothing is
            stored
    """
    refuse_options(options, lambda k: k in _READING or k in ACTION_OPTIONS or k in BAND_OPTIONS,
            "match_records, or the result's methods (review_band, evaluate, export)")
    shards = _checked_shards(shards)
    m = shards[0].matching
    for k in set(options) & set(MATCHING_OPTIONS):
        if options[k] != m.get(k):
            raise OptionError(k, f"{k}={options[k]!r}, but the shards were matched with {k}={m.get(k)!r}")
    matched = {k: m[k] for k in MATCHING_KEYS if k not in ("dataset", "label_type")}
    request = RunRequest.build(**{**matched, **options})
    samples = _dataset(m["dataset"], needed=request.run_key is not None)
    if samples is not None:
        check_writes(samples, pipeline._writes(request))
    records = merge_records([s.records for s in shards])
    _check_records(records, request, m["label_type"], samples)
    methods = sorted({s.matching["method"] for s in shards} - {"none"})
    result = _result(records, request, m, "+".join(methods) or "none")
    return pipeline.finish(samples, request, result).result


def refuse_options(options: dict[str, Any], wrong: Callable[[str], bool], where: str) -> None:
    """Refuses the ``options`` that are ``wrong`` here, saying ``where``
    they belong."""
    bad = sorted(k for k in options if wrong(k))
    if bad:
        raise OptionError(bad[0], f"{', '.join(map(repr, bad))}: pass to {where}")


def _checked_shards(shards: Sequence[RecordShard | bytes]) -> list[RecordShard]:
    """The shards (bytes read), refused unless matched alike."""
    if isinstance(shards, (RecordShard, bytes)) or not len(shards):
        raise ValueError("merge() takes a non-empty list of shards from match_records()")
    out = [s if isinstance(s, RecordShard) else RecordShard.from_bytes(s) for s in shards]
    first = out[0].matching
    for i, s in enumerate(out[1:], 1):
        for k in MATCHING_KEYS:
            if s.matching.get(k) != first.get(k):
                raise ValueError(
                    f"Shard {i} was matched with {k}={s.matching.get(k)!r}, shard 0 with "
                    f"{k}={first.get(k)!r}: shards merge only when matched alike"
                )
    return out


def _dataset(name: str, *, needed: bool) -> fo.Dataset | None:
    if fo.dataset_exists(name):
        return fo.load_dataset(name)
    if needed:
        raise OptionError("run_key", f"run_key needs the shards' dataset {name!r}, which does not exist")
    return None


def _check_records(records: MatchRecords, request: RunRequest, label_type: str, samples: Any) -> None:
    """The checks a sweep makes of its records, on the merged ones."""
    if label_type == "Classification":
        if records.num_preds == 0 or records.confidences().size == 0:
            raise OptionError("pred_field", "The shards hold no predictions with confidences: nothing to sweep")
        return
    if samples is None and records.num_preds and not records.confidences().size:
        raise OptionError("pred_field", f"None of the predictions in '{request.pred_field}' has a confidence")
    check_detections(records.pred_conf, records.num_gts, request, samples)


def _result(
    records: MatchRecords, request: RunRequest, m: dict[str, Any], method: str
) -> OptimalConfidenceResult:
    """The result of the merged records, before the objective is applied
    (as :func:`~optimal_confidence.run.pipeline.sweep` gives it)."""
    thresholds, lo, hi = sweeping.choose_thresholds(records.pred_conf, request)
    counts = count_at(records, thresholds)
    config = SweepConfig(
        pred_field=m["pred_field"], gt_field=m["gt_field"], iou=m["iou"], classwise=m["classwise"],
        lower_bound=float(lo), upper_bound=float(hi), num_thresholds=request.num_thresholds,
        num_samples=records.num_samples, label_type=m["label_type"], use_masks=m["use_masks"],
        use_boxes=m["use_boxes"], iscrowd=m["iscrowd"], method=method,
        positive_label=m["positive_label"], dataset=m["dataset"],
    )
    curves = SweepCurves(config, thresholds, counts.tp, counts.fp, counts.fn, records)
    return OptimalConfidenceResult.of_curves(
        curves, run_key=request.run_key,
        objective=dataclasses.replace(request.objective(), guarantee=None),
    )


def _no_records() -> MatchRecords:
    import numpy as np

    f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
    return MatchRecords((), f, np.zeros(0, dtype=bool), i, i, f, i, i, 0, pred_iou=f)
