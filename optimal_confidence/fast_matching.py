"""Exact match records for bounding boxes without ``evaluate_detections``.

:func:`records_fast` returns the same
:class:`~optimal_confidence.sweep.MatchRecords` as
:func:`~optimal_confidence.matching.records_from_evaluation`, for
``Detections`` fields compared by their boxes, at about the cost of reading
the fields: it reads labels, confidences, boxes and the crowd attribute with
``values()``, computes the IoUs of all prediction and ground truth pairs of
a batch of images (or video frames) in one numpy pass, and runs the greedy
matching over the pairs that can match. Measured on 2000 images with about
6 ground truth and 6 predicted boxes each: 0.06 - 0.12 s, against 0.10 -
0.15 s for a plain ``values()`` read of the boxes, labels and confidences
and about 8 s for ``evaluate_detections``.

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

Predictions without a numeric confidence (None, missing, ``NaN``) take no
part, as in :func:`~optimal_confidence.matching.records_from_evaluation`.
With ``classwise=False`` a prediction can take an object of another label;
only same-label matches count as true positives.

One more detail of FiftyOne is an implementation accident rather than a
rule: its R-tree returns candidates in insertion order only while a
category holds at most ``leaf_capacity`` (100) ground truth objects. Beyond
that, a crowd met first can beat a better-fitting object, and ties go to
whichever object the tree returns last. Images (or frames) where that order
can change the outcome (a big category with a crowd candidate or tied
IoUs) are matched with the same R-tree, one pair at a time, so they stay
exact.
"""

from __future__ import annotations

import inspect
import itertools
import numbers
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np
import rtree.index as rti

import fiftyone as fo
import fiftyone.core.collections as foc
import fiftyone.core.fields as fof
import fiftyone.core.media as fom

from .sweep import MatchRecords

__all__ = ["UnsupportedMatchingError", "records_fast"]

#: samples per ``values()`` read when the collection holds images
DEFAULT_BATCH_SIZE = 5000

#: images or frames per ``values()`` read, used to size batches of videos
_DEFAULT_FRAMES_PER_BATCH = 5000

#: (prediction, ground truth) pairs whose IoUs are computed in one numpy pass
_PAIRS_PER_CHUNK = 500_000

#: while a group holds at most this many ground truth objects, FiftyOne's
#: R-tree (``fiftyone.utils.iou._compute_bbox_ious``) returns candidates in
#: insertion order: its root is then a single leaf
_INSERTION_ORDER_LIMIT = int(rti.Property().leaf_capacity)

#: ``values(..., _raw=True)`` skips mongoengine's per-value ``to_python``,
#: two thirds of the read time for boxes (measured); the fields read here
#: are plain numbers and strings, which numpy converts the same either way
_RAW = (
    {"_raw": True}
    if "_raw" in inspect.signature(foc.SampleCollection.values).parameters
    else {}
)


class UnsupportedMatchingError(ValueError):
    """Raised for label types and options :func:`records_fast` does not
    reproduce (polylines, keypoints, instance masks, 3D boxes).

    The caller can fall back to
    :func:`~optimal_confidence.matching.records_from_evaluation`.
    """


