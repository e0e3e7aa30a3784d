"""Match records of disjoint parts of a collection, joined into one.

Pure numpy. Matches never cross images, so the records of a collection cut
into parts (sample id ranges, shards cut at random, other machines) are the
rows of each part's records: joining them gives the counts of one pass over
the whole at every threshold, exactly. :func:`merge_records` does the
joining: the classes become the sorted union of the parts' classes, and
each part's sample indices move past the samples of the parts before it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .sweep import MatchRecords

__all__ = ["merge_records"]


def merge_records(parts: Sequence[MatchRecords]) -> MatchRecords:
    """One :class:`~optimal_confidence.curves.sweep.MatchRecords` for the
    samples of all ``parts``, in their order: the rows of the first part,
    then of the second (its samples numbered after the first's), and so on.

    Counts at any threshold equal the sums of the parts' counts. The IoUs of
    true positives (``pred_iou``) are kept when every part has them.

    Args:
        parts: the records of disjoint sets of samples

    Returns:
        a :class:`~optimal_confidence.curves.sweep.MatchRecords`

    Raises:
        ValueError: if there are no parts
    """
    parts = list(parts)
    if not parts:
        raise ValueError("There are no match records to merge")
    if len(parts) == 1:
        return parts[0]
    classes = tuple(sorted(set().union(*(p.classes for p in parts))))
    index = {c: i for i, c in enumerate(classes)}
    offsets = np.cumsum([0] + [p.num_samples for p in parts[:-1]])

    def recode(p: MatchRecords, codes: np.ndarray) -> np.ndarray:
        # -1 (no label) stays -1: the lookup's last entry
        table = np.array([index[c] for c in p.classes] + [-1], dtype=np.int64)
        return table[codes]

    def join(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate([np.asarray(a, dtype=dtype) for a in arrays])

    with_iou = all(p.pred_iou is not None for p in parts)
    return MatchRecords(
        classes=classes,
        pred_conf=join([p.pred_conf for p in parts], np.float64),
        pred_tp=join([p.pred_tp for p in parts], bool),
        pred_class=join([recode(p, p.pred_class) for p in parts], np.int64),
        pred_sample=join([p.pred_sample + o for p, o in zip(parts, offsets)], np.int64),
        gt_conf=join([p.gt_conf for p in parts], np.float64),
        gt_class=join([recode(p, p.gt_class) for p in parts], np.int64),
        gt_sample=join([p.gt_sample + o for p, o in zip(parts, offsets)], np.int64),
        num_samples=int(sum(p.num_samples for p in parts)),
        pred_iou=join([p.pred_iou for p in parts], np.float64) if with_iou else None,
    )
