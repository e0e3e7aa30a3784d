"""Where a sweep's match records come from.

Four sources share one interface (:class:`RecordSource`): the fast exact
matcher for box ``Detections``, one ``evaluate_detections`` pass, an
evaluation the user already ran (``eval_key``), and ``Classification``
fields. Each gives the predictions' confidences cheaply first, so that the
data and the threshold bounds are checked before a slow matching pass, and
the match records second.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc

from .classification import records_from_classifications
from .fast_matching import UnsupportedMatchingError
from .parallel import parallel_records_fast
from .fields import check_boxes, check_labels, scored_fields_hint, unlabeled_error
from .matching import read_label_values, records_from_eval_key, records_from_evaluation
from ..spec.options import OptionError
from ..spec.request import RunRequest
from ..curves.sweep import MatchRecords

logger = logging.getLogger(__name__)

__all__ = ["RecordSource", "check_detections", "open_source", "ready", "shared_fast_sources"]


class RecordSource:
    """The match records of one request's fields.

    Attributes:
        method: how predictions are matched, as stored in the result's
            config (``"fast"``, ``"evaluate_detections"``,
            ``"eval_key:<key>"``, ``"classification"``)
        settings: what matching used, where a source decides it (an
            evaluation's ``use_masks``, ``use_boxes`` and ``iscrowd``)
    """

    method = ""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {}

    def confidences(self) -> np.ndarray:
        """Every prediction's confidence (``NaN`` where it has none);
        cheap. Raises ``ValueError`` when there is nothing to sweep."""
        raise NotImplementedError

    def records(self) -> MatchRecords:
        """The match records; this may run the matching."""
        raise NotImplementedError


class _Ready(RecordSource):
    """Records that are as cheap as the confidences: the fast matcher and
    ``Classification`` fields."""

    def __init__(self, records: MatchRecords, method: str) -> None:
        super().__init__()
        self._records = records
        self.method = method

    def confidences(self) -> np.ndarray:
        return self._records.pred_conf

    def records(self) -> MatchRecords:
        return self._records


def ready(records: MatchRecords, method: str) -> RecordSource:
    """The source of records already read (merged shards)."""
    return _Ready(records, method)


class _Read(RecordSource):
    """Reads the predictions' and ground truth's ids, labels and
    confidences first; matches (or reads an evaluation's matches) later."""

    def __init__(self, samples: foc.SampleCollection, request: RunRequest, checked: bool = True) -> None:
        super().__init__()
        self.samples, self.request = samples, request
        self.preds = read_label_values(samples, request.pred_field)
        self.gts = read_label_values(samples, request.gt_field, confidences=False)
        if checked:
            check_detections(self.preds.confidences, len(self.gts), request, samples)
        check_boxes(samples, request.pred_field)
        check_boxes(samples, request.gt_field)

    def confidences(self) -> np.ndarray:
        return self.preds.confidences


class _Evaluation(_Read):
    method = "evaluate_detections"

    def __init__(
        self, samples: foc.SampleCollection, request: RunRequest, progress: Any, checked: bool = True
    ) -> None:
        super().__init__(samples, request, checked)
        self.progress = progress

    def records(self) -> MatchRecords:
        r = self.request
        return records_from_evaluation(
            self.samples, r.pred_field, r.gt_field, preds=self.preds, gts=self.gts,
            iou=r.iou, classwise=r.classwise, use_masks=r.use_masks,
            use_boxes=r.use_boxes, iscrowd=r.iscrowd, progress=self.progress,
        )


class _EvalKey(_Read):
    def __init__(self, samples: foc.SampleCollection, request: RunRequest, checked: bool = True) -> None:
        super().__init__(samples, request, checked)
        self.method = f"eval_key:{request.eval_key}"

    def records(self) -> MatchRecords:
        r = self.request
        records, used = records_from_eval_key(
            self.samples, r.pred_field, r.gt_field, r.eval_key, preds=self.preds,
            gts=self.gts, iou=r.iou, classwise=r.classwise,
        )
        self.settings = {
            "use_masks": used.get("use_masks", r.use_masks),
            "use_boxes": used.get("use_boxes", r.use_boxes),
            "iscrowd": used["iscrowd"],
        }
        logger.info(
            "Reused evaluation '%s' (iou %g, classwise %s): no matching ran",
            r.eval_key, used["iou"], used["classwise"],
        )
        return records


def open_source(
    samples: foc.SampleCollection,
    request: RunRequest,
    label_type: type,
    progress: bool | Callable | None = None,
    *,
    checked: bool = True,
) -> RecordSource:
    """The source of a request's records: ``Classification`` fields,
    ``eval_key``, the fast matcher (``engine`` ``"auto"`` or ``"fast"``,
    where it applies) or one ``evaluate_detections`` pass.

    With ``checked=False`` records with nothing to sweep are returned as
    they are: a shard of a collection (:func:`optimal_confidence.match_records`)
    may hold no predictions; the merged records are checked.

    Raises:
        ValueError: when there is nothing to sweep (no predictions, no
            confidences, no ground truth), or ``engine="fast"`` does not
            cover the fields
    """
    r = request
    if issubclass(label_type, fo.Classification):
        records = records_from_classifications(
            samples, r.pred_field, r.gt_field, positive_label=r.positive_label
        )
        if checked:
            check_classifications(samples, records, r)
        return _Ready(records, "classification")
    if r.eval_key is not None:
        return _EvalKey(samples, r, checked)
    if r.engine != "fiftyone":
        try:
            (records,) = parallel_records_fast(
                samples, [r.pred_field], r.gt_field, iou=r.iou, classwise=r.classwise,
                iscrowd=r.iscrowd, use_masks=r.use_masks, use_boxes=r.use_boxes,
                num_workers=r.num_workers, progress=batch_progress(progress),
            )
        except UnsupportedMatchingError as e:
            if r.engine == "fast":
                raise OptionError(
                    "engine",
                    f"engine='fast' does not cover this field: {e}. Use "
                    f"engine='auto' or 'fiftyone'",
                ) from None
            check_labels(samples, {"pred_field": r.pred_field, "gt_field": r.gt_field})
        else:
            check_labeled(records, r)
            if checked:
                check_detections(records.pred_conf, records.num_gts, r, samples)
            return _Ready(records, "fast")
    return _Evaluation(samples, r, progress, checked)


def shared_fast_sources(
    samples: foc.SampleCollection, requests: list[RunRequest], label_type: type, progress: Any = None
) -> list[RecordSource] | None:
    """Sources for several prediction fields against one ground truth from
    one read of the samples (the fast matcher reads the ground truth once
    for all of them), or None when a request is not for the fast matcher
    (then each opens its own source). Each field's records equal those of
    its own :func:`open_source`."""
    r = requests[0]
    same = {(q.gt_field, q.iou, q.classwise, q.iscrowd, q.use_masks, q.use_boxes) for q in requests}
    if (
        not issubclass(label_type, fo.Detections) or len(same) > 1
        or any(q.eval_key is not None or q.engine == "fiftyone" for q in requests)
    ):
        return None
    try:
        many = parallel_records_fast(
            samples, [q.pred_field for q in requests], r.gt_field, iou=r.iou,
            classwise=r.classwise, iscrowd=r.iscrowd, use_masks=r.use_masks,
            use_boxes=r.use_boxes, num_workers=r.num_workers,
            progress=batch_progress(progress),
        )
    except UnsupportedMatchingError:
        return None
    for q, records in zip(requests, many):
        check_labeled(records, q)
        check_detections(records.pred_conf, records.num_gts, q, samples)
    return [_Ready(records, "fast") for records in many]


# ---------------------------------------------------------------------------
# The data checks


def check_labeled(records: MatchRecords, request: RunRequest) -> None:
    """Refuses objects without a label (class -1 in the records), as
    :func:`~optimal_confidence.records.fields.check_labels` does."""
    for role, field, classes in (
        ("pred_field", request.pred_field, records.pred_class),
        ("gt_field", request.gt_field, records.gt_class),
    ):
        unlabeled = int(np.count_nonzero(classes < 0))
        if unlabeled:
            raise unlabeled_error(role, field, unlabeled, len(classes))


def check_detections(
    pred_conf: np.ndarray, num_gts: int, request: RunRequest, samples: foc.SampleCollection
) -> None:
    """Refuses a sweep with no predictions, no confidences or no ground
    truth, naming the field to look at (and those that would work)."""
    pred_field, gt_field = request.pred_field, request.gt_field
    if len(pred_conf) == 0:
        raise OptionError(
            "pred_field",
            f"There are no predictions in '{pred_field}' in this view: "
            f"nothing to sweep. Check the field name and the view",
        )
    if np.isnan(pred_conf).all():
        raise OptionError(
            "pred_field",
            f"None of the {len(pred_conf)} predictions in '{pred_field}' has a "
            f"confidence; a threshold sweep needs prediction confidences. "
            f"{scored_fields_hint(samples, pred_field)}",
        )
    if num_gts == 0:
        raise OptionError(
            "gt_field",
            f"There are no ground truth objects in '{gt_field}' in this "
            f"view: precision, recall and F1 are undefined. Check the field "
            f"name and the view",
        )


def check_classifications(
    samples: foc.SampleCollection, records: MatchRecords, request: RunRequest
) -> None:
    """Refuses ``Classification`` fields with nothing to judge, no
    confidences, or a ``positive_label`` that is no label of theirs."""
    pred_field, gt_field = request.pred_field, request.gt_field
    if records.num_preds == 0:
        raise OptionError(
            "gt_field",
            f"No image in this view has a ground truth label in "
            f"'{gt_field}': nothing to judge the predictions against",
        )
    if np.isnan(records.pred_conf).all():
        raise OptionError(
            "pred_field",
            f"None of the predictions in '{pred_field}' has a confidence "
            f"(or a label); a threshold sweep needs prediction confidences",
        )
    positive = request.positive_label
    if positive is not None:
        labels = set(samples.distinct(f"{gt_field}.label")) | set(
            samples.distinct(f"{pred_field}.label")
        )
        if positive not in labels:
            raise OptionError(
                "positive_label",
                f"positive_label '{positive}' is not a label of "
                f"'{gt_field}' or '{pred_field}'; labels are {sorted(labels)}",
            )


# ---------------------------------------------------------------------------
# Progress


class _BatchProgress:
    """A stand-in for FiftyOne's progress bar, so that a ``progress``
    callable written for FiftyOne (including ``fo.report_progress``
    wrappers, which keep state on the bar) also follows the fast matcher's
    batches. One object lives through the whole pass."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self.iteration = 0
        self.total: int | None = None

    @property
    def has_total(self) -> bool:
        return self.total is not None

    @property
    def complete(self) -> bool:
        return self.total is not None and self.iteration >= self.total

    @property
    def progress(self) -> float:
        return self.iteration / self.total if self.total else 1.0

    @property
    def elapsed_time(self) -> float:
        return time.monotonic() - self._start


def batch_progress(progress: Any) -> Callable[[int, int], None] | None:
    """The fast matcher's ``progress(done, total)`` for a FiftyOne-style
    ``progress`` callable, or None."""
    if not callable(progress):
        return None
    bar = _BatchProgress()

    def update(done: int, total: int) -> None:
        bar.iteration, bar.total = done, total
        progress(bar)

    return update
