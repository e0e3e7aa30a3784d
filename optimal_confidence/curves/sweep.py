"""Exact threshold sweeps from one matching pass.

Pure numpy: nothing here imports fiftyone, so the math is tested on hand-made
arrays.

A COCO-style matcher visits predictions in descending confidence and each
prediction's match depends only on the predictions visited before it.
Dropping every prediction below a threshold ``t`` therefore leaves every
remaining match unchanged, and one matching pass gives the exact counts at
every threshold:

-   ``TP(t)``: predictions with ``confidence >= t`` matched to a ground truth
    object of the same label;
-   ``FP(t)``: the other predictions with ``confidence >= t``;
-   ``FN(t)``: ground truth objects that no same-label prediction with
    ``confidence >= t`` is matched to. A crowd object can absorb several
    predictions; it counts once.

:class:`MatchRecords` holds that pass, reduced to one row per prediction and
one row per ground truth object; :func:`count_at` turns it into counts at any
thresholds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .packed import pack, unpack

__all__ = [
    "Counts",
    "MatchRecords",
    "best_index",
    "count_at",
    "exact_thresholds",
    "floats_from_json",
    "floats_to_json",
    "array_encoders",
    "grid_thresholds",
    "point_metrics",
    "positive_score",
    "precision",
    "precision_recall_f1",
    "recall",
    "safe_divide",
]


class Counts(NamedTuple):
    """True positive, false positive and false negative counts.

    Each is an ``int64`` array aligned with the thresholds it was counted at.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


@dataclass(frozen=True, eq=False)
class MatchRecords:
    """The outcome of one matching pass, one row per object.

    Attributes:
        classes: the sorted class labels; ``*_class`` arrays index into it
        pred_conf: ``float64`` array of shape ``(num_preds,)``: each
            prediction's confidence, ``NaN`` when it has none (such a
            prediction passes no threshold)
        pred_tp: ``bool`` array of shape ``(num_preds,)``: whether the
            prediction is matched to a ground truth object of its own label
        pred_class: ``int64`` array of shape ``(num_preds,)``
        pred_sample: ``int64`` array of shape ``(num_preds,)``: the index of
            the sample (image or video) the prediction belongs to
        gt_conf: ``float64`` array of shape ``(num_gts,)``: the highest
            confidence among the same-label predictions matched to the
            object, ``NaN`` when there is none (a false negative at every
            threshold)
        gt_class: ``int64`` array of shape ``(num_gts,)``
        gt_sample: ``int64`` array of shape ``(num_gts,)``
        num_samples: the number of samples the pass covered, including
            samples with no objects at all
        pred_iou: ``float64`` array of shape ``(num_preds,)``: the IoU of
            each true positive with the ground truth object it is matched
            to (what FiftyOne's ``evaluate_detections`` stores as
            ``<eval_key>_iou``; for a crowd, the intersection over the
            prediction's area), ``NaN`` for every other prediction. A
            classification has no box: a right answer's is 1. None for runs
            stored before the IoUs were kept. The localization-aware
            calibration error
            (:mod:`optimal_confidence.certainty.laece`) reads it
    """

    classes: tuple[str, ...]
    pred_conf: np.ndarray
    pred_tp: np.ndarray
    pred_class: np.ndarray
    pred_sample: np.ndarray
    gt_conf: np.ndarray
    gt_class: np.ndarray
    gt_sample: np.ndarray
    num_samples: int
    pred_iou: np.ndarray | None = None

    def __post_init__(self) -> None:
        n_pred = len(self.pred_conf)
        n_gt = len(self.gt_conf)
        for name, n in (
            ("pred_tp", n_pred),
            ("pred_class", n_pred),
            ("pred_sample", n_pred),
            ("gt_class", n_gt),
            ("gt_sample", n_gt),
            ("pred_iou", n_pred),
        ):
            if getattr(self, name) is not None and len(getattr(self, name)) != n:
                raise ValueError(
                    f"MatchRecords.{name} has {len(getattr(self, name))} "
                    f"rows; expected {n}"
                )

    @property
    def num_preds(self) -> int:
        return len(self.pred_conf)

    @property
    def num_gts(self) -> int:
        return len(self.gt_conf)

    def confidences(self) -> np.ndarray:
        """The finite-or-infinite (not ``NaN``) prediction confidences."""
        return self.pred_conf[~np.isnan(self.pred_conf)]

    def present_classes(self) -> list[str]:
        """The classes with a ground truth object or a prediction with a
        confidence, in the order of :attr:`classes` (macro averages and
        bootstrap resamples run over them)."""
        scored = ~np.isnan(self.pred_conf)
        present = set(self.gt_class.tolist()) | set(self.pred_class[scored].tolist())
        return [c for i, c in enumerate(self.classes) if i in present]

    def restrict_to_class(self, label: str) -> "MatchRecords":
        """The rows of one class: predictions of that label and ground truth
        objects of that label.
        """
        try:
            idx = self.classes.index(label)
        except ValueError:
            raise ValueError(
                f"Class {label!r} is not in this result; classes are "
                f"{list(self.classes)}"
            ) from None

        p = self.pred_class == idx
        g = self.gt_class == idx
        return MatchRecords(
            classes=self.classes,
            pred_conf=self.pred_conf[p],
            pred_tp=self.pred_tp[p],
            pred_class=self.pred_class[p],
            pred_sample=self.pred_sample[p],
            gt_conf=self.gt_conf[g],
            gt_class=self.gt_class[g],
            gt_sample=self.gt_sample[g],
            num_samples=self.num_samples,
            pred_iou=None if self.pred_iou is None else self.pred_iou[p],
        )

    def to_dict(self, packed: bool = False) -> dict[str, Any]:
        """A JSON-serializable dict; ``NaN`` becomes ``None``. The IoUs
        are stored for the true positives only (``tp_iou``, in order), the
        only predictions that have one. ``packed``: each array as a
        :func:`~optimal_confidence.curves.packed.pack` dict (as runs store
        them) instead of a list."""
        floats, ints, flags = array_encoders(packed)
        out = {
            "classes": list(self.classes),
            "pred_conf": floats(self.pred_conf),
            "pred_tp": flags(self.pred_tp),
            "pred_class": ints(self.pred_class),
            "pred_sample": ints(self.pred_sample),
            "gt_conf": floats(self.gt_conf),
            "gt_class": ints(self.gt_class),
            "gt_sample": ints(self.gt_sample),
            "num_samples": int(self.num_samples),
        }
        if self.pred_iou is not None:
            out["tp_iou"] = floats(self.pred_iou[self.pred_tp])
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MatchRecords":
        """The records of :meth:`to_dict` (packed or not); a dict without
        ``tp_iou`` (a run stored before the IoUs were kept) gives
        ``pred_iou=None``."""
        pred_tp = unpack(d["pred_tp"], bool)
        pred_iou = None
        if d.get("tp_iou") is not None:
            pred_iou = np.full(len(pred_tp), np.nan)
            pred_iou[pred_tp] = unpack(d["tp_iou"], np.float64)
        return cls(
            classes=tuple(d["classes"]),
            pred_conf=unpack(d["pred_conf"], np.float64),
            pred_tp=pred_tp,
            pred_class=unpack(d["pred_class"], np.int64),
            pred_sample=unpack(d["pred_sample"], np.int64),
            gt_conf=unpack(d["gt_conf"], np.float64),
            gt_class=unpack(d["gt_class"], np.int64),
            gt_sample=unpack(d["gt_sample"], np.int64),
            num_samples=int(d["num_samples"]),
            pred_iou=pred_iou,
        )