def records_fast(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str = "ground_truth",
    *,
    iou: float = 0.5,
    classwise: bool = True,
    iscrowd: str = "iscrowd",
    use_masks: bool = False,
    use_boxes: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> MatchRecords:
    """Matches the boxes of two ``Detections`` fields as FiftyOne's COCO-style
    ``evaluate_detections`` does, and returns the match records.

    The result equals that of
    :func:`~optimal_confidence.matching.records_from_evaluation` with the
    same arguments: rows in the order of ``samples``, then frames, then
    objects, as :func:`~optimal_confidence.matching.read_label_values` reads
    them. Nothing is written to the dataset.

    Samples are read in batches of ``batch_size`` with ``values()``, so
    memory grows with one batch plus the returned arrays.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            images or videos
        pred_field: the predictions, a ``Detections`` field;
            ``frames.``-prefixed for frame-level fields of videos
        gt_field ("ground_truth"): the ground truth, a ``Detections`` field
            at the same level as ``pred_field``
        iou (0.5): the IoU a match needs
        classwise (True): whether only objects of the same label can match
        iscrowd ("iscrowd"): the name of the ground truth attribute that
            marks crowds; read as a dynamic attribute, else from the
            ``attributes`` dict, and true when ``bool(value)`` is
        use_masks (False): must be False; instance masks are not supported
        use_boxes (False): accepted for symmetry with
            :func:`~optimal_confidence.matching.records_from_evaluation`;
            ``Detections`` are compared by their boxes either way
        batch_size (None): the number of samples per read; ``None`` means
            5000 images, or as many videos as hold about 5000 frames
        progress (None): a callable that receives ``(done, total)`` sample
            counts after each batch

    Returns:
        a :class:`~optimal_confidence.sweep.MatchRecords`

    Raises:
        UnsupportedMatchingError: (a ``ValueError``) if the fields are not
            ``Detections``, if ``use_masks`` is True, if the boxes are 3D, or
            if the collection is grouped
        ValueError: if an argument is invalid, a field does not exist, or a
            box is missing or malformed
    """
    thresh = _check_args(
        iou, classwise, iscrowd, use_masks, batch_size, progress
    )
    pred_list, gt_list, is_frames = _check_fields(
        samples, pred_field, gt_field
    )

    num_samples = len(samples)
    if batch_size is None:
        batch_size = _default_batch_size(samples, num_samples, is_frames)

    paths = [
        f"{pred_list}.label",
        f"{pred_list}.confidence",
        f"{pred_list}.bounding_box",
        f"{gt_list}.label",
        f"{gt_list}.bounding_box",
        f"{gt_list}.{iscrowd}",
    ]
    if _uses_attributes_dict(samples, gt_list, iscrowd):
        paths.append(f"{gt_list}.attributes.{iscrowd}.value")

    # label -> code, in order of first appearance; sorted into classes at
    # the end, when every label has been seen
    codes: dict[Any, int] = {}
    parts: list[_Rows] = []

    for start, view, sample_ids in _batches(samples, num_samples, batch_size):
        columns = _read(view, paths, sample_ids)
        preds, gts = _parse(
            columns, is_frames, start, codes, pred_field, gt_field
        )
        pred_tp, gt_conf = _match(preds, gts, thresh, classwise)
        parts.append(
            _Rows(
                pred_conf=preds.conf,
                pred_tp=pred_tp,
                pred_code=preds.label,
                pred_sample=preds.sample,
                gt_conf=gt_conf,
                gt_code=gts.label,
                gt_sample=gts.sample,
            )
        )
        if progress is not None:
            progress(min(start + batch_size, num_samples), num_samples)

    return _assemble(parts, codes, num_samples)


# Validation


def _check_args(
    iou: Any,
    classwise: Any,
    iscrowd: Any,
    use_masks: Any,
    batch_size: Any,
    progress: Any,
) -> float:
    """Validates the options and returns the IoU threshold FiftyOne uses."""
    if (
        isinstance(iou, bool)
        or not isinstance(iou, numbers.Real)
        or not np.isfinite(iou)
    ):
        raise ValueError(f"iou must be a finite number; got {iou!r}")
    if not isinstance(classwise, (bool, np.bool_)):
        raise ValueError(f"classwise must be True or False; got {classwise!r}")
    if not isinstance(iscrowd, str) or not iscrowd:
        raise ValueError(
            f"iscrowd must be a non-empty attribute name; got {iscrowd!r}"
        )
    if use_masks:
        raise UnsupportedMatchingError(
            "The fast matcher compares boxes; IoUs of instance masks "
            "(use_masks=True) need evaluate_detections"
        )
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            f"batch_size must be a positive integer or None; got "
            f"{batch_size!r}"
        )
    if progress is not None and not callable(progress):
        raise ValueError(
            f"progress must be None or a callable taking (done, total); got "
            f"{progress!r}"
        )

    # fiftyone/utils/eval/coco.py, _coco_evaluation_single_iou
    return min(float(iou), 1 - 1e-10)


