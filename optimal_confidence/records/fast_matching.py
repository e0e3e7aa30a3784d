"""Exact match records for bounding boxes without ``evaluate_detections``.

:func:`records_fast` returns the same
:class:`~optimal_confidence.curves.sweep.MatchRecords` as
:func:`~optimal_confidence.records.matching.records_from_evaluation`, for
``Detections`` fields compared by their boxes, at about the cost of reading
the fields: it reads labels, confidences, boxes and the crowd attribute with
``values()``, computes the IoUs of all prediction and ground truth pairs of
a batch of images (or video frames) in one numpy pass, and runs the greedy
matching over the pairs that can match. Measured on 2000 images with about
6 ground truth and 6 predicted boxes each: 0.06 - 0.12 s, against 0.10 -
0.15 s for a plain ``values()`` read of the boxes, labels and confidences
and about 8 s for ``evaluate_detections``.

It reproduces FiftyOne 1.22.1's COCO-style matcher rule for rule, R-tree
quirks included; :mod:`~optimal_confidence.records.box_matching` lists the rules
and does the matching.

Predictions without a numeric confidence (None, missing, ``NaN``) take no
part, as in :func:`~optimal_confidence.records.matching.records_from_evaluation`.
With ``classwise=False`` a prediction can take an object of another label;
only same-label matches count as true positives.
"""

from __future__ import annotations

import itertools
import numbers
import operator
from typing import Any, Callable, NamedTuple

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc
import fiftyone.core.fields as fof
import fiftyone.core.media as fom

# records_fast passes this module's _INSERTION_ORDER_LIMIT to _match, so
# that tests can force or bypass the R-tree matcher by patching it here
from .box_matching import _INSERTION_ORDER_LIMIT, _match, _Objects
from .fields import bad_box_rows, malformed_box_message
from .reading import no_gc, read_batches
from ..curves.sweep import MatchRecords

__all__ = ["UnsupportedMatchingError", "records_fast", "records_fast_many"]

#: samples per ``values()`` read when the collection holds images
DEFAULT_BATCH_SIZE = 5000

#: images or frames per ``values()`` read, used to size batches of videos
_DEFAULT_FRAMES_PER_BATCH = 5000

class UnsupportedMatchingError(ValueError):
    """Raised for label types and options :func:`records_fast` does not
    reproduce (polylines, keypoints, instance masks, 3D boxes).

    The caller can fall back to
    :func:`~optimal_confidence.records.matching.records_from_evaluation`.
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
    :func:`~optimal_confidence.records.matching.records_from_evaluation` with the
    same arguments: rows in the order of ``samples``, then frames, then
    objects, as :func:`~optimal_confidence.records.matching.read_label_values` reads
    them. Nothing is written to the dataset.

    Samples are read in batches of ``batch_size`` from one streamed cursor
    (:func:`~optimal_confidence.records.reading.read_batches`), the next
    batch read while one is matched, so memory grows with about three
    batches plus the returned arrays. A crowd flag kept in the legacy
    ``attributes`` dict is found as its batch is read; if some object also
    sets the dynamic attribute to None, the ``UnsupportedMatchingError``
    comes then (a rare case: a separate scan first would cost every sweep
    4-10 s per million images).

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
            :func:`~optimal_confidence.records.matching.records_from_evaluation`;
            ``Detections`` are compared by their boxes either way
        batch_size (None): the number of samples per read; ``None`` means
            5000 images, or as many videos as hold about 5000 frames
        progress (None): a callable that receives ``(done, total)`` sample
            counts after each batch

    Returns:
        a :class:`~optimal_confidence.curves.sweep.MatchRecords`

    Raises:
        UnsupportedMatchingError: (a ``ValueError``) if the fields are not
            ``Detections``, if ``use_masks`` is True, if the boxes are 3D, or
            if the collection is grouped
        ValueError: if an argument is invalid, a field does not exist, or a
            box is missing or malformed
    """
    return records_fast_many(
        samples, [pred_field], gt_field, iou=iou, classwise=classwise,
        iscrowd=iscrowd, use_masks=use_masks, use_boxes=use_boxes,
        batch_size=batch_size, progress=progress,
    )[0]


