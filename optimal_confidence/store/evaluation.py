"""FiftyOne's evaluation at a result's threshold, stored as an ordinary
evaluation of the dataset: the predictions the result keeps
(:func:`~optimal_confidence.records.views.kept_view`) evaluated with the
result's matching, written through the write plan (:mod:`.transaction`):
evaluated under a temporary key, renamed into place once complete, marked
as this package's (so ``overwrite`` may replace it later, and nothing
else).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fiftyone.core.collections as foc

from ..records.views import check_samples, kept_view
from ..spec.options import OptionError, check_number
from .marks import mark, unmark
from .plan import Write, mark_evaluation
from .names import FIELD_PENDING as PENDING
from .names import FIELD_REPLACED as REPLACED
from .names import token
from .transaction import apply

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = ["EvaluationStep", "check_evaluation_task", "evaluate_at", "evaluation_write"]


def check_evaluation_task(task: str, option: str = "eval_key") -> None:
    """Refuses a classifier's result: :func:`evaluate_at` runs
    ``evaluate_detections``."""
    if task != "detection":
        raise OptionError(
            option,
            "evaluate() runs evaluate_detections: it is for detection results "
            "(Detections and Polylines); for a classifier, use "
            "samples.evaluate_classifications on result.view(samples)",
        )


def evaluation_write(
    config: Any, eval_key: Any, *, overwrite: bool = False, option: str = "eval_key"
) -> Write:
    """What an evaluation under ``eval_key`` of a sweep with ``config``
    (its fields) writes, for the write plan."""
    return Write(
        "evaluation", eval_key, option, overwrite=overwrite,
        label_fields=(config.pred_field, config.gt_field),
        video=config.pred_field.startswith("frames."),
    )


class _Nones:
    """Where the label fields an evaluation touches are None. FiftyOne's
    ``rename_evaluation`` writes an empty label list there (measured on
    1.22.1: ``None`` becomes ``Detections(detections=[])`` on every sample
    without that field); :meth:`restore` puts the ``None`` back, so that a
    rename changes no label."""

    def __init__(self, dataset: Any, fields: tuple[str, ...]) -> None:
        self.where: dict[str, Any] = {}
        for field in fields:
            if field.startswith("frames."):
                values = dataset.values(["id", field])
                self.where[field] = {
                    sid: [j for j, v in enumerate(frames or []) if v is None]
                    for sid, frames in zip(*values)
                    if frames and any(v is None for v in frames)
                }
            else:
                self.where[field] = dataset.exists(field, False).values("id")

    def restore(self, dataset: Any) -> None:
        for field, where in self.where.items():
            if not where:
                continue
            if not field.startswith("frames."):
                dataset.select(where).set_values(field, [None] * len(where))
                continue
            view = dataset.select(list(where), ordered=True)
            frames = view.values(field)
            for sid, per in zip(where, frames):
                for j in where[sid]:
                    per[j] = None
            view.set_values(field, frames)


def _rename(dataset: Any, old: str, new: str, nones: _Nones) -> None:
    dataset.rename_evaluation(old, new)
    nones.restore(dataset)


class EvaluationStep:
    """FiftyOne's evaluation of the predictions ``result`` keeps (at
    ``threshold``, or where it deploys) as a step of a write plan."""

    def __init__(self, write: Write, result: "OptimalConfidenceResult", samples: foc.SampleCollection, threshold: float | None = None) -> None:
        self.write, self.result, self.threshold = write, result, threshold
        self.view = samples
        t = token()
        self.pending = f"{write.name}{PENDING}{t}"
        self.replaced = f"{write.name}{REPLACED}{t}"
        self.set_aside = self.moved_in = False

    def stage(self, samples: foc.SampleCollection) -> None:
        dataset = samples._root_dataset
        fields = set(self.write.label_fields)
        if self.write.name in dataset.list_evaluations():  # the one replaced
            old = dataset.get_evaluation_info(self.write.name).config
            fields |= {old.pred_field, old.gt_field}
        self.nones = _Nones(dataset, tuple(sorted(fields)))
        mark(dataset, "staged", self.pending)  # the repair's to remove, if we are killed
        c = self.result.config
        kwargs: dict[str, Any] = dict(
            gt_field=c.gt_field, eval_key=self.pending, iou=c.iou, classwise=c.classwise,
            iscrowd=c.iscrowd,
        )
        if c.use_masks:
            kwargs["use_masks"] = True
        if c.use_boxes:
            kwargs["use_boxes"] = True
        kept_view(self.result, self.view, self.threshold).evaluate_detections(c.pred_field, **kwargs)

    def commit(self, samples: foc.SampleCollection) -> None:
        dataset, key = samples._root_dataset, self.write.name
        if key in dataset.list_evaluations():
            mark(dataset, "staged", self.replaced)
            _rename(dataset, key, self.replaced, self.nones)
            self.set_aside = True
        _rename(dataset, self.pending, key, self.nones)
        self.moved_in = True
        mark_evaluation(dataset, key)
        unmark(dataset, "staged", self.pending)

    def undo(self, samples: foc.SampleCollection) -> None:
        dataset, key = samples._root_dataset, self.write.name
        if self.moved_in:
            mark(dataset, "staged", self.pending)
            _rename(dataset, key, self.pending, self.nones)
            unmark(dataset, "evaluation", key)
            self.moved_in = False
        if self.set_aside:
            _rename(dataset, self.replaced, key, self.nones)
            mark_evaluation(dataset, key)  # the old one is ours again
            unmark(dataset, "staged", self.replaced)
            self.set_aside = False

    def discard(self, samples: foc.SampleCollection) -> None:
        dataset = samples._root_dataset
        if self.pending in dataset.list_evaluations():
            dataset.delete_evaluation(self.pending)
        unmark(dataset, "staged", self.pending)

    def cleanup(self, samples: foc.SampleCollection) -> None:
        if self.set_aside:
            dataset = samples._root_dataset
            dataset.delete_evaluation(self.replaced)
            unmark(dataset, "staged", self.replaced)


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
        overwrite (False): whether to replace an evaluation ``eval_key``
            that this package ran; without it an existing key is refused,
            and an evaluation it did not run is never replaced. The
            replacement is run under a temporary key of its own and renamed
            once complete, so a failed run leaves the old evaluation

    Returns:
        FiftyOne's ``DetectionResults``

    Raises:
        ValueError: for a classification result, or a key the write plan
            refuses (see :mod:`optimal_confidence.store.plan`): an existing
            evaluation (without ``overwrite``, or not run by this package),
            a brain run, a key whose fields (``<key>_tp``, ...) or label
            attributes (``<key>``, ``<key>_id``, ``<key>_iou``: ``label``
            or ``iscrowd`` would overwrite the labels) exist; nothing is
            written then
    """
    c = result.config
    check_evaluation_task(c.task)
    check_samples(result, samples)
    if not isinstance(overwrite, bool):
        raise OptionError("overwrite", f"overwrite must be True or False; got {overwrite!r}")
    if threshold is not None:  # checked before anything is written
        threshold = check_number("threshold", threshold)
    write = evaluation_write(c, eval_key, overwrite=overwrite)
    apply(samples, [EvaluationStep(write, result, samples, threshold)])
    return samples._root_dataset.load_evaluation_results(eval_key, cache=False)
