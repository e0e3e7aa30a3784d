"""After deployment: a result's threshold on new images without labels
(:func:`estimate`), which few of them to label (:func:`plan_labels`), and
what their labels say (:func:`verify`). The methods are in
:mod:`optimal_confidence.certainty.unlabeled`, :mod:`~optimal_confidence.certainty.shift`
and :mod:`~optimal_confidence.certainty.labeling`; this module reads the
new images from FiftyOne.

The model (the chance that a prediction is right, and how many objects
are never found) is learned from the result's own labeled images: the
match records stored with it. The new images need the same prediction
field; their ground truth, if any, is not read, except by :func:`verify`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

import fiftyone.core.collections as foc

from ..certainty.labeling import (
    LabelPlan,
    Verification,
    image_model,
    plan_labels as _plan,
    verify_counts,
)
from ..certainty.shift import check_shift
from ..certainty.unlabeled import Estimate, Predictions, estimate as _estimate, fit_outcome_model
from ..records.matching import read_label_values
from ..records.sweeping import sweep_curves
from ..spec.options import OptionError, check_number
from ..spec.request import RunRequest

if TYPE_CHECKING:  # pragma: no cover
    from .result import OptimalConfidenceResult

__all__ = ["estimate", "estimate_and_plan", "plan_labels", "unlabeled_predictions", "verify"]


def _check(result: "OptimalConfidenceResult", samples: Any) -> None:
    if not isinstance(samples, foc.SampleCollection):
        raise OptionError("samples", f"samples must be a FiftyOne dataset or view; got {type(samples).__name__}")
    c = result.config
    if c.task != "detection":
        raise OptionError(
            "samples",
            "estimates on unlabeled images are for detectors (Detections and Polylines "
            "results); this result is of a classifier",
        )
    kind = samples._get_label_field_type(c.pred_field) if samples.has_field(c.pred_field) else None
    if kind is None or kind.__name__ != c.label_type:
        raise OptionError(
            "samples",
            f"These samples have no {c.label_type} field '{c.pred_field}', the predictions "
            f"this result was computed from; the new images need the same field",
        )
    if len(samples.limit(1)) == 0:
        raise OptionError("samples", "There are no new images: pick a view or dataset with samples")


def unlabeled_predictions(result: "OptimalConfidenceResult", samples: foc.SampleCollection) -> Predictions:
    """The predictions of ``samples`` in the result's field (their labels
    matched to the result's classes; a class it never saw gets its own)."""
    _check(result, samples)
    values = read_label_values(samples, result.config.pred_field)
    classes = list(result.records.classes)
    for label in values.labels:
        if label is not None and label not in classes:
            classes.append(label)
    index = {name: i for i, name in enumerate(classes)}
    cls = np.array([-1 if v is None else index[v] for v in values.labels], dtype=np.int64)
    ids = tuple(samples.values("id"))
    return Predictions(tuple(classes), values.confidences, cls, values.sample, len(ids), ids)


def _where(result: "OptimalConfidenceResult", threshold: float | None) -> tuple[float, dict[str, float]]:
    """The threshold and per-class thresholds an estimate is made at: the
    given one, else where the result deploys."""
    if threshold is not None:
        return check_number("threshold", threshold), {}
    by_class = dict(result.class_thresholds) if result.objective.per_class else {}
    return result.best_threshold, by_class


def estimate(
    result: "OptimalConfidenceResult",
    samples: foc.SampleCollection,
    *,
    threshold: float | None = None,
    level: float = 0.95,
    n_bootstrap: int = 200,
    seed: int | None = None,
) -> Estimate:
    """Precision, recall and F1 of the result's threshold on ``samples``,
    images without labels (their ground truth, if any, is not read).

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
            of a detector, computed on labeled images like the new ones
        samples: the new images, with the same predictions field
        threshold (None): the threshold; by default the one the result
            deploys (each class at its own with per-class thresholds)
        level (0.95): the intervals' level
        n_bootstrap (200): the resamples of the labeled images behind the
            intervals
        seed (None): for reproducible intervals

    Returns:
        an :class:`~optimal_confidence.certainty.unlabeled.Estimate`, with
        the :class:`~optimal_confidence.certainty.shift.Shift` check in
        ``shift`` (say whether the estimate holds)

    Example::

        est = oc.estimate(result, dataset.match_tags("new"))
        print(est.report())
    """
    t, by_class = _where(result, threshold)
    return _estimate_on(result, unlabeled_predictions(result, samples), t, by_class, level, n_bootstrap, seed)


def _estimate_on(
    result: "OptimalConfidenceResult", preds: Predictions, t: float, by_class: dict[str, float],
    level: float, n_bootstrap: int, seed: int | None,
) -> Estimate:
    try:
        out = _estimate(
            result.records, preds, t, class_thresholds=by_class, level=level,
            n_bootstrap=n_bootstrap, seed=seed,
        )
    except ValueError as e:
        raise OptionError("samples", str(e)) from None
    return dataclasses.replace(out, shift=check_shift(result.records, preds))


def estimate_and_plan(
    result: "OptimalConfidenceResult", samples: foc.SampleCollection, budget: int | None, *,
    seed: int | None = None,
) -> tuple[Estimate, LabelPlan | None]:
    """:func:`estimate` and, with a ``budget``, :func:`plan_labels` where the
    result deploys, reading the new images once (the operator and the
    command line ask for both)."""
    t, by_class = _where(result, None)
    preds = unlabeled_predictions(result, samples)
    estimate = _estimate_on(result, preds, t, by_class, 0.95, 200, seed)
    plan = None if budget is None else _plan_on(result, preds, budget, t, by_class, "precision", 0.95, seed)
    return estimate, plan


