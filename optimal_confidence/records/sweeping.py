"""The sweep stage: a request checked against the samples, its fields and
matching resolved, its match records read and counted at every threshold
(:func:`sweep_curves`). Reads only; what is chosen from the curves is the
result's (:mod:`optimal_confidence.result`), and what a run writes is the
store's (:mod:`optimal_confidence.store`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc

from ..curves.sweep import count_at, exact_thresholds, grid_thresholds
from ..curves.sweep_curves import SweepConfig, SweepCurves
from ..spec.options import OptionError, check_task
from ..spec.request import RunRequest
from .fields import check_fields, check_labels, check_matching_options, default_fields, task_of
from .sources import RecordSource, open_source

__all__ = ["Progress", "choose_thresholds", "prepare", "sweep_curves"]

#: FiftyOne's ``progress`` argument: True/False/None or a callable
Progress = bool | Callable | None


def check_samples(samples: foc.SampleCollection, request: RunRequest) -> type:
    """Checks the request against ``samples``: the fields exist and fit,
    ``positive_label`` and ``eval_key`` fit the fields, there are samples.
    Reads only the schema and the evaluation list (what the run will write
    is checked by the write plan, :mod:`optimal_confidence.store`).

    Returns:
        the fields' label type
    """
    if not isinstance(samples, foc.SampleCollection):
        raise ValueError(
            f"samples must be a FiftyOne dataset or view; got "
            f"{type(samples).__name__}"
        )
    r = request
    label_type = check_fields(samples, r.pred_field, r.gt_field)
    if r.positive_label is not None and not issubclass(label_type, fo.Classification):
        raise OptionError(
            "positive_label",
            f"positive_label applies to Classification fields; "
            f"'{r.pred_field}' holds {label_type.__name__}",
        )
    check_task(
        {"objective": r["objective"], "export_format": r["export_format"]},
        task_of(label_type, r.positive_label),
    )
    if r.eval_key is not None:
        check_eval_key(samples, r.eval_key, label_type)
    else:
        check_matching_options(samples, label_type, r.pred_field, r.gt_field, r.use_masks, r.use_boxes)
    if not fast_path(r, label_type):
        # the fast matcher counts unlabeled objects in its records
        # (records.sources.check_labeled), without a pass of its own
        check_labels(samples, {"pred_field": r.pred_field, "gt_field": r.gt_field})
    if len(samples.limit(1)) == 0:
        raise ValueError(
            "The view is empty: there are no samples to sweep. Pick a view "
            "or dataset with samples"
        )
    return label_type


def fast_path(request: RunRequest, label_type: type) -> bool:
    """Whether the request's records come from the fast matcher (unless it
    finds it does not cover the fields, and the caller falls back)."""
    return (
        issubclass(label_type, fo.Detections) and request.eval_key is None
        and request.engine != "fiftyone"
    )


def choose_fields(samples: foc.SampleCollection, request: RunRequest) -> RunRequest:
    """The fields the request leaves to choose (None), by the rule the App's
    form uses (:func:`~optimal_confidence.records.fields.default_fields`).

    Raises:
        OptionError: naming the fields that would work, when none does
    """
    if request.pred_field is not None and request.gt_field is not None:
        return request
    if not isinstance(samples, foc.SampleCollection):
        return request  # check_samples says what samples must be
    chosen = default_fields(samples, request.gt_field, request.pred_field)
    if chosen.gt_field is None or chosen.pred_field is None:
        raise OptionError(
            "pred_field",
            f"No pair of ground truth and predictions fields to sweep was "
            f"found; name them (pred_field, gt_field). {chosen.explain()}",
        )
    return request.replace(gt_field=chosen.gt_field, pred_field=chosen.pred_field)


def check_eval_key(samples: foc.SampleCollection, eval_key: str, label_type: type) -> None:
    """``eval_key`` is an evaluation of the dataset, of ``Detections``."""
    evaluations = samples.list_evaluations()
    if eval_key not in evaluations:
        raise OptionError(
            "eval_key",
            f"Dataset '{samples._dataset.name}' has no evaluation "
            f"{eval_key!r}. Evaluations: {evaluations or 'none'}",
        )
    if not issubclass(label_type, fo.Detections):
        raise OptionError("eval_key", "eval_key reuse works for Detections fields")


def resolve(samples: foc.SampleCollection, request: RunRequest) -> RunRequest:
    """``iou`` and ``classwise`` where the request leaves them unset: those
    of ``eval_key``, else 0.5 and True (the rules are checked again with
    them, e.g. per-class thresholds need ``classwise``)."""
    iou, classwise = request.iou, request.classwise
    if request.eval_key is not None:
        cfg = samples.get_evaluation_info(request.eval_key).config
        if iou is None and hasattr(cfg, "iou"):
            iou = float(cfg.iou)
        if classwise is None and hasattr(cfg, "classwise"):
            classwise = bool(cfg.classwise)
    return request.replace(
        iou=0.5 if iou is None else iou, classwise=True if classwise is None else classwise
    )


def choose_thresholds(conf: np.ndarray, request: RunRequest) -> tuple[np.ndarray, float, float]:
    """The thresholds to sweep and the bounds they lie in: every distinct
    confidence within the bounds (exact), or the even grid.

    Raises:
        OptionError: when the bounds leave no confidence to sweep
    """
    conf = conf[~np.isnan(conf)]
    data_lo, data_hi = float(conf.min()), float(conf.max())
    given_lo, given_hi = request.lower_bound, request.upper_bound
    lo = data_lo if given_lo is None else given_lo
    hi = data_hi if given_hi is None else given_hi
    where = f"confidences in this view range over [{data_lo}, {data_hi}]"
    if lo > hi and given_lo is None:
        raise OptionError(
            "upper_bound",
            f"upper_bound ({hi}) is below the smallest confidence ({data_lo}); {where}",
        )
    if lo > hi:
        raise OptionError(
            "lower_bound",
            f"lower_bound ({lo}) is above the largest confidence ({data_hi}); {where}",
        )
    if request.num_thresholds is not None:
        return grid_thresholds(lo, hi, request.num_thresholds), lo, hi
    thresholds = exact_thresholds(conf, lo, hi)
    if thresholds.size == 0:
        raise OptionError(
            "lower_bound",
            f"No prediction confidence lies within [{lo}, {hi}]; {where}. "
            f"Widen the bounds or pass num_thresholds for an even grid",
        )
    return thresholds, lo, hi


def _config(
    samples: foc.SampleCollection,
    request: RunRequest,
    label_type: type,
    source: RecordSource,
    bounds: tuple[float, float],
) -> SweepConfig:
    r, used = request, source.settings
    return SweepConfig(
        pred_field=r.pred_field,
        gt_field=r.gt_field,
        iou=r.iou,
        classwise=bool(r.classwise),
        lower_bound=float(bounds[0]),
        upper_bound=float(bounds[1]),
        num_thresholds=r.num_thresholds,
        num_samples=len(samples),
        label_type=label_type.__name__,
        use_masks=bool(used.get("use_masks", r.use_masks)),
        use_boxes=bool(used.get("use_boxes", r.use_boxes)),
        iscrowd=used.get("iscrowd", r.iscrowd),
        method=source.method,
        positive_label=r.positive_label,
        dataset=samples._root_dataset.name,
    )


def prepare(samples: foc.SampleCollection, request: RunRequest) -> tuple[RunRequest, type]:
    """The request with its fields chosen and its matching resolved, checked
    against ``samples``, and the fields' label type."""
    request = choose_fields(samples, request)
    label_type = check_samples(samples, request)
    return resolve(samples, request), label_type


def sweep_curves(
    samples: foc.SampleCollection,
    request: RunRequest,
    *,
    progress: Progress = None,
    source: RecordSource | None = None,
    label_type: type | None = None,
) -> SweepCurves:
    """The exact curves of ``request`` on ``samples``: its records read (or
    ``source``'s, records already read, see
    :func:`~optimal_confidence.compare_models`), its thresholds chosen, the
    counts at each. Nothing is chosen and nothing is stored. With
    ``label_type``, the request is one :func:`prepare` returned, with that
    label type, and is not checked again."""
    if label_type is None:
        request, label_type = prepare(samples, request)
    if source is None:
        source = open_source(samples, request, label_type, progress)
    thresholds, lo, hi = choose_thresholds(source.confidences(), request)
    records = source.records()
    counts = count_at(records, thresholds)
    return SweepCurves(
        config=_config(samples, request, label_type, source, (lo, hi)),
        thresholds=thresholds,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        records=records,
    )