def _check_fields(
    samples: foc.SampleCollection, pred_field: str, gt_field: str
) -> tuple[str, str, bool]:
    """Checks that both fields are ``Detections`` at the same level.

    Returns:
        the ``(pred_list_path, gt_list_path, is_frames)`` tuple
    """
    if not isinstance(samples, foc.SampleCollection):
        raise ValueError(
            f"samples must be a FiftyOne dataset or view; got "
            f"{type(samples).__name__}"
        )
    media_type = samples.media_type
    if media_type == fom.GROUP:
        raise UnsupportedMatchingError(
            "The fast matcher does not support grouped collections; select a "
            "group slice first"
        )
    if media_type in (fom.POINT_CLOUD, fom.THREE_D):
        raise UnsupportedMatchingError(
            f"The fast matcher compares 2D boxes; this collection holds "
            f"{media_type!r} samples"
        )

    is_frames = []
    for role, field in (("pred_field", pred_field), ("gt_field", gt_field)):
        if not isinstance(field, str):
            raise ValueError(f"{role} must be a field name; got {field!r}")
        schema_field = samples.get_field(field)
        if schema_field is None:
            raise ValueError(
                f"{role} {field!r} does not exist on this collection"
            )
        doc_type = getattr(schema_field, "document_type", None)
        if not (
            isinstance(schema_field, fof.EmbeddedDocumentField)
            and isinstance(doc_type, type)
            and issubclass(doc_type, fo.Label)
        ):
            raise ValueError(
                f"{role} {field!r} is not a label field; got "
                f"{type(schema_field).__name__}"
            )
        if not issubclass(doc_type, fo.Detections):
            raise UnsupportedMatchingError(
                f"The fast matcher supports Detections fields only; {role} "
                f"{field!r} holds {doc_type.__name__}"
            )
        for attr in ("location", "dimensions", "rotation"):
            if samples.get_field(f"{field}.detections.{attr}") is not None:
                raise UnsupportedMatchingError(
                    f"{role} {field!r} declares the 3D box attribute "
                    f"{attr!r}; the fast matcher compares 2D boxes only"
                )
        is_frames.append(samples._is_frame_field(field))

    if is_frames[0] != is_frames[1]:
        raise ValueError(
            f"pred_field {pred_field!r} and gt_field {gt_field!r} must both "
            f"be frame-level fields or both sample-level fields"
        )

    return f"{pred_field}.detections", f"{gt_field}.detections", is_frames[0]


def _default_batch_size(
    samples: foc.SampleCollection, num_samples: int, is_frames: bool
) -> int:
    if not is_frames or num_samples == 0:
        return DEFAULT_BATCH_SIZE
    num_frames = samples.count("frames")
    per_sample = max(1.0, num_frames / num_samples)
    return max(1, int(_DEFAULT_FRAMES_PER_BATCH / per_sample))


def _uses_attributes_dict(
    samples: foc.SampleCollection, gt_list: str, iscrowd: str
) -> bool:
    """Whether any ground truth object keeps the crowd flag in its
    ``attributes`` dict, where FiftyOne looks when the dynamic attribute is
    absent (``Detection.get_attribute_value``).
    """
    return samples.count(f"{gt_list}.attributes.{iscrowd}") > 0


# Reading


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


class _Rows(NamedTuple):
    """The output rows of one batch; ``*_code`` index the label codes."""

    pred_conf: np.ndarray
    pred_tp: np.ndarray
    pred_code: np.ndarray
    pred_sample: np.ndarray
    gt_conf: np.ndarray
    gt_code: np.ndarray
    gt_sample: np.ndarray


def _batches(
    samples: foc.SampleCollection, num_samples: int, batch_size: int
) -> Iterator[tuple[int, foc.SampleCollection, list[str] | None]]:
    """Yields ``(start, view, sample_ids)``; ``sample_ids`` is None when the
    view is the whole collection.

    Batches are ``select()`` views of consecutive sample ids, read once:
    ``skip()`` and ``limit()`` would scan past every earlier sample (0.33 s
    against 0.13 s for the fourth batch of 5000, measured).
    """
    if num_samples <= batch_size:
        yield 0, samples, None
        return

    ids = samples.values("id")
    for start in range(0, num_samples, batch_size):
        batch_ids = ids[start : start + batch_size]
        yield start, samples.select(batch_ids), batch_ids