def plan_labels(
    result: "OptimalConfidenceResult",
    samples: foc.SampleCollection,
    budget: int,
    *,
    metric: str = "precision",
    threshold: float | None = None,
    level: float = 0.95,
    seed: int | None = None,
) -> LabelPlan:
    """Which of ``samples`` (new images) to label to verify ``metric`` at
    the threshold with the narrowest interval: ``budget`` draws, images
    chosen with probabilities that grow with how uncertain their kept
    predictions are (see :mod:`optimal_confidence.certainty.labeling`).
    ``plan.tag(samples)`` tags them for annotation; keep the plan
    (``plan.to_dict()``) for :func:`verify`.

    Example::

        plan = oc.plan_labels(result, new, 100)
        plan.tag(new, "label_next")
        new.match_tags("label_next").annotate(...)   # then oc.verify(result, new, plan=plan)
    """
    t, by_class = _where(result, threshold)
    return _plan_on(result, unlabeled_predictions(result, samples), budget, t, by_class, metric, level, seed)


def _plan_on(
    result: "OptimalConfidenceResult", preds: Predictions, budget: int, t: float,
    by_class: dict[str, float], metric: str, level: float, seed: int | None,
) -> LabelPlan:
    try:
        return _plan(
            result.records, preds, budget, t, class_thresholds=by_class, metric=metric,
            level=level, seed=seed,
        )
    except ValueError as e:
        raise OptionError("budget" if "budget" in str(e) else "metric", str(e)) from None


def _labeled_counts(
    result: "OptimalConfidenceResult", samples: foc.SampleCollection, ids: list[str], gt_field: str,
    threshold: float, by_class: Mapping[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Per labeled image (in the order of ``ids``): the true positives at
    the threshold and the ground truth objects, matched as the result was."""
    request = RunRequest.of_result(result).replace(
        gt_field=gt_field, lower_bound=None, upper_bound=None, num_thresholds=None,
        per_class=False, min_support=1, n_bootstrap=None, seed=None,
    )
    view = samples.select(ids, ordered=True)
    records = sweep_curves(view, request, progress=False).records
    kept = Predictions.of_records(records).kept(threshold, by_class)
    n = len(ids)
    tp = np.bincount(records.pred_sample[kept & records.pred_tp], minlength=n).astype(np.float64)
    gt = np.bincount(records.gt_sample, minlength=n).astype(np.float64)
    return tp, gt


def verify(
    result: "OptimalConfidenceResult",
    samples: foc.SampleCollection,
    *,
    gt_field: str = "ground_truth",
    plan: LabelPlan | Mapping[str, Any] | None = None,
    level: float = 0.95,
    guarantee: float | None = None,
) -> Verification:
    """Precision, recall and F1 at the threshold on ``samples`` (new
    images), from the model corrected by the few of them now labeled in
    ``gt_field``: prediction-powered, so it stays valid when the model is
    wrong (see :mod:`optimal_confidence.certainty.labeling`).

    Args:
        result: the result whose threshold is verified
        samples: the new images (the same ones, in the same order, as the
            plan's)
        gt_field ("ground_truth"): the field the labels were written to
        plan (None): the :class:`~optimal_confidence.certainty.labeling.LabelPlan`
            (or its ``to_dict()``) the labeled images were drawn by; without
            one, the images with ``gt_field`` are taken as a uniform sample
        level (0.95): the intervals' level
        guarantee (None): with a precision or recall target objective, the
            level at which to certify the target on the new images

    Returns:
        a :class:`~optimal_confidence.certainty.labeling.Verification`
    """
    if isinstance(plan, Mapping):
        plan = LabelPlan.from_dict(plan)
    preds = unlabeled_predictions(result, samples)
    if not samples.has_field(gt_field):
        raise OptionError("gt_field", f"The samples have no field '{gt_field}' with the new labels")
    if plan is not None:
        if plan.all_ids is not None and tuple(plan.all_ids) != preds.sample_ids:
            raise OptionError("plan", "The plan was made for other images (or in another order): pass the samples it was made on")
        t, by_class = plan.threshold, plan.class_thresholds
        draws, q, method = plan.draws, plan.probabilities, "drawn by the label plan, prediction-powered"
    else:
        t, by_class = _where(result, None)
        labeled = set(samples.exists(gt_field).values("id"))
        draws = np.array([i for i, sid in enumerate(preds.sample_ids) if sid in labeled], dtype=np.int64)
        q = np.full(preds.num_samples, 1.0 / preds.num_samples)
        method = "the labeled images taken as a uniform sample, prediction-powered"
    if len(np.unique(draws)) < 2:
        raise OptionError("gt_field", f"Verifying needs at least 2 labeled images in '{gt_field}'")
    distinct = np.unique(draws)
    ids = [preds.sample_ids[i] for i in distinct]
    tp, gt = _labeled_counts(result, samples, ids, gt_field, t, by_class)
    pos = np.searchsorted(distinct, draws)
    m = image_model(fit_outcome_model(result.records), preds, t, by_class)
    target = None
    if guarantee is not None:
        o = result.objective
        if o.constrained is None or o.target is None:
            raise OptionError("guarantee", "guarantee needs a result with a precision or recall target objective")
        target = (o.constrained, o.target, float(guarantee))
    return verify_counts(m, draws, q, tp[pos], gt[pos], level=level, method=method, target=target)
