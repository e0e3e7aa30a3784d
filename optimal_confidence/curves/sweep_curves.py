"""The curves of a sweep: the exact TP/FP/FN at every swept threshold,
the precision, recall and F1 curves derived from them, and exact counts at
any other threshold from the match records. No threshold is chosen here;
:class:`~optimal_confidence.result.OptimalConfidenceResult` adds the
choice. Nothing here imports FiftyOne.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from . import per_class
from .sweep import Counts, MatchRecords, count_at, precision_recall_f1

__all__ = ["SweepConfig", "SweepCurves"]


@dataclass(frozen=True)
class SweepConfig:
    """How a sweep was run.

    Attributes:
        pred_field: the predictions field
        gt_field: the ground truth field
        iou: the IoU a match needs
        classwise: whether only objects of the same label can match
        lower_bound: the smallest threshold swept (the data's smallest
            confidence when none was given)
        upper_bound: the largest threshold swept (the data's largest
            confidence when none was given)
        num_thresholds: ``None`` for the exact sweep (every distinct
            confidence within the bounds), else the size of the even grid
        num_samples: the number of samples (images or videos) swept
        label_type: ``"Detections"``, ``"Polylines"`` or ``"Classification"``
        use_masks: whether IoUs came from instance masks
        use_boxes: whether IoUs of polylines came from their boxes
        iscrowd: the name of the crowd attribute
        method: how predictions were matched
        positive_label: the positive class of a binary ``Classification``
            task, or None
        dataset: the name of the dataset swept, or None (results stored
            before it was recorded)
    """

    pred_field: str
    gt_field: str
    iou: float
    classwise: bool
    lower_bound: float
    upper_bound: float
    num_thresholds: int | None
    num_samples: int
    label_type: str
    use_masks: bool = False
    use_boxes: bool = False
    iscrowd: str = "iscrowd"
    method: str = "evaluate_detections"
    positive_label: str | None = None
    dataset: str | None = None

    @property
    def task(self) -> str:
        """``"detection"``, ``"binary"`` or ``"multiclass"`` (classifiers
        that escalate uncertain answers)."""
        if self.label_type != "Classification":
            return "detection"
        return "binary" if self.positive_label is not None else "multiclass"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SweepConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True, eq=False)
class SweepCurves:
    """The exact counts of a sweep at every threshold and the curves
    derived from them.

    All curve arrays have shape ``(num_thresholds,)`` and are aligned with
    :attr:`thresholds`, which is strictly ascending. Entry ``i`` describes
    the predictions with ``confidence >= thresholds[i]``.

    Attributes:
        config: the :class:`SweepConfig`
        thresholds: ``float64`` thresholds, strictly ascending
        tp: ``int64`` true positives at each threshold
        fp: ``int64`` false positives at each threshold
        fn: ``int64`` false negatives at each threshold
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords` of the
            matching pass, from which per-class counts and counts at any
            threshold are derived
    """

    config: SweepConfig
    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    records: MatchRecords

    @cached_property
    def _prf(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return precision_recall_f1(self.counts)

    @property
    def counts(self) -> Counts:
        """TP, FP and FN at :attr:`thresholds`."""
        return Counts(self.tp, self.fp, self.fn)

    @property
    def precision(self) -> np.ndarray:
        """``TP / (TP + FP)`` at each threshold; 0 where nothing is kept."""
        return self._prf[0]

    @property
    def recall(self) -> np.ndarray:
        """``TP / (TP + FN)`` at each threshold; 0 with no ground truth."""
        return self._prf[1]

    @property
    def f1(self) -> np.ndarray:
        """``2 TP / (2 TP + FP + FN)`` at each threshold."""
        return self._prf[2]

    @property
    def num_thresholds(self) -> int:
        return len(self.thresholds)

    @property
    def coverage(self) -> np.ndarray:
        """For a multiclass ``Classification`` task, the share of images
        answered automatically (confidence ``>= t``) at each threshold; the
        rest is escalated. For other tasks, the share of predictions kept.
        """
        total = (
            self.records.num_gts
            if self.config.task == "multiclass"
            else self.records.num_preds
        )
        kept = (self.tp + self.fp).astype(np.float64)
        return kept / total if total else np.zeros_like(kept)

    @property
    def accuracy(self) -> np.ndarray:
        """For a multiclass ``Classification`` task, the accuracy of the
        automatic answers at each threshold (the precision)."""
        return self.precision

    @property
    def classes(self) -> list[str]:
        return list(self.records.classes)

    def counts_at(self, thresholds: float | np.ndarray) -> Counts:
        """Exact counts at any thresholds, not only the swept ones.

        Example::

            result.counts_at(0.7)                 # Counts(tp=341, fp=57, fn=321)
            result.counts_at([0.5, 0.7]).tp       # array([411, 341])

        Args:
            thresholds: a threshold, or an array of them

        Returns:
            a :class:`~optimal_confidence.curves.sweep.Counts` of plain ints for
            one threshold, of ``int64`` arrays aligned with ``thresholds``
            for an array
        """
        if np.ndim(thresholds) == 0:
            c = count_at(self.records, np.array([float(thresholds)]))
            return Counts(int(c.tp[0]), int(c.fp[0]), int(c.fn[0]))
        return count_at(self.records, np.asarray(thresholds, dtype=np.float64))

    def class_counts(self) -> dict[str, Counts]:
        """``{label: Counts}`` at :attr:`thresholds`, adding up to :attr:`tp`,
        :attr:`fp` and :attr:`fn` (see
        :func:`optimal_confidence.curves.per_class.class_counts`)."""
        return per_class.class_counts(self.records, self.thresholds)