def _read(
    view: foc.SampleCollection, paths: list[str], sample_ids: list[str] | None
) -> list[list]:
    """Reads the columns of one batch, in the order of ``sample_ids``."""
    if sample_ids is None:
        return view.values(paths, **_RAW)

    # select() leaves the order to MongoDB (by _id when it uses the index),
    # so read the ids too and restore the collection's order
    columns = view.values(["id"] + paths, **_RAW)
    read_ids = columns[0]
    columns = columns[1:]
    if read_ids == sample_ids:
        return columns
    if len(read_ids) != len(sample_ids):
        raise RuntimeError(
            f"Read {len(read_ids)} samples for a batch of {len(sample_ids)}; "
            f"was the collection modified while it was read?"
        )
    where = {sid: k for k, sid in enumerate(read_ids)}
    order = [where[sid] for sid in sample_ids]
    return [[col[k] for k in order] for col in columns]


def _parse(
    columns: list[list],
    is_frames: bool,
    start: int,
    codes: dict[Any, int],
    pred_field: str,
    gt_field: str,
) -> tuple[_Objects, _Objects]:
    """Flattens the columns of one batch into prediction and ground truth
    arrays, adding new labels to ``codes``.
    """
    num = len(columns[0])
    if is_frames:
        # One group per frame: flatten the per-sample frame lists first
        frames_per_sample = [len(v) if v else 0 for v in columns[0]]
        for col in columns[1:]:
            if [len(v) if v else 0 for v in col] != frames_per_sample:
                raise RuntimeError("Frame-level values were read misaligned")
        columns = [_chain(col) for col in columns]
        group_sample = start + np.repeat(
            np.arange(num, dtype=np.int64), frames_per_sample
        )
    else:
        group_sample = start + np.arange(num, dtype=np.int64)
    num_groups = len(group_sample)

    p_label, p_conf, p_box, g_label, g_box, g_crowd, *g_crowd_dict = columns

    p_group, p_labels = _flatten(p_label, num_groups)
    g_group, g_labels = _flatten(g_label, num_groups)
    for label in set(p_labels).union(g_labels):
        codes.setdefault(label, len(codes))

    crowd_values = _chain(g_crowd)
    if g_crowd_dict:
        # Detection.get_attribute_value: the dynamic attribute first, then
        # the attributes dict. values() reads a missing attribute as None
        crowd_values = [
            d if v is None else v
            for v, d in zip(crowd_values, _chain(g_crowd_dict[0]))
        ]

    preds = _Objects(
        group=p_group,
        label=_encode(p_labels, codes),
        # None -> NaN, as read_label_values does
        conf=np.array(_chain(p_conf), dtype=np.float64).reshape(-1),
        box=_boxes(_chain(p_box), pred_field),
        crowd=np.zeros(len(p_labels), dtype=bool),
        sample=group_sample[p_group],
        num_groups=num_groups,
    )
    gts = _Objects(
        group=g_group,
        label=_encode(g_labels, codes),
        conf=np.full(len(g_labels), np.nan),
        box=_boxes(_chain(g_box), gt_field),
        crowd=np.fromiter(map(bool, crowd_values), bool, len(crowd_values)),
        sample=group_sample[g_group],
        num_groups=num_groups,
    )
    return preds, gts


def _encode(labels: list, codes: dict[Any, int]) -> np.ndarray:
    return np.fromiter(map(codes.__getitem__, labels), np.int64, len(labels))


def _chain(groups: list) -> list:
    return list(itertools.chain.from_iterable(filter(None, groups)))


def _flatten(groups: list, num_groups: int) -> tuple[np.ndarray, list]:
    """The group index of each object and the flattened values."""
    counts = np.fromiter(
        (len(g) if g else 0 for g in groups), np.int64, num_groups
    )
    group = np.repeat(np.arange(num_groups, dtype=np.int64), counts)
    return group, _chain(groups)


