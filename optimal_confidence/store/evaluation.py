"""FiftyOne's evaluation at a result's threshold, stored as an ordinary
evaluation of the dataset: the predictions the result keeps
(:func:`~optimal_confidence.records.views.kept_view`) evaluated with the
result's matching.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fiftyone.core.collections as foc

from ..records.views import check_samples, kept_view
from ..spec.options import check_number
from .runs import suggest_eval_key

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = ["check_evaluation_key", "evaluate_at"]


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
    check_samples(result, samples)
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
