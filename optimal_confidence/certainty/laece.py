"""The localization-aware expected calibration error (LaECE) of the
predictions a threshold keeps.

Pure numpy: nothing here imports fiftyone.

The detection ECE (D-ECE, Küppers et al., 2020) of
:func:`~optimal_confidence.certainty.calibration.calibration` bins every
prediction and asks how often each bin's predictions are true positives.
Kuzucu, Oksuz, Sadeghi and Dokania, "On Calibration of Object Detectors:
Pitfalls, Evaluation and Baselines" (ECCV 2024, arXiv:2405.20459) show
that this misleads for detectors: a detector is used at a threshold, so the
predictions it drops should not count, and a confidence should also say
how well a box fits, not only whether it is right. They measure the LaECE
of Oksuz et al., "Towards Building Self-Aware Object Detectors via Reliable
Uncertainty Quantification and Calibration" (CVPR 2023), on the predictions
kept at the operating threshold. Here, as in their reference code
(github.com/fiveai/detection_calibration, ``CalibrationCOCO``:
``compute_single_errors`` and ``accumulate_errors``):

-   only the predictions **kept** at the threshold count (confidence
    ``>= t``; with per-class thresholds, each at its class's);
-   the **target** of a true positive is its IoU with the ground truth
    object it is matched to, that of a false positive 0;
-   each class's kept predictions are binned by confidence in
    ``num_bins`` (25) equal-width bins, bin 0 ``[0, 1/25]`` and bin ``b``
    ``(b/25, (b+1)/25]``, and

        LaECE_c = sum_b (n_b / N_c) * |mean confidence_b - mean target_b|

    where ``n_b`` counts the bin's predictions and ``N_c`` the class's kept
    predictions;
-   LaECE is the mean of ``LaECE_c`` over the classes with at least one kept
    prediction and at least one ground truth object (the reference skips a
    class without ground truth, as COCO's evaluation does).

The matching is the sweep's own (FiftyOne's: the sweep's IoU threshold
decides what is a true positive, a match to a crowd counts with its crowd
IoU, and there is no cap on predictions per image). The paper's headline
``LaECE_0`` matches at IoU 0, where the IoU target alone judges the boxes;
at the default IoU 0.5 this is what the reference reports as LaECE at
IoU 0.5. One accident of the reference is not copied: it drops a class
whose error is exactly 0 from the mean, here it counts.

For a classifier (binary or multiclass), a right answer's target is 1 and
a wrong one's 0: LaECE is then the class-averaged ECE of the answers kept
at the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..curves.sweep import MatchRecords

__all__ = ["LAECE_BINS", "LaECE", "laece"]

#: the bins of the reference implementation
LAECE_BINS = 25


@dataclass(frozen=True, eq=False)
class LaECE:
    """The localization-aware calibration error of the predictions kept at
    a threshold (see the module).

    Attributes:
        value: the mean of :attr:`per_class`; ``NaN`` when no class has a
            kept prediction and a ground truth object
        per_class: ``LaECE_c`` of each class averaged
        num_predictions: the kept predictions of those classes
        threshold: the threshold (the one of the classes without their own)
        class_thresholds: the classes' own thresholds, or None when every
            class is kept at :attr:`threshold`
        num_bins: the equal-width confidence bins
        iou: the IoU a match needed (targets are IoUs), or None for a
            classifier (targets are 1 and 0)
    """

    value: float
    per_class: dict[str, float]
    num_predictions: int
    threshold: float
    class_thresholds: dict[str, float] | None = None
    num_bins: int = LAECE_BINS
    iou: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``NaN`` becomes ``None``."""
        return {
            "value": None if np.isnan(self.value) else float(self.value),
            "per_class": {str(k): float(v) for k, v in self.per_class.items()},
            "num_predictions": int(self.num_predictions),
            "threshold": float(self.threshold),
            "class_thresholds": None if self.class_thresholds is None else {
                str(k): float(v) for k, v in self.class_thresholds.items()
            },
            "num_bins": int(self.num_bins),
            "iou": None if self.iou is None else float(self.iou),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LaECE":
        ct = d.get("class_thresholds")
        return cls(
            value=np.nan if d["value"] is None else float(d["value"]),
            per_class={str(k): float(v) for k, v in d["per_class"].items()},
            num_predictions=int(d["num_predictions"]),
            threshold=float(d["threshold"]),
            class_thresholds=None if ct is None else {str(k): float(v) for k, v in ct.items()},
            num_bins=int(d.get("num_bins", LAECE_BINS)),
            iou=None if d.get("iou") is None else float(d["iou"]),
        )

    def summary(self) -> str:
        """One clause: the LaECE, where, and on what."""
        at = "the per-class thresholds" if self.class_thresholds else f"the threshold {self.threshold:.4g}"
        if np.isnan(self.value):
            return f"LaECE undefined at {at}: no prediction of a class with ground truth is kept"
        if self.iou is None:
            target = "1 for a right answer, 0 for a wrong one"
        else:
            target = f"a true positive's IoU, a false positive's 0, matching at IoU {self.iou:g}"
        classes = len(self.per_class)
        return (
            f"LaECE {self.value:.3f} at {at}, over the {self.num_predictions:,} predictions "
            f"kept (target: {target}; {self.num_bins} bins per class, mean of {classes} "
            f"class{'es' if classes != 1 else ''})"
        )


def _class_error(conf: np.ndarray, target: np.ndarray, num_bins: int) -> float:
    """``sum_b (n_b / N) |mean conf_b - mean target_b|`` over right-closed
    equal-width bins (the first one also holds 0)."""
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    b = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, num_bins - 1)
    # n_b |mean conf_b - mean target_b| = |sum conf_b - sum target_b|
    gap = np.bincount(b, weights=conf, minlength=num_bins) - np.bincount(
        b, weights=target, minlength=num_bins
    )
    return float(np.abs(gap).sum() / len(conf))


