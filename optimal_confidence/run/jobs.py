"""A request with everything the command line and the operator do with it:
the sweep (or the comparison of several models), the review band, the
export of the operating point, storing, FiftyOne's evaluation at the
chosen threshold and the calibrated confidences in a new field. Every check comes first; the file is written before the
runs are stored, so a path that cannot be written stores nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import fiftyone.core.collections as foc

from ..records.fields import task_of
from ..records.sources import shared_fast_sources
from ..records.sweeping import Progress, choose_fields
from ..result.comparison import ModelComparison, comparison_run_key
from ..spec.options import OptionError
from ..spec.request import RunRequest
from ..store.calibrated import check_out_field
from ..store.evaluation import check_evaluation_key
from .pipeline import Outcome, prepare, run, store

__all__ = ["execute", "model_requests"]


def model_requests(request: RunRequest) -> list[RunRequest]:
    """One request per model: ``pred_field``, then each of
    ``compare_with``, stored as ``<run_key>_<field>`` when compared."""
    fields = [request.pred_field, *(request.compare_with or [])]
    if len(fields) == 1:
        return [request]
    key = request.run_key
    return [
        request.replace(
            pred_field=f, compare_with=None,
            run_key=None if key is None else comparison_run_key(key, f),
        )
        for f in fields
    ]


def _check_actions(samples: foc.SampleCollection, request: RunRequest, label_type: type) -> None:
    if request.calibrated_field is not None:
        try:
            check_out_field(
                samples, request.pred_field, request.calibrated_field,
                overwrite=request.overwrite, name="calibrated_field",
            )
        except ValueError as e:
            raise OptionError("calibrated_field", str(e)) from None
    if request.evaluate_key is not None:
        task = task_of(label_type, request.positive_label)
        try:
            check_evaluation_key(samples, task, request.evaluate_key, request.overwrite)
        except ValueError as e:
            raise OptionError("evaluate_key", str(e)) from None


def execute(
    samples: foc.SampleCollection,
    request: RunRequest,
    *,
    progress: Progress = None,
    strict_band: bool = True,
    before_store: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Runs ``request`` and its actions on ``samples``.

    Args:
        samples: a dataset or view
        request: a :class:`~optimal_confidence.spec.request.RunRequest`
        progress (None): FiftyOne's ``progress`` argument
        strict_band (True): see :func:`optimal_confidence.run.pipeline.run`
        before_store (None): called with the outcome before anything is
            stored (the command line writes its plot there)

    Returns:
        the :class:`~optimal_confidence.run.pipeline.Outcome` of the first model
        (with the comparison, the file exported and the evaluation key)
    """
    # the fields first: the models compared and their run keys follow from them
    requests = model_requests(choose_fields(samples, request))
    prepared = [prepare(samples, r) for r in requests]
    requests = [r for r, _ in prepared]
    label_type = prepared[0][1]
    _check_actions(samples, requests[0], label_type)
    sources = None
    if len(requests) > 1:
        sources = shared_fast_sources(samples, requests, label_type, progress)
    outcomes = [
        run(
            samples, r, progress=progress, strict_band=strict_band, store_result=False,
            source=s, label_type=t,
        )
        for (r, t), s in zip(prepared, sources or [None] * len(requests))
    ]
    main = outcomes[0]
    comparison = (
        ModelComparison({r.pred_field: o.result for r, o in zip(requests, outcomes)})
        if len(requests) > 1 else None
    )
    exported = (
        main.result.export(request.export_path, request.export_format)
        if request.export_path else None
    )
    main = dataclasses.replace(main, comparison=comparison, exported=exported)
    if before_store is not None:
        before_store(main)
    keys = [r.run_key for r in requests] if comparison is not None else None
    for r, o in zip(requests, outcomes):
        store(samples, r, o.result, compared_with=keys)
    if request.evaluate_key is not None:
        main.result.evaluate(samples, request.evaluate_key, overwrite=request.overwrite)
        main = dataclasses.replace(main, evaluation=request.evaluate_key)
    if request.calibrated_field is not None:
        main.result.calibrator.apply(
            samples._dataset, request.pred_field, request.calibrated_field,
            overwrite=request.overwrite,
        )
        main = dataclasses.replace(main, calibrated_field=request.calibrated_field)
    return main
