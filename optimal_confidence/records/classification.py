"""Match records for ``Classification`` fields: one answer per image (or
frame), no matching needed.

Both tasks map onto :class:`~optimal_confidence.curves.sweep.MatchRecords`, so the
exact sweep, the objectives, the bootstrap and stored runs work unchanged:

-   **binary** (``positive_label`` given): each image's positive score is its
    confidence when the predicted label is ``positive_label`` and one minus
    it otherwise (FiftyOne's convention in ``evaluate_classifications(...,
    method="binary")``). The image is predicted positive when its score is
    ``>= t``. One prediction row per image (a true positive when the ground
    truth is positive) and one ground truth row per positive image (found
    when its score is ``>= t``): TP, FP and FN at ``t`` are those of
    scikit-learn's ``precision_recall_curve``.
-   **multiclass** (no ``positive_label``): an answer is given automatically
    when its confidence is ``>= t`` and escalated to a person otherwise.
    One prediction row per answer (a true positive when it is right) and one
    ground truth row per image (found when it was answered right
    automatically). Precision is then the accuracy of the automatic answers,
    ``(TP + FP) / num_images`` the coverage (share answered automatically),
    and recall the share of all images answered right without a person.

Images without ground truth are left out (they cannot be judged); an image
whose prediction is missing or has no confidence is never answered
automatically.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

import fiftyone.core.collections as foc

from ..curves.sweep import MatchRecords, positive_score

__all__ = ["records_from_classifications"]


def _flat(samples: foc.SampleCollection, field: str, attrs: list[str]) -> list[list[Any]]:
    """One list per attribute, one entry per image (or frame), with the
    index of the sample each entry belongs to appended as a last list."""
    paths = [f"{field}.{a}" for a in attrs]
    columns = samples.values(paths)
    is_frames = samples._is_frame_field(field)
    out: list[list[Any]] = [[] for _ in attrs] + [[]]
    rows: Iterable = zip(*columns)
    for i, per_sample in enumerate(rows):
        if is_frames:
            frames = zip(*[(v or []) for v in per_sample])
            for frame_values in frames:
                for k, v in enumerate(frame_values):
                    out[k].append(v)
                out[-1].append(i)
        else:
            for k, v in enumerate(per_sample):
                out[k].append(v)
            out[-1].append(i)
    return out


def records_from_classifications(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str,
    *,
    positive_label: str | None = None,
) -> MatchRecords:
    """Match records of a ``Classification`` prediction field.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        pred_field: the predictions field (``frames.<field>`` on video)
        gt_field: the ground truth field
        positive_label (None): the positive class of a binary task; None
            for a multiclass task with escalation

    Returns:
        a :class:`~optimal_confidence.curves.sweep.MatchRecords`; for a binary
        task its one class is ``positive_label``
    """
    # both fields hold one label per image (or frame): read them together
    # so that frames line up
    p_label, p_conf, sample = _flat(samples, pred_field, ["label", "confidence"])
    g_label, _ = _flat(samples, gt_field, ["label"])

    judged = [g is not None for g in g_label]
    sample = np.asarray(sample, dtype=np.int64)[judged]
    g = [l for l, j in zip(g_label, judged) if j]
    p = [l for l, j in zip(p_label, judged) if j]
    conf = np.array(
        [
            np.nan if (c is None or l is None) else float(c)
            for c, l, j in zip(p_conf, p_label, judged)
            if j
        ],
        dtype=np.float64,
    )

    if positive_label is not None:
        is_pos_pred = np.array([l == positive_label for l in p], dtype=bool)
        score = positive_score(is_pos_pred, conf)
        gt_pos = np.array([l == positive_label for l in g], dtype=bool)
        return MatchRecords(
            classes=(positive_label,),
            pred_conf=score,
            pred_tp=gt_pos.copy(),
            pred_class=np.zeros(len(score), dtype=np.int64),
            pred_sample=sample,
            gt_conf=score[gt_pos],
            gt_class=np.zeros(int(gt_pos.sum()), dtype=np.int64),
            gt_sample=sample[gt_pos],
            num_samples=len(samples),
            # no box: the target of a right answer is 1 (see certainty.laece)
            pred_iou=np.where(gt_pos, 1.0, np.nan),
        )

    classes = sorted({l for l in g if l is not None} | {l for l in p if l is not None})
    index = {c: i for i, c in enumerate(classes)}
    right = np.array([a is not None and a == b for a, b in zip(p, g)], dtype=bool)
    return MatchRecords(
        classes=tuple(classes),
        pred_conf=conf,
        pred_tp=right,
        # an answer counts for the class it gave, an image for its true class
        pred_class=np.array([index.get(l, -1) for l in p], dtype=np.int64),
        pred_sample=sample,
        gt_conf=np.where(right, conf, np.nan),
        gt_class=np.array([index[l] for l in g], dtype=np.int64),
        gt_sample=sample,
        num_samples=len(samples),
        pred_iou=np.where(right, 1.0, np.nan),
    )
