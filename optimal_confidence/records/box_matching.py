"""FiftyOne's COCO-style box matching, reproduced on numpy arrays.

:func:`_match` matches the predictions and ground truth objects of a batch
of images (or video frames), given as flat :class:`_Objects` arrays, and
returns which predictions are true positives, the IoU of each with its
object, and the confidence that finds each ground truth object. It computes the IoUs of all prediction and ground
truth pairs of the batch in one numpy pass and runs the greedy matching
over the pairs that can match; :mod:`~optimal_confidence.records.fast_matching`
reads the arrays from the dataset and assembles the records.

It reproduces FiftyOne 1.22.1's COCO-style matcher
(``fiftyone/utils/eval/coco.py``: ``_coco_evaluation_setup`` and
``_compute_matches``; ``fiftyone/utils/iou.py``: ``_compute_bbox_ious`` and
``compute_bbox_iou``) rule for rule:

-   each image (or frame) is matched on its own; its objects are split into
    categories by label when ``classwise`` is True, else form one category;
-   predictions are visited in descending ``confidence or -1`` order, a
    stable sort: equal keys keep object order, and a confidence of exactly
    ``0`` sorts as ``-1``;
-   ground truth objects are ordered with crowds last (stable); a pair is a
    candidate when the boxes intersect as closed intervals (the R-tree
    query), and its IoU is ``inter / union``, where the union of a crowd is
    the prediction's area; 0 when the boxes do not overlap, at most 1;
-   the IoU threshold is ``min(iou, 1 - 1e-10)`` and a pair matches when its
    IoU is ``>=`` the threshold;
-   a prediction takes, among the ground truth objects it can still take,
    the one with the highest IoU, preferring any non-crowd object over a
    crowd; among equal IoUs the last object in that order wins. A crowd must
    have the prediction's label even when ``classwise`` is False, and it can
    absorb several predictions; any other object is taken at most once.

One more detail of FiftyOne is an implementation accident rather than a
rule: its R-tree returns candidates in insertion order only while a
category holds at most ``leaf_capacity`` (100) ground truth objects. Beyond
that, a crowd met first can beat a better-fitting object, and ties go to
whichever object the tree returns last. Images (or frames) where that order
can change the outcome (a big category with a crowd candidate or tied
IoUs) are matched with the same R-tree, one pair at a time, so they stay
exact.

Pure numpy and rtree: no FiftyOne import.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import rtree.index as rti

#: (prediction, ground truth) pairs whose IoUs are computed in one numpy pass
_PAIRS_PER_CHUNK = 500_000

#: while a group holds at most this many ground truth objects, FiftyOne's
#: R-tree (``fiftyone.utils.iou._compute_bbox_ious``) returns candidates in
#: insertion order: its root is then a single leaf
_INSERTION_ORDER_LIMIT = int(rti.Property().leaf_capacity)


class _Objects(NamedTuple):
    """The objects of one field in one batch, flattened in read order.

    ``group`` is the index of the image (or frame) within the batch;
    ``label`` indexes the running label-code dict; ``conf`` is ``NaN``
    without a confidence (all ``NaN`` for ground truth); ``crowd`` is all
    False for predictions.
    """

    group: np.ndarray
    label: np.ndarray
    conf: np.ndarray
    box: np.ndarray
    crowd: np.ndarray
    sample: np.ndarray
    num_groups: int


def _box_ious(
    pb: np.ndarray, gb: np.ndarray, crowd: np.ndarray
) -> np.ndarray:
    """IoUs of aligned box pairs, computed with exactly the floating point
    operations of ``fiftyone.utils.iou.compute_bbox_iou``, so that ties and
    the threshold comparison come out the same.
    """
    px, py, pw, ph = pb.T
    gx, gy, gw, gh = gb.T
    w = np.minimum(px + pw, gx + gw) - np.maximum(px, gx)
    h = np.minimum(py + ph, gy + gh) - np.maximum(py, gy)
    inter = h * w
    pred_area = ph * pw
    union = np.where(crowd, pred_area, pred_area + gh * gw - inter)
    ious = np.zeros(len(inter))
    np.divide(inter, union, out=ious, where=(w > 0) & (h > 0) & (union != 0))
    return np.minimum(ious, 1.0)


def _overlap(pb: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """Whether box pairs intersect as closed intervals, as the R-tree query
    of ``fiftyone.utils.iou._compute_bbox_ious`` does.
    """
    px, py, pw, ph = pb.T
    gx, gy, gw, gh = gb.T
    return (
        (px <= gx + gw) & (px + pw >= gx) & (py <= gy + gh) & (py + ph >= gy)
    )


def sort_keys(conf: np.ndarray) -> np.ndarray:
    """The order in which FiftyOne visits predictions: it sorts by
    ``p.confidence or -1``, so a confidence of 0 (falsy) sorts as -1."""
    return np.where(conf == 0, -1.0, conf)


def _match(
    preds: _Objects,
    gts: _Objects,
    thresh: float,
    classwise: bool,
    insertion_order_limit: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Matches one batch.

    Args:
        preds: the predictions of the batch
        gts: the ground truth objects of the batch
        thresh: the IoU threshold, already capped as FiftyOne caps it
        classwise: whether only objects of the same label can match
        insertion_order_limit: the most ground truth objects a category
            can hold while FiftyOne's R-tree returns them in insertion order

    Returns:
        ``(pred_tp, pred_iou, gt_conf)``, aligned with ``preds`` and
        ``gts``; ``pred_iou`` is the IoU of each true positive with its
        object (``NaN`` for the other predictions)
    """
    pred_tp = np.zeros(len(preds.conf), dtype=bool)
    pred_iou = np.full(len(preds.conf), np.nan)
    gt_conf = np.full(len(gts.conf), np.nan)

    gt_count = np.bincount(gts.group, minlength=preds.num_groups)
    scored = _visiting_order(preds, gt_count)
    if len(scored) == 0:
        return pred_tp, pred_iou, gt_conf
    rank = np.empty(len(preds.conf), dtype=np.int64)
    rank[scored] = np.arange(len(scored))

    big = _in_big_category(
        preds, gts, scored, classwise, insertion_order_limit
    )
    p_idx, g_idx, ious, crowd_seen = _candidate_pairs(
        preds, gts, scored, gt_count, big, thresh, classwise
    )

    # Preference within a prediction: non-crowd first, then higher IoU, then
    # the later object (FiftyOne puts crowds last and gives ties to the last
    # candidate)
    g_crowd = gts.crowd[g_idx]
    order = np.lexsort((-g_idx, -ious, g_crowd, rank[p_idx]))
    p_idx, g_idx, ious, g_crowd = (
        p_idx[order],
        g_idx[order],
        ious[order],
        g_crowd[order],
    )

    # Groups where the R-tree's order can change the outcome
    slow = np.zeros(preds.num_groups, dtype=bool)
    if big.any():
        slow[preds.group[crowd_seen]] = True
        slow[preds.group[_tied(p_idx, ious, g_crowd, big)]] = True
        fast = ~slow[preds.group[p_idx]]
        p_idx, g_idx, g_crowd = p_idx[fast], g_idx[fast], g_crowd[fast]

    match_p, match_g = _greedy(p_idx, g_idx, g_crowd, len(gts.conf))

    if slow.any():
        slow_p, slow_g = _match_with_rtree(
            preds,
            gts,
            scored[slow[preds.group[scored]]],
            slow,
            thresh,
            classwise,
        )
        match_p = np.concatenate([match_p, slow_p])
        match_g = np.concatenate([match_g, slow_g])

    # As in _reduce_matches: only same-label matches count
    tp = preds.label[match_p] == gts.label[match_g]
    match_p, match_g = match_p[tp], match_g[tp]
    pred_tp[match_p] = True
    # The IoU FiftyOne stores as <eval_key>_iou: the same floating point
    # operations, so the same float
    pred_iou[match_p] = _box_ious(preds.box[match_p], gts.box[match_g], gts.crowd[match_g])
    # A crowd can absorb several predictions: keep the highest confidence
    np.fmax.at(gt_conf, match_g, preds.conf[match_p])
    return pred_tp, pred_iou, gt_conf