def positive_score(is_positive: Any, confidence: Any) -> np.ndarray:
    """A binary classifier's positive score: the confidence of an answer of
    the positive class, one minus that of another answer. The map is its
    own inverse: applied to positive scores it gives back the answers'
    confidences."""
    c = np.asarray(confidence, dtype=np.float64)
    return np.where(is_positive, c, 1.0 - c)


def array_encoders(packed: bool) -> tuple[Callable, Callable, Callable]:
    """The encoders of float, integer and flag arrays for a ``to_dict``:
    lists, or :func:`~optimal_confidence.curves.packed.pack` dicts."""
    if packed:
        return (
            functools.partial(pack, dtype=np.float64),
            functools.partial(pack, dtype=np.int64),
            functools.partial(pack, dtype=np.bool_),
        )
    return floats_to_json, _ints_to_json, _flags_to_json


def _ints_to_json(a: np.ndarray) -> list[int]:
    return np.asarray(a, dtype=np.int64).tolist()


def _flags_to_json(a: np.ndarray) -> list[bool]:
    return np.asarray(a, dtype=bool).tolist()


def floats_to_json(a: np.ndarray) -> list[float | None]:
    """A float array as a JSON list, ``NaN`` as ``None``."""
    a = np.asarray(a, dtype=np.float64)
    values = a.tolist()
    if np.isnan(a).any():
        values = [None if x != x else x for x in values]
    return values


def floats_from_json(values: Sequence[float | None]) -> np.ndarray:
    """The inverse of :func:`floats_to_json`."""
    return unpack(values, np.float64)


