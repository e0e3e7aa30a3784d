"""FiftyOne views of a result: the predictions kept at a threshold (or at
each class's own), and the predictions a review band sends to a person.

Views filter labels and never change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fiftyone.core.collections as foc
from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from .options import check_number
from .runs import suggest_eval_key

if TYPE_CHECKING:  # pragma: no cover
    from .result import OptimalConfidenceResult

__all__ = ["evaluate_at", "kept_view", "review_view"]


def _check_samples(result: "OptimalConfidenceResult", samples: foc.SampleCollection) -> None:
    if not isinstance(samples, foc.SampleCollection):
        raise ValueError(
            f"samples must be a FiftyOne dataset or view; got "
            f"{type(samples).__name__}"
        )
    pred_field = result.config.pred_field
    if samples.get_field(pred_field) is None:
        raise ValueError(
            f"'{samples._dataset.name}' has no field '{pred_field}', the "
            f"predictions field of this result"
        )


def _per_class_filter(result: "OptimalConfidenceResult") -> ViewExpression:
    """Each class's predictions at its own threshold; labels outside the
    result's classes (and no label) at the best threshold.

    One flat expression, whatever the number of classes: the label's
    threshold is looked up in two arrays (``$indexOfArray`` is -1 for a
    label that is not there, and ``$arrayElemAt`` at -1 is the last element:
    the best threshold). One ``$or`` branch per class nests as deep as there
    are classes, which MongoDB refuses beyond about a hundred.
    """
    by_class = result.class_thresholds
    labels = list(by_class)
    thresholds = [float(by_class[k]) for k in labels] + [float(result.best_threshold)]
    threshold = ViewExpression(
        {
            "$let": {
                "vars": {"label": F("label"), "labels": labels, "thresholds": thresholds},
                "in": {
                    "$arrayElemAt": [
                        "$$thresholds", {"$indexOfArray": ["$$labels", "$$label"]}
                    ]
                },
            }
        }
    )
    return F("confidence") >= threshold


def _score(config: Any) -> ViewExpression:
    """What the result swept, as an expression on a prediction: the
    confidence, or for a binary task the positive score
    (:func:`~optimal_confidence.sweep.positive_score`)."""
    score = F("confidence")
    if config.task == "binary":
        score = (F("label") == config.positive_label).if_else(score, 1 - score)
    return score


def kept_view(
    result: "OptimalConfidenceResult",
    samples: foc.SampleCollection,
    threshold: float | None = None,
) -> foc.SampleCollection:
    """The view of ``samples`` with the predictions kept at a threshold.

    Predictions with ``confidence >= threshold`` stay (for a binary
    classifier, the answers whose positive score is: those that call the
    image positive); the others (and predictions without a confidence) are
    filtered out of the view, not deleted. Samples left without predictions stay in the view
    (``only_matches=False``), so evaluating the view counts their ground
    truth as false negatives, exactly as ``result.counts_at`` does::

        view = samples.filter_labels(
            pred_field, F("confidence") >= threshold, only_matches=False
        )

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
        samples: the dataset or view to filter, usually the one the result
            was computed on (``dataset.load_run_view(run_key)``)
        threshold (None): the threshold; ``None`` keeps the predictions the
            result deploys: those at its best threshold, or with a per-class
            objective each class at its own threshold (labels outside them
            at the best threshold)

    Returns:
        a :class:`fiftyone.core.view.DatasetView`

    Raises:
        ValueError: if ``samples`` is not a FiftyOne collection with the
            predictions field, or ``threshold`` is not a finite number
    """
    _check_samples(result, samples)
    c = result.config
    if c.task == "binary":  # the answers that call the image positive
        t = result.best_threshold if threshold is None else check_number("threshold", threshold)
        keep = _score(c) >= t
    elif threshold is not None:
        keep = F("confidence") >= check_number("threshold", threshold)
    elif result.objective.per_class:
        keep = _per_class_filter(result)
    else:
        keep = F("confidence") >= result.best_threshold
    return samples.filter_labels(result.config.pred_field, keep, only_matches=False)


def review_view(
    result: "OptimalConfidenceResult",
    samples: foc.SampleCollection,
    t_low: float,
    t_high: float,
) -> foc.SampleCollection:
    """The samples with predictions in the review band ``t_low <= score <
    t_high``, showing only those predictions. The score is what the result
    swept: the confidence, or for a binary task the positive score (one
    minus the confidence of a negative answer)."""
    _check_samples(result, samples)
    c = result.config
    score = _score(c)
    return samples.filter_labels(
        c.pred_field, (score >= t_low) & (score < t_high), only_matches=True
    )


def check_evaluation_key(
    samples: foc.SampleCollection, task: str, eval_key: Any, overwrite: bool
) -> None:
    """Refuses what :func:`evaluate_at` cannot do, before anything runs: a
    classifier's result, a key that is no identifier, or an evaluation
    that exists (without ``overwrite``)."""
    if task != "detection":
        raise ValueError(
            "evaluate() runs evaluate_detections: it is for detection results "
            "(Detections and Polylines); for a classifier, use "
            "samples.evaluate_classifications on result.view(samples)"
        )
    if not isinstance(eval_key, str) or not eval_key.isidentifier():
        raise ValueError(f"eval_key must be a valid identifier, e.g. 'deployed'; got {eval_key!r}")
    if eval_key in samples._dataset.list_evaluations() and not overwrite:
        raise ValueError(
            f"Dataset '{samples._dataset.name}' already has an evaluation "
            f"'{eval_key}'; choose another key or pass overwrite=True to replace it"
        )


def evaluate_at(
    result: "OptimalConfidenceResult",
    samples: foc.SampleCollection,
    eval_key: str,
    *,
    threshold: float | None = None,
    overwrite: bool = False,
) -> Any:
    """Runs FiftyOne's ``evaluate_detections`` on the predictions the
    result deploys (:func:`kept_view` of ``samples``: the best threshold, or
    each class at its own; or those at ``threshold``) with the result's ``iou``, ``classwise`` and
    crowd attribute, and stores it as an ordinary FiftyOne evaluation, so
    that FiftyOne's Model Evaluation panel shows its confusion matrix,
    per-class metrics and samples at the deployed threshold. Its TP, FP and
    FN sums equal :meth:`~OptimalConfidenceResult.operating_counts`.

    The evaluation writes its fields (``<eval_key>``, ``<eval_key>_id``,
    ``<eval_key>_iou``, ``<eval_key>_tp``, ...) like any evaluation; the
    predictions below the threshold get none.

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
            of detections
        samples: the dataset or view, usually the one the result was
            computed on
        eval_key: the evaluation key
        threshold (None): evaluate the predictions kept at this threshold
            instead (sums equal ``result.counts_at(threshold)``)
        overwrite (False): whether to replace an existing evaluation
            ``eval_key``; without it, an existing key is refused and nothing
            changes. The replacement is run under a new key and renamed
            once complete, so a failed run leaves the old evaluation

    Returns:
        FiftyOne's ``DetectionResults``

    Raises:
        ValueError: for a classification result, an invalid or existing
            key (without ``overwrite``)
    """
    c = result.config
    check_evaluation_key(samples, c.task, eval_key, overwrite)
    _check_samples(result, samples)
    if threshold is not None:  # checked before an evaluation is replaced
        threshold = check_number("threshold", threshold)
    dataset = samples._dataset
    replace = eval_key in dataset.list_evaluations()
    # a replacement is evaluated under a new key first: the old evaluation
    # stays until the new one is complete
    key = suggest_eval_key(dataset, f"{eval_key}_oc_new") if replace else eval_key
    kwargs: dict[str, Any] = dict(
        gt_field=c.gt_field, eval_key=key, iou=c.iou, classwise=c.classwise,
        iscrowd=c.iscrowd,
    )
    if c.use_masks:
        kwargs["use_masks"] = True
    if c.use_boxes:
        kwargs["use_boxes"] = True
    try:
        out = kept_view(result, samples, threshold).evaluate_detections(c.pred_field, **kwargs)
    except BaseException:
        if replace and key in dataset.list_evaluations():
            dataset.delete_evaluation(key)
        raise
    if not replace:
        return out
    dataset.delete_evaluation(eval_key)
    dataset.rename_evaluation(key, eval_key)
    return dataset.load_evaluation_results(eval_key, cache=False)