def _visiting_order(preds: _Objects, gt_count: np.ndarray) -> np.ndarray:
    """The scored predictions of groups with ground truth, in FiftyOne's
    visiting order: by group, then descending sort key, then object order.

    Args:
        preds: the predictions of the batch
        gt_count: the number of ground truth objects of each group

    Returns:
        the indices of the predictions
    """
    scored = np.flatnonzero(~np.isnan(preds.conf))
    scored = scored[gt_count[preds.group[scored]] > 0]
    key = sort_keys(preds.conf[scored])
    return scored[np.lexsort((scored, -key, preds.group[scored]))]


def _candidate_pairs(
    preds: _Objects,
    gts: _Objects,
    scored: np.ndarray,
    gt_count: np.ndarray,
    big: np.ndarray,
    thresh: float,
    classwise: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_eligible_pairs` of all the ``scored`` predictions, computed
    a bounded number of pairs at a time to cap the memory of the IoUs.

    Args:
        preds: the predictions of the batch
        gts: the ground truth objects of the batch
        scored: the predictions to pair, in visiting order (not empty)
        gt_count: the number of ground truth objects of each group
        big: whether each prediction competes in a big category
        thresh: the IoU threshold
        classwise: whether only objects of the same label can match

    Returns:
        ``(p_idx, g_idx, ious, crowd_seen)``, as :func:`_eligible_pairs`
        returns them, concatenated over the chunks
    """
    gt_start = np.cumsum(gt_count) - gt_count
    chunks = []
    cnt = gt_count[preds.group[scored]]
    cum = np.cumsum(cnt)
    lo = 0
    while lo < len(scored):
        done = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, done + _PAIRS_PER_CHUNK, "right"))
        hi = max(hi, lo + 1)
        chunks.append(
            _eligible_pairs(
                preds,
                gts,
                scored[lo:hi],
                cnt[lo:hi],
                gt_start,
                big,
                thresh,
                classwise,
            )
        )
        lo = hi
    p_idx, g_idx, ious, crowd_seen = (np.concatenate(c) for c in zip(*chunks))
    return p_idx, g_idx, ious, crowd_seen


def _in_big_category(
    preds: _Objects,
    gts: _Objects,
    scored: np.ndarray,
    classwise: bool,
    insertion_order_limit: int,
) -> np.ndarray:
    """Whether each prediction competes in a category (label, or everything
    when not classwise, within its image or frame) with more ground truth
    objects than FiftyOne's R-tree returns in insertion order
    (``insertion_order_limit``).

    Returns:
        a ``bool`` array of shape ``(num_preds,)``
    """
    big = np.zeros(len(preds.conf), dtype=bool)
    if np.bincount(gts.group).max() <= insertion_order_limit:
        return big
    if classwise:
        width = int(max(preds.label.max(), gts.label.max())) + 1
        gt_keys = gts.group * width + gts.label
        pred_keys = preds.group[scored] * width + preds.label[scored]
    else:
        gt_keys = gts.group
        pred_keys = preds.group[scored]
    keys, counts = np.unique(gt_keys, return_counts=True)
    pos = np.minimum(np.searchsorted(keys, pred_keys), len(keys) - 1)
    big[scored] = (keys[pos] == pred_keys) & (
        counts[pos] > insertion_order_limit
    )
    return big


def _eligible_pairs(
    preds: _Objects,
    gts: _Objects,
    scored: np.ndarray,
    cnt: np.ndarray,
    gt_start: np.ndarray,
    big: np.ndarray,
    thresh: float,
    classwise: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of the ``scored`` predictions and the ground truth objects
    of their images (or frames) that can match.

    Returns:
        ``(p_idx, g_idx, ious, crowd_seen)``: the pairs and their IoUs, and
        the predictions of big categories that have a crowd candidate (of
        their label, intersecting, at any IoU)
    """
    # Every pair of the image: cnt[k] ground truth objects for scored[k]
    p_idx = np.repeat(scored, cnt)
    offsets = np.cumsum(cnt) - cnt
    g_idx = np.arange(int(cnt.sum()), dtype=np.int64) + np.repeat(
        gt_start[preds.group[scored]] - offsets, cnt
    )

    same = preds.label[p_idx] == gts.label[g_idx]
    crowd = gts.crowd[g_idx]
    # A crowd needs the prediction's label even when classwise is False
    keep = same if classwise else same | ~crowd
    p_idx, g_idx, crowd = p_idx[keep], g_idx[keep], crowd[keep]

    pb, gb = preds.box[p_idx], gts.box[g_idx]
    ious = _box_ious(pb, gb, crowd)
    keep = ious >= thresh
    if thresh <= 0:
        # Boxes the R-tree does not return are never considered, even where
        # an IoU of 0 would pass the threshold
        keep &= _overlap(pb, gb)

    crowd_seen = np.zeros(0, dtype=np.int64)
    if big.any():
        # Out of insertion order, a crowd met before a better object can win
        # or, met after an object, stop the search: whatever its IoU
        seen = big[p_idx] & crowd & _overlap(pb, gb)
        crowd_seen = np.unique(p_idx[seen])

    return p_idx[keep], g_idx[keep], ious[keep], crowd_seen


def _tied(
    p_idx: np.ndarray, ious: np.ndarray, g_crowd: np.ndarray, big: np.ndarray
) -> np.ndarray:
    """The predictions of big categories with two eligible non-crowd
    candidates of equal IoU, which the R-tree's order decides between.

    The pairs must be sorted by prediction, then preference.
    """
    same = (
        (p_idx[1:] == p_idx[:-1])
        & (ious[1:] == ious[:-1])
        & ~g_crowd[1:]
        & ~g_crowd[:-1]
    )
    return np.unique(p_idx[1:][same & big[p_idx[1:]]])


def _greedy(
    p_idx: np.ndarray, g_idx: np.ndarray, g_crowd: np.ndarray, num_gts: int
) -> tuple[np.ndarray, np.ndarray]:
    """The sequential part: each prediction, in visiting order, takes its
    most preferred candidate that is still free. A crowd is never taken.

    The pairs must be sorted by visiting order, then preference.
    """
    taken = bytearray(num_gts)
    match_p: list[int] = []
    match_g: list[int] = []
    last = -1
    for p, g, crowd in zip(p_idx.tolist(), g_idx.tolist(), g_crowd.tolist()):
        if p == last or taken[g]:
            continue
        match_p.append(p)
        match_g.append(g)
        last = p
        if not crowd:
            taken[g] = 1
    return (
        np.array(match_p, dtype=np.int64),
        np.array(match_g, dtype=np.int64),
    )


def _bbox_iou(gt: list[float], pred: list[float], gt_crowd: bool) -> float:
    """``fiftyone.utils.iou.compute_bbox_iou`` on ``[x, y, w, h]`` lists."""
    gx, gy, gw, gh = gt
    px, py, pw, ph = pred
    w = min(px + pw, gx + gw) - max(px, gx)
    if w <= 0:
        return 0
    h = min(py + ph, gy + gh) - max(py, gy)
    if h <= 0:
        return 0
    inter = h * w
    pred_area = ph * pw
    union = pred_area if gt_crowd else pred_area + gh * gw - inter
    if union == 0:
        return 0
    return min(inter / union, 1)


def _match_with_rtree(
    preds: _Objects,
    gts: _Objects,
    scored: np.ndarray,
    groups: np.ndarray,
    thresh: float,
    classwise: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """FiftyOne's matching loop, one pair at a time, with candidates in the
    order of the same R-tree, for the groups where that order matters.

    ``scored`` holds the scored predictions of those groups in visiting
    order.
    """
    g_sel = np.flatnonzero(groups[gts.group])
    g_boxes = gts.box.tolist()
    p_boxes = preds.box.tolist()
    g_crowd = gts.crowd.tolist()
    g_label = gts.label.tolist()
    p_label = preds.label.tolist()

    # (group, category) -> ground truth objects, in object order
    cats: dict[tuple[int, int], list[int]] = {}
    for g in g_sel.tolist():
        cat = (int(gts.group[g]), g_label[g] if classwise else -1)
        cats.setdefault(cat, []).append(g)

    match_p: list[int] = []
    match_g: list[int] = []
    indexes: dict[tuple[int, int], tuple[Any, list[int]]] = {}
    taken: set[int] = set()
    for p in scored.tolist():
        cat = (int(preds.group[p]), p_label[p] if classwise else -1)
        if cat not in cats:
            continue
        if cat not in indexes:
            cat_gts = sorted(cats[cat], key=lambda g: g_crowd[g])
            indexes[cat] = (_rtree(cat_gts, g_boxes), cat_gts)
        index, cat_gts = indexes[cat]

        x, y, w, h = p_boxes[p]
        best = -1
        best_iou = thresh
        for j in index.intersection((x, x + w, y, y + h)):
            g = cat_gts[j]
            crowd = g_crowd[g]
            if g in taken and not crowd:
                continue
            if crowd and g_label[g] != p_label[p]:
                continue
            if best >= 0 and not g_crowd[best] and crowd:
                break
            iou = _bbox_iou(g_boxes[g], p_boxes[p], crowd)
            if iou < best_iou:
                continue
            best_iou = iou
            best = g
        if best >= 0:
            taken.add(best)
            match_p.append(p)
            match_g.append(best)

    return (
        np.array(match_p, dtype=np.int64),
        np.array(match_g, dtype=np.int64),
    )


def _rtree(cat_gts: list[int], boxes: list[list[float]]) -> Any:
    """The R-tree of ``fiftyone.utils.iou._compute_bbox_ious``."""
    prop = rti.Property()
    prop.dimension = 2
    index = rti.Index(properties=prop, interleaved=False)
    for i, g in enumerate(cat_gts):
        x, y, w, h = boxes[g]
        index.insert(i, (x, x + w, y, y + h))
    return index