def _boxes(values: list, field: str) -> np.ndarray:
    """A ``(n, 4)`` array of ``[x, y, w, h]`` boxes; a missing or malformed
    box is an error, as it is for ``evaluate_detections``.
    """
    if not values:
        return np.zeros((0, 4))
    try:
        boxes = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        boxes = None
    if boxes is None or boxes.shape != (len(values), 4):
        bad = next(
            (
                v
                for v in values
                if not isinstance(v, (list, tuple)) or len(v) != 4
            ),
            None,
        )
        raise ValueError(
            f"Every object of {field!r} needs a bounding_box [x, y, w, h]; "
            f"found {bad!r}"
        )
    return boxes


# Matching


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


def _sort_keys(conf: np.ndarray) -> np.ndarray:
    # FiftyOne sorts by `p.confidence or -1`: a confidence of 0 is falsy
    return np.where(conf == 0, -1.0, conf)


def _match(
    preds: _Objects, gts: _Objects, thresh: float, classwise: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Matches one batch.

    Returns:
        ``(pred_tp, gt_conf)``, aligned with ``preds`` and ``gts``
    """
    pred_tp = np.zeros(len(preds.conf), dtype=bool)
    gt_conf = np.full(len(gts.conf), np.nan)

    gt_count = np.bincount(gts.group, minlength=preds.num_groups)
    gt_start = np.cumsum(gt_count) - gt_count

    # Scored predictions of groups with ground truth, in visiting order: by
    # group, then descending sort key, then object order
    scored = np.flatnonzero(~np.isnan(preds.conf))
    scored = scored[gt_count[preds.group[scored]] > 0]
    if len(scored) == 0:
        return pred_tp, gt_conf
    key = _sort_keys(preds.conf[scored])
    scored = scored[np.lexsort((scored, -key, preds.group[scored]))]
    rank = np.empty(len(preds.conf), dtype=np.int64)
    rank[scored] = np.arange(len(scored))

    big = _in_big_category(preds, gts, scored, classwise)

    # The pairs that can match, a bounded number of pairs at a time
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
    # A crowd can absorb several predictions: keep the highest confidence
    np.fmax.at(gt_conf, match_g, preds.conf[match_p])
    return pred_tp, gt_conf


def _in_big_category(
    preds: _Objects, gts: _Objects, scored: np.ndarray, classwise: bool
) -> np.ndarray:
    """Whether each prediction competes in a category (label, or everything
    when not classwise, within its image or frame) with more ground truth
    objects than FiftyOne's R-tree returns in insertion order.

    Returns:
        a ``bool`` array of shape ``(num_preds,)``
    """
    big = np.zeros(len(preds.conf), dtype=bool)
    if np.bincount(gts.group).max() <= _INSERTION_ORDER_LIMIT:
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
        counts[pos] > _INSERTION_ORDER_LIMIT
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


# Output


def _assemble(
    parts: list[_Rows], codes: dict[Any, int], num_samples: int
) -> MatchRecords:
    """Concatenates the batches and turns label codes into class indices
    (``-1`` for objects without a label), as ``_reduce_matches`` does.
    """
    classes = sorted(label for label in codes if label is not None)
    class_index = {label: i for i, label in enumerate(classes)}
    to_class = np.full(max(len(codes), 1), -1, dtype=np.int64)
    for label, code in codes.items():
        to_class[code] = class_index.get(label, -1)

    def column(name: str, dtype: Any) -> np.ndarray:
        arrays = [getattr(part, name) for part in parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

    return MatchRecords(
        classes=tuple(classes),
        pred_conf=column("pred_conf", np.float64),
        pred_tp=column("pred_tp", bool),
        pred_class=to_class[column("pred_code", np.int64)],
        pred_sample=column("pred_sample", np.int64),
        gt_conf=column("gt_conf", np.float64),
        gt_class=to_class[column("gt_code", np.int64)],
        gt_sample=column("gt_sample", np.int64),
        num_samples=num_samples,
    )
