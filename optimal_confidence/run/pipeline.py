"""A run in named stages: prepare the request against the samples, sweep
(:mod:`optimal_confidence.records.sweeping`), choose by the objective, add
the calibrator and intervals, the review band, store.

:func:`run` is what :func:`~optimal_confidence.compute_optimal_confidence`,
the command line and the operator execute; :func:`sweep` stops before the
choice. Every stage before :func:`store` writes nothing, so bad input
leaves the dataset untouched.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import fiftyone.core.collections as foc

from ..curves.objectives import UnattainableTargetError
from ..curves.review import ReviewBand
from ..records import sweeping
from ..records.sources import RecordSource
from ..records.sweeping import Progress
from ..result.result import OptimalConfidenceResult
from ..spec.objective import Objective
from ..spec.request import RunRequest
from ..store.plan import Write, check_writes
from ..store.runs import RunStep
from ..store.transaction import apply

__all__ = ["Outcome", "finish", "prepare", "run", "sweep"]

logger = logging.getLogger(__name__)


def prepare(samples: foc.SampleCollection, request: RunRequest) -> tuple[RunRequest, type]:
    """The request with its fields chosen and its matching resolved, checked
    against ``samples`` (:func:`~optimal_confidence.records.sweeping.prepare`),
    its run key too, and the fields' label type."""
    request, label_type = sweeping.prepare(samples, request)
    check_writes(samples, _writes(request))
    return request, label_type


def _writes(request: RunRequest) -> list[Write]:
    """What :func:`store` writes: the run, under the request's run key."""
    if request.run_key is None:
        return []
    return [Write("run", request.run_key, "run_key", overwrite=request.overwrite)]


def sweep(
    samples: foc.SampleCollection,
    request: RunRequest,
    *,
    progress: Progress = None,
    source: RecordSource | None = None,
    label_type: type | None = None,
) -> OptimalConfidenceResult:
    """The exact curves of ``request`` on ``samples`` as a result, with the
    request's objective set but not applied yet (an unattainable target
    raises only when the best point is read). Nothing is stored. See
    :func:`~optimal_confidence.records.sweeping.sweep_curves` for
    ``source`` and ``label_type``."""
    if label_type is None:
        request, label_type = prepare(samples, request)
    curves = sweeping.sweep_curves(
        samples, request, progress=progress, source=source, label_type=label_type
    )
    return OptimalConfidenceResult.of_curves(
        curves,
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
    :func:`optimal_confidence.run.jobs.execute` also the comparison, the file
    exported and the evaluation stored, when asked for."""

    result: OptimalConfidenceResult
    band: ReviewBand | None = None
    band_error: str | None = None
    comparison: Any = None
    exported: str | None = None
    evaluation: str | None = None
    calibrated_field: str | None = None
    estimate: Any = None
    label_plan: Any = None
    label_tag: str | None = None

    def done(self) -> dict[str, Any]:
        """What the actions did, as plain values, only those done:
        ``comparison`` (the models' operating points), ``exported`` (the
        file), ``evaluation`` (the key), ``calibrated_field``, ``estimate``
        (on the new images, with its ``summary`` and the shift check's) and
        ``label_plan`` (its ``summary``, the tag and the images tagged)."""
        out: dict[str, Any] = {}
        if self.comparison is not None:
            out["comparison"] = self.comparison.operating_points()
        for name in ("exported", "evaluation", "calibrated_field"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.estimate is not None:
            est = self.estimate
            out["estimate"] = {
                **{k: getattr(est, k) for k in ("precision", "recall", "f1", "tp", "fp", "fn")},
                **{k: list(getattr(est, k)) for k in ("precision_ci", "recall_ci", "f1_ci")},
                "summary": est.summary(),
                "shift": est.shift.summary() if est.shift is not None else None,
                "shift_holds": None if est.shift is None else bool(est.shift.holds),
            }
        if self.label_plan is not None:
            out["label_plan"] = {
                "summary": self.label_plan.summary(), "tag": self.label_tag,
                "sample_ids": list(self.label_plan.sample_ids or []),
            }
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


def store(samples: foc.SampleCollection, request: RunRequest, result: OptimalConfidenceResult) -> None:
    """Stores the result under the request's run key, if it has one,
    through the write plan (:mod:`optimal_confidence.store`)."""
    apply(samples, [RunStep(w, result) for w in _writes(request)])


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
        request: a :class:`~optimal_confidence.spec.request.RunRequest`
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
    return finish(samples, request, result, strict_band=strict_band, store_result=store_result)


def finish(
    samples: foc.SampleCollection | None,
    request: RunRequest,
    result: OptimalConfidenceResult,
    *,
    strict_band: bool = True,
    store_result: bool = True,
) -> Outcome:
    """The stages of :func:`run` after the sweep: choose, the calibrator,
    the intervals, the review band, store (on ``samples``, which may be
    None when the request stores nothing)."""
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