def records_fast_many(
    samples: foc.SampleCollection,
    pred_fields: list[str],
    gt_field: str = "ground_truth",
    *,
    iou: float = 0.5,
    classwise: bool = True,
    iscrowd: str = "iscrowd",
    use_masks: bool = False,
    use_boxes: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> list[MatchRecords]:
    """:func:`records_fast` for several prediction fields against one
    ground truth: each batch is read once (the ground truth with every
    prediction field), and each field is matched on its own, so each
    record equals that of a separate :func:`records_fast` call.

    Args:
        pred_fields: the ``Detections`` fields of predictions
        (the others): as for :func:`records_fast`

    Returns:
        one :class:`~optimal_confidence.curves.sweep.MatchRecords` per field, in
        the order of ``pred_fields``
    """
    thresh = _check_args(
        iou, classwise, iscrowd, use_masks, batch_size, progress
    )
    lists = [_check_fields(samples, field, gt_field) for field in pred_fields]
    gt_list, is_frames = lists[0][1], lists[0][2]

    num_samples = len(samples)
    if batch_size is None:
        batch_size = _default_batch_size(samples, num_samples, is_frames)

    paths = [p for pred_list, _, _ in lists for p in _pred_paths(pred_list)]
    paths += _gt_paths(gt_list, iscrowd)

    # label -> code per field, in order of first appearance; sorted into
    # classes at the end, when every label has been seen
    codes: list[dict[Any, int]] = [_Codes() for _ in pred_fields]
    parts: list[list[_Rows]] = [[] for _ in pred_fields]

    # the collector stays off until each batch's lists are freed (see no_gc)
    with no_gc():
        dict_checked = False
        for start, columns in read_batches(samples, paths, num_samples, batch_size):
            gt_columns = columns[3 * len(pred_fields):]
            crowd_dict = gt_columns[3]
            if not _any_value(_chain(crowd_dict) if is_frames else crowd_dict):
                gt_columns = gt_columns[:3]  # no crowd flag in an attributes dict
            elif not dict_checked:
                dict_checked = _check_crowd_columns(samples, gt_list, iscrowd, is_frames, *gt_columns[2:])
            del crowd_dict
            parsed_gt: dict[str, Any] = {}  # the ground truth, parsed for the first field
            for k, field in enumerate(pred_fields):
                own = columns[3 * k: 3 * k + 3] + gt_columns
                parts[k].append(_match_batch(
                    samples, own, is_frames, start, codes[k], field, gt_field, thresh, classwise, parsed_gt
                ))
            del columns, gt_columns, own, parsed_gt
            if progress is not None:
                progress(min(start + batch_size, num_samples), num_samples)

    return [_assemble(p, c, num_samples) for p, c in zip(parts, codes)]


def _match_batch(
    samples: foc.SampleCollection,
    columns: list[list],
    is_frames: bool,
    start: int,
    codes: dict[Any, int],
    pred_field: str,
    gt_field: str,
    thresh: float,
    classwise: bool,
    parsed_gt: dict[str, Any] | None = None,
) -> _Rows:
    """Parses and matches one batch of one prediction field; the ground
    truth is parsed once per batch (``parsed_gt``) for every field."""
    try:
        preds, gts = _parse(columns, is_frames, start, codes, pred_field, gt_field, parsed_gt)
    except _MalformedBox as e:
        sample_id = samples.skip(e.sample).limit(1).values("id")[0]
        raise ValueError(malformed_box_message(e.field, sample_id, e.box)) from None
    pred_tp, pred_iou, gt_conf = _match(preds, gts, thresh, classwise, _INSERTION_ORDER_LIMIT)
    return _Rows(
        pred_conf=preds.conf,
        pred_tp=pred_tp,
        pred_iou=pred_iou,
        pred_code=preds.label,
        pred_sample=preds.sample,
        gt_conf=gt_conf,
        gt_code=gts.label,
        gt_sample=gts.sample,
    )


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


def _pred_paths(pred_list: str) -> list[str]:
    """The ``values()`` paths of one prediction field, in the order
    :func:`_parse` unpacks them."""
    return [f"{pred_list}.label", f"{pred_list}.confidence", f"{pred_list}.bounding_box"]


def _gt_paths(gt_list: str, iscrowd: str) -> list[str]:
    """The ``values()`` paths of the ground truth, after the predictions';
    the crowd flag of the legacy ``attributes`` dict comes last (read
    always: a separate scan for whether any object has it cost more, 4-10 s
    at a million images, than its column in the read, measured).
    """
    return [
        f"{gt_list}.label", f"{gt_list}.bounding_box", f"{gt_list}.{iscrowd}",
        f"{gt_list}.attributes.{iscrowd}.value",
    ]


def _any_value(groups: list) -> bool:
    """Whether a column of per-image (or per-frame) lists holds a value
    other than None (the loop in C: about 40 ms per million objects)."""
    values = itertools.chain.from_iterable(filter(None, groups))
    return any(map(operator.is_not, values, itertools.repeat(None)))


def _check_crowd_columns(
    samples: foc.SampleCollection, gt_list: str, iscrowd: str, is_frames: bool,
    crowd: list, crowd_dict: list,
) -> bool:
    """Whether the batch's ground truth has a crowd flag only in the
    ``attributes`` dict (the objects that FiftyOne reads it from when the
    dynamic attribute is absent); if so, and some object sets the dynamic
    attribute to None, the fast matcher cannot tell (``values()`` reads
    None and absent alike), so it steps aside.

    Raises:
        UnsupportedMatchingError: in that case
    """
    if is_frames:  # per sample, a list of frames
        crowd, crowd_dict = _chain(crowd), _chain(crowd_dict)
    from_dict = any(
        d is not None and v is None for v, d in zip(_chain(crowd), _chain(crowd_dict))
    )
    if from_dict and _has_null_attribute(samples, gt_list, iscrowd):
        # values() reads an attribute set to None as a missing one, but
        # FiftyOne reads None (not a crowd) and never looks further
        raise UnsupportedMatchingError(
            f"some ground truth objects set '{iscrowd}' to None and keep "
            f"it in their attributes dict too; evaluate_detections decides "
            f"which counts"
        )
    return from_dict


def _has_null_attribute(samples: foc.SampleCollection, gt_list: str, iscrowd: str) -> bool:
    """Whether some ground truth object has the dynamic attribute
    ``iscrowd`` present and set to None."""
    from fiftyone import ViewField as F

    field = gt_list.rsplit(".", 1)[0]
    nulls = samples.filter_labels(field, F(iscrowd).type() == "null", only_matches=True)
    return nulls.count(gt_list) > 0


# Reading


class _Rows(NamedTuple):
    """The output rows of one batch; ``*_code`` index the label codes."""

    pred_conf: np.ndarray
    pred_tp: np.ndarray
    pred_iou: np.ndarray
    pred_code: np.ndarray
    pred_sample: np.ndarray
    gt_conf: np.ndarray
    gt_code: np.ndarray
    gt_sample: np.ndarray


def _parse(
    columns: list[list],
    is_frames: bool,
    start: int,
    codes: dict[Any, int],
    pred_field: str,
    gt_field: str,
    parsed_gt: dict[str, Any] | None = None,
) -> tuple[_Objects, _Objects]:
    """Flattens the columns of one batch into prediction and ground truth
    arrays, adding new labels to ``codes``. The ground truth's arrays are
    kept in ``parsed_gt`` (when given) and reused from it: only its label
    codes differ between prediction fields.
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
    if parsed_gt is None:
        parsed_gt = {}
    if not parsed_gt:
        g_group, g_labels = _flatten(g_label, num_groups)
        parsed_gt.update(
            group=g_group, labels=g_labels,
            box=_boxes(_chain(g_box), gt_field, group_sample[g_group]),
            crowd=_crowd(g_crowd, g_crowd_dict),
        )
    g_group, g_labels = parsed_gt["group"], parsed_gt["labels"]

    preds = _Objects(
        group=p_group,
        label=_encode(p_labels, codes),
        # None -> NaN, as read_label_values does
        conf=np.array(_chain(p_conf), dtype=np.float64).reshape(-1),
        box=_boxes(_chain(p_box), pred_field, group_sample[p_group]),
        crowd=np.zeros(len(p_labels), dtype=bool),
        sample=group_sample[p_group],
        num_groups=num_groups,
    )
    gts = _Objects(
        group=g_group,
        label=_encode(g_labels, codes),
        conf=np.full(len(g_labels), np.nan),
        box=parsed_gt["box"],
        crowd=parsed_gt["crowd"],
        sample=group_sample[g_group],
        num_groups=num_groups,
    )
    return preds, gts


def _crowd(g_crowd: list, g_crowd_dict: list) -> np.ndarray:
    """Whether each ground truth object is a crowd."""
    crowd_values = _chain(g_crowd)
    if g_crowd_dict:
        # Detection.get_attribute_value: the dynamic attribute first, then
        # the attributes dict. values() reads a missing attribute as None
        crowd_values = [
            d if v is None else v
            for v, d in zip(crowd_values, _chain(g_crowd_dict[0]))
        ]
    return np.fromiter(map(bool, crowd_values), bool, len(crowd_values))


class _Codes(dict):
    """label -> code; a new label gets the next code as it is looked up."""

    def __missing__(self, label: Any) -> int:
        code = self[label] = len(self)
        return code


def _encode(labels: list, codes: dict[Any, int]) -> np.ndarray:
    """The codes of ``labels`` (a :class:`_Codes`: new labels are added)."""
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


class _MalformedBox(ValueError):
    """A box that is not four finite numbers with a size >= 0, found in
    the sample of index ``sample`` of the collection."""

    def __init__(self, field: str, sample: int, box: Any) -> None:
        super().__init__(field)
        self.field, self.sample, self.box = field, sample, box


def _boxes(values: list, field: str, sample_of_row: np.ndarray) -> np.ndarray:
    """A ``(n, 4)`` array of ``[x, y, w, h]`` boxes; a missing or malformed
    box is an error, as it is for ``evaluate_detections``.
    """
    if not values:
        return np.zeros((0, 4))
    try:
        # four numbers each, then one flat read (half the time of np.array
        # on the nested lists, measured)
        if set(map(len, values)) != {4}:
            raise ValueError
        flat = itertools.chain.from_iterable(values)
        boxes = np.fromiter(flat, np.float64, 4 * len(values)).reshape(-1, 4)
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
    rows = bad_box_rows(boxes)
    if rows:
        raise _MalformedBox(field, int(sample_of_row[rows[0]]), values[rows[0]])
    return boxes


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
        pred_iou=column("pred_iou", np.float64),
    )
