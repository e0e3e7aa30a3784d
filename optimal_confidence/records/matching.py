"""Match records from one FiftyOne evaluation pass.

:func:`records_from_evaluation` runs ``evaluate_detections`` once, with no
eval key (so nothing is written to the dataset), and reduces its matches to
:class:`~optimal_confidence.curves.sweep.MatchRecords`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import numpy as np

import fiftyone.core.collections as foc
from fiftyone import ViewField as F

from ..curves.sweep import MatchRecords
from .eval_reuse import check_still_valid
from .fields import flatten, flatten_frames, list_path

logger = logging.getLogger(__name__)

__all__ = [
    "LabelValues",
    "read_label_values",
    "records_from_eval_key",
    "records_from_evaluation",
]

class LabelValues:
    """Ids, labels and confidences of one label field, flattened.

    Every attribute is a list with one entry per object, in the order of
    ``samples`` (then frames, then objects); ``sample`` holds the index of
    the sample each object belongs to, ``frame`` the position of its frame
    in the sample (0 for images).
    """

    def __init__(
        self,
        ids: list[str],
        labels: list[str | None],
        confidences: np.ndarray,
        sample: np.ndarray,
        frame: np.ndarray | None = None,
    ) -> None:
        self.ids = ids
        self.labels = labels
        self.confidences = confidences
        self.sample = sample
        self.frame = np.zeros(len(ids), dtype=np.int64) if frame is None else frame

    def __len__(self) -> int:
        return len(self.ids)


def read_label_values(
    samples: foc.SampleCollection, field: str, *, confidences: bool = True
) -> LabelValues:
    """Reads the ids, labels and (optionally) confidences of a label list
    field with one ``values()`` call.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        field: a ``Detections`` or ``Polylines`` field, ``frames.``-prefixed
            for frame-level fields
        confidences (True): whether to read confidences; when False the
            returned confidences are all ``NaN``

    Returns:
        a :class:`LabelValues`
    """
    path = list_path(samples, field)
    is_frames = samples._is_frame_field(field)
    attrs = ["id", "label"] + (["confidence"] if confidences else [])
    columns = samples.values([f"{path}.{a}" for a in attrs])

    flat = [list(flatten_frames(col, is_frames)) for col in columns]
    sample = np.array([i for i, _, _ in flat[0]], dtype=np.int64)
    frame = np.array([j for _, j, _ in flat[0]], dtype=np.int64)
    ids = [v for _, _, v in flat[0]]
    labels = [v for _, _, v in flat[1]]
    if confidences:
        conf = np.array(
            [np.nan if v is None else v for _, _, v in flat[2]],
            dtype=np.float64,
        )
    else:
        conf = np.full(len(ids), np.nan)

    return LabelValues(ids, labels, conf, sample, frame)


def records_from_evaluation(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str,
    *,
    preds: LabelValues,
    gts: LabelValues,
    iou: float = 0.5,
    classwise: bool = True,
    use_masks: bool = False,
    use_boxes: bool = False,
    iscrowd: str = "iscrowd",
    progress: bool | Callable | None = None,
) -> MatchRecords:
    """Runs one ``evaluate_detections`` pass and returns its match records.

    The evaluation runs with ``eval_key=None``, so FiftyOne works on copies
    of the labels and writes nothing to the dataset.

    Predictions without a numeric confidence pass no threshold, so they are
    left out of the pass: FiftyOne sorts them as if their confidence were -1,
    where they could take a ground truth object from a prediction that the
    filter-and-evaluate definition would keep.

    Args:
        samples: the :class:`fiftyone.core.collections.SampleCollection` to
            evaluate
        pred_field: the predictions field
        gt_field: the ground truth field
        preds: the :class:`LabelValues` of ``pred_field`` on ``samples``,
            with confidences
        gts: the :class:`LabelValues` of ``gt_field`` on ``samples``
        iou (0.5): the IoU a match needs
        classwise (True): whether only objects of the same label can match
        use_masks (False): whether to compute IoUs from instance masks
        use_boxes (False): whether to compute IoUs of polylines from their
            bounding boxes
        iscrowd ("iscrowd"): the name of the crowd attribute
        progress (None): FiftyOne's ``progress`` argument: a bool, or a
            callable that receives the progress bar

    Returns:
        a :class:`~optimal_confidence.curves.sweep.MatchRecords`
    """
    scored = ~np.isnan(preds.confidences)
    view = samples
    if not scored.all():
        # Keep exactly the predictions with a numeric confidence: in MongoDB
        # None, missing and NaN all compare below -inf.
        view = samples.filter_labels(
            pred_field, F("confidence") >= float("-inf"), only_matches=False
        )

    kwargs: dict[str, Any] = dict(
        gt_field=gt_field,
        eval_key=None,
        method="coco",
        iou=iou,
        classwise=classwise,
        iscrowd=iscrowd,
        progress=progress,
    )
    if use_masks:
        kwargs["use_masks"] = True
    if use_boxes:
        kwargs["use_boxes"] = True

    results = view.evaluate_detections(pred_field, **kwargs)

    return _reduce_matches(
        results.ytrue_ids,
        results.ypred_ids,
        results.ytrue,
        results.ypred,
        results.ious,
        preds=preds,
        gts=gts,
        num_samples=len(samples),
    )


def _reduce_matches(
    ytrue_ids: Iterable[str | None],
    ypred_ids: Iterable[str | None],
    ytrue: Iterable[str],
    ypred: Iterable[str],
    ious: Iterable[float | None],
    *,
    preds: LabelValues,
    gts: LabelValues,
    num_samples: int,
) -> MatchRecords:
    """Reduces ``(gt, pred, iou)`` match rows to one row per object.

    Confidences, labels and sample indices come from ``preds`` and ``gts``
    (read from the dataset), keyed by id; the match rows only say who was
    matched to whom, and at which IoU. Every prediction in ``preds`` gets
    a row, including the ones left out of the evaluation for having no
    confidence.
    """
    pred_index = {pid: k for k, pid in enumerate(preds.ids)}
    gt_index = {gid: k for k, gid in enumerate(gts.ids)}

    pred_tp = np.zeros(len(preds), dtype=bool)
    pred_iou = np.full(len(preds), np.nan)
    gt_conf = np.full(len(gts), np.nan)

    for gid, pid, glabel, plabel, iou in zip(ytrue_ids, ypred_ids, ytrue, ypred, ious):
        if gid is None or pid is None or glabel != plabel:
            continue
        p = pred_index[pid]
        g = gt_index[gid]
        pred_tp[p] = True
        pred_iou[p] = iou
        c = preds.confidences[p]
        # A crowd object can absorb several predictions: it is found as long
        # as the most confident of them is kept
        if np.isnan(gt_conf[g]) or c > gt_conf[g]:
            gt_conf[g] = c

    return _records(preds, gts, pred_tp, gt_conf, num_samples, pred_iou)


def _records(
    preds: LabelValues,
    gts: LabelValues,
    pred_tp: np.ndarray,
    gt_conf: np.ndarray,
    num_samples: int,
    pred_iou: np.ndarray | None,
) -> MatchRecords:
    classes = sorted(
        {l for l in preds.labels if l is not None}
        | {l for l in gts.labels if l is not None}
    )
    class_index = {c: i for i, c in enumerate(classes)}

    def _classes_of(labels: list[str | None]) -> np.ndarray:
        return np.array(
            [class_index.get(l, -1) for l in labels], dtype=np.int64
        )

    return MatchRecords(
        classes=tuple(classes),
        pred_conf=preds.confidences,
        pred_tp=pred_tp,
        pred_class=_classes_of(preds.labels),
        pred_sample=preds.sample,
        gt_conf=gt_conf,
        gt_class=_classes_of(gts.labels),
        gt_sample=gts.sample,
        num_samples=num_samples,
        pred_iou=pred_iou,
    )


def records_from_eval_key(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str,
    eval_key: str,
    *,
    preds: LabelValues,
    gts: LabelValues,
    iou: float | None = None,
    classwise: bool | None = None,
) -> tuple[MatchRecords, dict[str, Any]]:
    """Match records from a detection evaluation the user already ran: no
    matching at all, only each prediction's ``<eval_key>`` and
    ``<eval_key>_id`` read with ``values()``.

    The evaluation must be a COCO-style evaluation of ``pred_field`` against
    ``gt_field`` that covered every prediction with a confidence in
    ``samples`` (an evaluation run on a view whose filter dropped some
    predictions matched the rest without them, which is not the
    filter-and-evaluate definition, so it is refused).

    Args:
        samples: the :class:`fiftyone.core.collections.SampleCollection`
        pred_field: the predictions field
        gt_field: the ground truth field
        eval_key: the evaluation key
        preds: the :class:`LabelValues` of ``pred_field`` on ``samples``
        gts: the :class:`LabelValues` of ``gt_field`` on ``samples``
        iou (None): if given, the IoU the evaluation must have used
        classwise (None): if given, the ``classwise`` it must have used

    Returns:
        a ``(MatchRecords, config)`` tuple, where ``config`` holds the
        evaluation's ``iou``, ``classwise`` and ``iscrowd``

    Raises:
        ValueError: if the evaluation does not fit, with what to do instead
    """
    used = _evaluation_config(
        samples, pred_field, gt_field, eval_key, iou=iou, classwise=classwise
    )
    status, match, ious = _evaluation_status(samples, pred_field, eval_key, preds)
    check_still_valid(
        samples, pred_field, gt_field, eval_key, preds=preds, gts=gts, match=match,
        iou=used["iou"], classwise=used["classwise"], iscrowd=used["iscrowd"],
        use_masks=used.get("use_masks", False), use_boxes=used.get("use_boxes", False),
    )
    pred_tp, gt_conf = _matches_of_status(
        status, match, eval_key, gt_field, preds=preds, gts=gts
    )
    records = _records(preds, gts, pred_tp, gt_conf, len(samples), _tp_ious(ious, pred_tp))
    return records, used


def _evaluation_config(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str,
    eval_key: str,
    *,
    iou: float | None,
    classwise: bool | None,
) -> dict[str, Any]:
    """Checks that evaluation ``eval_key`` is a COCO-style detection
    evaluation of ``pred_field`` against ``gt_field`` with the wanted
    options.

    Args:
        samples: the :class:`fiftyone.core.collections.SampleCollection`
        pred_field: the predictions field
        gt_field: the ground truth field
        eval_key: the evaluation key
        iou: if not None, the IoU the evaluation must have used
        classwise: if not None, the ``classwise`` it must have used

    Returns:
        the evaluation's ``iou``, ``classwise`` and ``iscrowd``, and its
        ``use_masks`` and ``use_boxes`` when either is set

    Raises:
        ValueError: if the evaluation does not fit
    """
    if eval_key not in samples.list_evaluations():
        raise ValueError(
            f"Dataset '{samples._dataset.name}' has no evaluation "
            f"'{eval_key}'. Evaluations: {samples.list_evaluations() or 'none'}"
        )
    cfg = samples.get_evaluation_info(eval_key).config
    method = getattr(cfg, "method", None)
    if getattr(cfg, "type", None) != "detection" or method not in ("coco", None):
        raise ValueError(
            f"Evaluation '{eval_key}' is a {getattr(cfg, 'type', '?')} "
            f"evaluation with method {method!r}; reuse needs a COCO-style "
            f"detection evaluation (evaluate_detections(method='coco'))"
        )
    if (cfg.pred_field, cfg.gt_field) != (pred_field, gt_field):
        raise ValueError(
            f"Evaluation '{eval_key}' evaluated '{cfg.pred_field}' against "
            f"'{cfg.gt_field}', not '{pred_field}' against '{gt_field}'"
        )
    used = {
        "iou": float(cfg.iou),
        "classwise": bool(cfg.classwise),
        "iscrowd": getattr(cfg, "iscrowd", "iscrowd"),
    }
    for name, wanted in (("iou", iou), ("classwise", classwise)):
        if wanted is not None and used[name] != wanted:
            raise ValueError(
                f"Evaluation '{eval_key}' used {name}={used[name]}, not "
                f"{wanted}; pass {name}={used[name]} or leave it unset to "
                f"reuse it, or sweep without eval_key"
            )
    if getattr(cfg, "use_masks", False) or getattr(cfg, "use_boxes", False):
        used["use_masks"] = bool(getattr(cfg, "use_masks", False))
        used["use_boxes"] = bool(getattr(cfg, "use_boxes", False))
    return used


def _evaluation_status(
    samples: foc.SampleCollection,
    pred_field: str,
    eval_key: str,
    preds: LabelValues,
) -> tuple[list[str | None], list[str | None]]:
    """Reads each prediction's ``<eval_key>`` status and ``<eval_key>_id``
    match and ``<eval_key>_iou``, and checks that the evaluation covered
    every prediction with a confidence and can be reused for them.

    Args:
        samples: the :class:`fiftyone.core.collections.SampleCollection`
        pred_field: the predictions field
        eval_key: the evaluation key
        preds: the :class:`LabelValues` of ``pred_field`` on ``samples``

    Returns:
        a ``(status, match, iou)`` tuple of lists aligned with ``preds``

    Raises:
        ValueError: if the evaluation does not line up with ``preds``, left
            out predictions with a confidence, or matched the predictions
            without one in between them
    """
    path = list_path(samples, pred_field)
    is_frames = samples._is_frame_field(pred_field)
    status_col, match_col, iou_col = samples.values(
        [f"{path}.{eval_key}", f"{path}.{eval_key}_id", f"{path}.{eval_key}_iou"]
    )
    status = [v for _, v in flatten(status_col, is_frames)]
    match = [v for _, v in flatten(match_col, is_frames)]
    ious = [v for _, v in flatten(iou_col, is_frames)]
    if len(status) != len(preds):
        raise ValueError(
            f"Evaluation '{eval_key}' does not line up with '{pred_field}' "
            f"in this view; sweep without eval_key"
        )

    scored = ~np.isnan(preds.confidences)
    missing = sum(1 for s, ok in zip(status, scored) if ok and s is None)
    if missing:
        raise ValueError(
            f"Evaluation '{eval_key}' did not cover {missing} of the "
            f"predictions with a confidence in this view (was it run on a "
            f"filtered view, or before predictions were added?). Run it again "
            f"on the whole dataset, or sweep without eval_key"
        )
    conf = preds.confidences[scored]
    if not scored.all() and ((conf == 0) | (conf <= -1)).any():
        # FiftyOne visits predictions by `confidence or -1`: those without a
        # confidence (and those at exactly 0) as if at -1. Only when every
        # scored prediction comes strictly before them did they take nothing
        # a scored prediction wanted.
        raise ValueError(
            "FiftyOne matched the predictions without a confidence as if "
            "their confidence were -1, in between predictions with "
            "confidence 0 or <= -1, so evaluation "
            f"'{eval_key}' cannot be reused; sweep without eval_key"
        )
    return status, match, ious


def _tp_ious(ious: list[float | None], pred_tp: np.ndarray) -> np.ndarray | None:
    """The evaluation's ``<eval_key>_iou`` of each true positive, ``NaN``
    for the other predictions; None when a true positive has none (an
    evaluation that did not store it): no IoU is better than a wrong one."""
    out = np.full(len(pred_tp), np.nan)
    for p in np.flatnonzero(pred_tp):
        if ious[p] is None:
            return None
        out[p] = ious[p]
    return out


def _matches_of_status(
    status: list[str | None],
    match: list[str | None],
    eval_key: str,
    gt_field: str,
    *,
    preds: LabelValues,
    gts: LabelValues,
) -> tuple[np.ndarray, np.ndarray]:
    """Turns the evaluation's true positives into the match arrays.

    Args:
        status: each prediction's ``<eval_key>`` status
        match: each prediction's ``<eval_key>_id``
        eval_key: the evaluation key
        gt_field: the ground truth field
        preds: the :class:`LabelValues` of the predictions
        gts: the :class:`LabelValues` of ``gt_field``

    Returns:
        ``(pred_tp, gt_conf)``: whether each prediction is a true positive,
        and the confidence of the most confident prediction matched to each
        ground truth object (``NaN`` if none)

    Raises:
        ValueError: if a prediction was matched to a ground truth object
            that is not in ``gts``
    """
    scored = ~np.isnan(preds.confidences)
    gt_index = {gid: k for k, gid in enumerate(gts.ids)}
    pred_tp = np.zeros(len(preds), dtype=bool)
    gt_conf = np.full(len(gts), np.nan)
    for p, (s, gid) in enumerate(zip(status, match)):
        # a prediction without a confidence was matched after all the others
        # (as if its confidence were -1): it took nothing they wanted
        if s != "tp" or not scored[p]:
            continue
        g = gt_index.get(gid)
        if g is None:
            raise ValueError(
                f"Evaluation '{eval_key}' matched a prediction to a ground "
                f"truth object that is not in this view's '{gt_field}'; "
                f"sweep without eval_key"
            )
        pred_tp[p] = True
        c = preds.confidences[p]
        if np.isnan(gt_conf[g]) or c > gt_conf[g]:
            gt_conf[g] = c
    return pred_tp, gt_conf