def _thresholds(
    records: MatchRecords, threshold: float, class_thresholds: Mapping[str, float] | None
) -> np.ndarray:
    """The threshold of each prediction's class (``-1``, no class, last)."""
    own = class_thresholds or {}
    return np.array([float(own.get(c, threshold)) for c in records.classes] + [float(threshold)])


def _targets(records: MatchRecords, kept: np.ndarray) -> np.ndarray:
    """The IoU of each kept true positive, 0 for a kept false positive."""
    if records.pred_iou is None:
        raise ValueError(
            "These match records carry no IoUs (a run stored before they were "
            "kept): sweep again to measure the LaECE"
        )
    tp = records.pred_tp[kept]
    iou = records.pred_iou[kept]
    if np.isnan(iou[tp]).any():
        raise ValueError("A kept true positive has no IoU; the match records are inconsistent")
    return np.where(tp, iou, 0.0)


def laece(
    records: MatchRecords,
    threshold: float,
    *,
    class_thresholds: Mapping[str, float] | None = None,
    num_bins: int = LAECE_BINS,
    iou: float | None = None,
) -> LaECE:
    """The LaECE of the predictions kept at ``threshold`` (see the module).

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
            of a sweep, with IoUs (``pred_iou``)
        threshold: a prediction is kept when its confidence is ``>=`` it
        class_thresholds (None): ``{label: threshold}`` for the classes kept
            at a threshold of their own
        num_bins (25): equal-width confidence bins per class
        iou (None): the IoU the matching needed, recorded for the report
            (None for a classifier)

    Returns:
        a :class:`LaECE`

    Raises:
        ValueError: if the records carry no IoUs, ``num_bins`` is not an
            integer >= 1, or a kept confidence is outside ``[0, 1]``
    """
    if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
        raise ValueError(f"num_bins must be an integer >= 1, e.g. 25; got {num_bins!r}")
    t = _thresholds(records, threshold, class_thresholds)
    kept = records.pred_conf >= t[records.pred_class]  # NaN is never kept
    target = _targets(records, kept)
    conf, cls = records.pred_conf[kept], records.pred_class[kept]
    if conf.size and (conf.min() < 0 or conf.max() > 1):
        raise ValueError(
            f"LaECE needs confidences in [0, 1]; the kept ones range from "
            f"{conf.min():g} to {conf.max():g}"
        )
    with_gt = set(np.unique(records.gt_class).tolist())
    per_class = {}
    for c in np.unique(cls[cls >= 0]).tolist():
        if c in with_gt:
            sel = cls == c
            per_class[records.classes[c]] = _class_error(conf[sel], target[sel], int(num_bins))
    counted = np.isin(cls, [records.classes.index(k) for k in per_class])
    return LaECE(
        value=float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        per_class=per_class,
        num_predictions=int(counted.sum()),
        threshold=float(threshold),
        class_thresholds=dict(class_thresholds) if class_thresholds else None,
        num_bins=int(num_bins),
        iou=None if iou is None else float(iou),
    )