def _count_ge(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many ``values`` are ``>= t`` for each ``t`` in ``thresholds``.

    ``NaN`` values are never counted.
    """
    v = np.sort(values[~np.isnan(values)], kind="stable")
    return len(v) - np.searchsorted(v, thresholds, side="left")


def count_at(records: MatchRecords, thresholds: np.ndarray) -> Counts:
    """Counts TP, FP and FN at each threshold.

    A prediction is kept at threshold ``t`` when its confidence is ``>= t``;
    predictions with equal confidence are therefore all kept or all dropped.

    Args:
        records: a :class:`MatchRecords`
        thresholds: an array of thresholds, in any order

    Returns:
        a :class:`Counts` whose arrays are aligned with ``thresholds``
    """
    t = np.asarray(thresholds, dtype=np.float64)
    tp = _count_ge(records.pred_conf[records.pred_tp], t)
    kept = _count_ge(records.pred_conf, t)
    found = _count_ge(records.gt_conf, t)
    return Counts(
        tp=tp.astype(np.int64),
        fp=(kept - tp).astype(np.int64),
        fn=(records.num_gts - found).astype(np.int64),
    )


def precision_recall_f1(
    counts: Counts,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts.

    A ratio whose denominator is zero is 0: precision when no prediction is
    kept, recall when there is no ground truth. F1 is
    ``2 TP / (2 TP + FP + FN)``, which equals the harmonic mean of precision
    and recall wherever both are defined.

    Returns:
        a ``(precision, recall, f1)`` tuple of ``float64`` arrays
    """
    tp = counts.tp.astype(np.float64)
    fp = counts.fp.astype(np.float64)
    fn = counts.fn.astype(np.float64)
    return (
        precision(Counts(tp, fp, fn)),
        recall(Counts(tp, fp, fn)),
        safe_divide(2 * tp, 2 * tp + fp + fn),
    )


def precision(counts: Counts) -> np.ndarray:
    """``TP / (TP + FP)``, 0 where nothing is kept (as
    :func:`precision_recall_f1`)."""
    tp = counts.tp.astype(np.float64, copy=False)
    return safe_divide(tp, tp + counts.fp.astype(np.float64, copy=False))


def recall(counts: Counts) -> np.ndarray:
    """``TP / (TP + FN)``, 0 where there is no ground truth (as
    :func:`precision_recall_f1`)."""
    tp = counts.tp.astype(np.float64, copy=False)
    return safe_divide(tp, tp + counts.fn.astype(np.float64, copy=False))


def point_metrics(counts: Counts, index: int = 0) -> dict[str, float]:
    """Precision, recall, F1 and the counts at entry ``index`` of
    ``counts`` (arrays, or plain ints for one point), as plain Python
    numbers."""
    c = Counts(*(np.atleast_1d(x)[index : index + 1] for x in counts))
    p, r, f1 = (float(x[0]) for x in precision_recall_f1(c))
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "tp": int(c.tp[0]),
        "fp": int(c.fp[0]),
        "fn": int(c.fn[0]),
    }


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, 0 where ``den`` is 0."""
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def exact_thresholds(
    confidences: np.ndarray,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
) -> np.ndarray:
    """Every distinct confidence within ``[lower_bound, upper_bound]``.

    Counts only change at a prediction's confidence, so these thresholds give
    the whole curve exactly.

    Args:
        confidences: prediction confidences; ``NaN`` is ignored
        lower_bound (None): the smallest threshold; ``None`` means no bound
        upper_bound (None): the largest threshold; ``None`` means no bound

    Returns:
        a strictly ascending ``float64`` array, possibly empty
    """
    c = np.asarray(confidences, dtype=np.float64)
    c = np.unique(c[~np.isnan(c)])
    if lower_bound is not None:
        c = c[c >= lower_bound]
    if upper_bound is not None:
        c = c[c <= upper_bound]
    return c


def grid_thresholds(
    lower_bound: float, upper_bound: float, num_thresholds: int
) -> np.ndarray:
    """``num_thresholds`` evenly spaced thresholds from ``lower_bound`` to
    ``upper_bound``, both included.

    Returns:
        a strictly ascending ``float64`` array (one element when the bounds
        are equal or ``num_thresholds`` is 1)
    """
    if num_thresholds < 1:
        raise ValueError(
            f"num_thresholds must be at least 1; got {num_thresholds}"
        )
    if lower_bound > upper_bound:
        raise ValueError(
            f"lower_bound ({lower_bound}) must not exceed upper_bound "
            f"({upper_bound})"
        )
    return np.unique(np.linspace(lower_bound, upper_bound, num_thresholds))


def best_index(scores: np.ndarray) -> int:
    """The index of the best score, for thresholds in ascending order.

    Ties go to the lowest index, that is the lowest threshold among those
    with the best score: it keeps the most predictions, so of two operating
    points that score the same it is the one with the higher recall.

    Raises:
        ValueError: if ``scores`` is empty
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        raise ValueError("There are no thresholds to choose from")
    return int(np.argmax(s))
