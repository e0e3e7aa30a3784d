"""FiftyOne views of a result: the predictions kept at a threshold (or at
each class's own), and the predictions a review band sends to a person.

Views filter labels and never change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fiftyone.core.collections as foc
from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from ..spec.options import check_number

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = ["check_samples", "kept_view", "review_view"]


def check_samples(result: "OptimalConfidenceResult", samples: foc.SampleCollection) -> None:
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
    (:func:`~optimal_confidence.curves.sweep.positive_score`)."""
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
    check_samples(result, samples)
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
    check_samples(result, samples)
    c = result.config
    score = _score(c)
    return samples.filter_labels(
        c.pred_field, (score >= t_low) & (score < t_high), only_matches=True
    )
