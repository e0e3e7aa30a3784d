"""A run in named stages: check the request against the samples, resolve
what depends on them, read the records' source, choose the thresholds,
count, choose by the objective, add intervals, store.

:func:`run` is what :func:`~optimal_confidence.compute_optimal_confidence`,
the command line and the operator execute; :func:`sweep` stops before the
choice (``check_on`` uses it). Every stage before :func:`store` writes
nothing, so bad input leaves the dataset untouched.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc

from .fields import check_fields, check_labels, check_matching_options, default_fields
from .objectives import Objective, UnattainableTargetError
from .options import OptionError
from .request import RunRequest
from .result import OptimalConfidenceResult, SweepConfig
from .review import ReviewBand
from .runs import check_run_key, save_run
from .sources import RecordSource, open_source
from .sweep import count_at, exact_thresholds, grid_thresholds

__all__ = ["Outcome", "run", "sweep"]

logger = logging.getLogger(__name__)

Progress = bool | Callable | None


def check_samples(samples: foc.SampleCollection, request: RunRequest) -> type:
    """Checks the request against ``samples``: the fields exist and fit,
    ``positive_label`` and ``eval_key`` fit the fields, the run key is free,
    there are samples. Reads only the schema and the run and evaluation
    lists.

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
    if r.eval_key is not None:
        check_eval_key(samples, r.eval_key, label_type)
    else:
        check_matching_options(samples, label_type, r.pred_field, r.gt_field, r.use_masks, r.use_boxes)
    check_labels(samples, {"pred_field": r.pred_field, "gt_field": r.gt_field})
    if r.run_key is not None:
        check_run_key(samples, r.run_key, r.overwrite)
    if len(samples.limit(1)) == 0:
        raise ValueError(
            "The view is empty: there are no samples to sweep. Pick a view "
            "or dataset with samples"
        )
    return label_type


def choose_fields(samples: foc.SampleCollection, request: RunRequest) -> RunRequest:
    """The fields the request leaves to choose (None), by the rule the App's
    form uses (:func:`~optimal_confidence.fields.default_fields`).

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


def sweep(
    samples: foc.SampleCollection,
    request: RunRequest,
    *,
    progress: Progress = None,
    source: RecordSource | None = None,
    label_type: type | None = None,
) -> OptimalConfidenceResult:
    """The exact curves of ``request`` on ``samples``, with the request's
    objective set but not applied yet (an unattainable target raises only
    when the best point is read). Nothing is stored. A ``source`` given
    (records already read, see :func:`compare_models`) is used instead of
    opening one; with ``label_type``, the request is one :func:`prepare`
    returned, with that label type, and is not checked again."""
    if label_type is None:
        request, label_type = prepare(samples, request)
    if source is None:
        source = open_source(samples, request, label_type, progress)
    thresholds, lo, hi = choose_thresholds(source.confidences(), request)
    records = source.records()
    counts = count_at(records, thresholds)
    return OptimalConfidenceResult(
        config=_config(samples, request, label_type, source, (lo, hi)),
        thresholds=thresholds,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        records=records,
        run_key=request.run_key,
        # a guarantee is certified by choose(): a target it cannot certify
        # fails there, with the curves
        objective=dataclasses.replace(request.objective(), guarantee=None),
    )


def choose(result: OptimalConfidenceResult, objective: Objective | None = None) -> OptimalConfidenceResult:
    """Chooses the best threshold (and each class's) now, by ``objective``
    (default: the result's), so that an unattainable or uncertifiable
    target fails before anything is stored; the error's ``result`` holds
    the curves chosen by F1."""
    try:
        if objective is not None and objective != result.objective:
            result = result.with_objective(objective)
        result.best_index  # noqa: B018 - cached
        result.class_choices  # noqa: B018
    except UnattainableTargetError as e:
        e.result = dataclasses.replace(result, objective=Objective())
        raise
    return result


@dataclass(frozen=True)
class Outcome:
    """What :func:`run` gives: the result, and the review band the request
    asked for (``band``), or why there is none (``band_error``); from
    :func:`optimal_confidence.jobs.execute` also the comparison, the file
    exported and the evaluation stored, when asked for."""

    result: OptimalConfidenceResult
    band: ReviewBand | None = None
    band_error: str | None = None
    comparison: Any = None
    exported: str | None = None
    evaluation: str | None = None
    calibrated_field: str | None = None

    def done(self) -> dict[str, Any]:
        """What the actions did, as plain values, only those done:
        ``comparison`` (the models' operating points), ``exported`` (the
        file), ``evaluation`` (the key), ``calibrated_field``."""
        out: dict[str, Any] = {}
        if self.comparison is not None:
            out["comparison"] = self.comparison.operating_points()
        for name in ("exported", "evaluation", "calibrated_field"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def band_of(result: OptimalConfidenceResult, request: RunRequest, *, strict: bool) -> Outcome:
    """The request's review band, priced with the objective's costs; with
    ``strict`` a band that cannot be found raises, else it is reported."""
    asked = request.band()
    if asked is None:
        return Outcome(result)
    try:
        return Outcome(result, band=result.review_band(**asked))
    except ValueError as e:  # also UnattainableTargetError
        if strict:
            raise
        return Outcome(result, band_error=str(e))


def store(
    samples: foc.SampleCollection,
    request: RunRequest,
    result: OptimalConfidenceResult,
    compared_with: list[str] | None = None,
) -> None:
    """Stores the result under the request's run key, if it has one (with
    the run keys of the models it was compared with)."""
    if request.run_key is not None:
        save_run(
            samples, request.run_key, result, overwrite=request.overwrite,
            compared_with=compared_with,
        )


def run(
    samples: foc.SampleCollection,
    request: RunRequest,
    *,
    progress: Progress = None,
    strict_band: bool = True,
    store_result: bool = True,
    source: RecordSource | None = None,
    label_type: type | None = None,
) -> Outcome:
    """Runs ``request`` on ``samples``: sweep, choose, intervals, the review
    band, then store. Every stage that can refuse the request runs before
    the store.

    Args:
        samples: a dataset or view
        request: a :class:`~optimal_confidence.request.RunRequest`
        progress (None): FiftyOne's ``progress`` argument
        strict_band (True): whether a review band that cannot be found
            fails the run (the command line) or is reported in
            :attr:`Outcome.band_error` (the operator)
        store_result (True): whether to store the result now; the command
            line stores it (:func:`store`) after writing its files, so that
            a file it cannot write leaves the dataset untouched
        source (None), label_type (None): see :func:`sweep`
    """
    result = sweep(samples, request, progress=progress, source=source, label_type=label_type)
    result = choose(result, request.objective())
    if request.calibrate is not None:
        result = dataclasses.replace(result, calibrator=result.fit_calibrator(request.calibrate))
    if request.n_bootstrap is not None:
        result = result.with_bootstrap(
            request.n_bootstrap, seed=request.seed, level=request.ci_level
        )
    for warning in result.warnings:
        logger.warning(warning)
    outcome = band_of(result, request, strict=strict_band)
    if store_result:
        store(samples, request, result)
    return outcome
