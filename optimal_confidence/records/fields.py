"""The label fields a sweep reads: which fields qualify, found by their
document type, and the checks of a pair of fields against a collection.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

import fiftyone as fo
import fiftyone.core.collections as foc
from fiftyone import ViewField as F

from ..spec.options import OptionError

__all__ = [
    "SUPPORTED_LABEL_TYPES",
    "DefaultFields",
    "check_boxes",
    "check_fields",
    "check_labels",
    "unlabeled_error",
    "check_matching_options",
    "default_fields",
    "field_label_type",
    "is_frames",
    "label_fields",
    "task_of",
]

#: label types whose labels carry a confidence and can be swept
SUPPORTED_LABEL_TYPES = (fo.Detections, fo.Polylines, fo.Classification)


def is_frames(path: str) -> bool:
    """Whether ``path`` is a frame-level field (``frames.<field>``)."""
    return path.startswith("frames.")


def label_fields(samples: foc.SampleCollection) -> dict[str, type]:
    """The sample and frame fields holding a supported label type, by path
    (``frames.``-prefixed for frame fields), sorted, with their label type.
    """
    fields = {
        name: field.document_type
        for name, field in samples.get_field_schema(
            embedded_doc_type=SUPPORTED_LABEL_TYPES
        ).items()
    }
    if samples._has_frame_fields():
        schema = samples.get_frame_field_schema(embedded_doc_type=SUPPORTED_LABEL_TYPES)
        fields.update({f"frames.{k}": f.document_type for k, f in schema.items()})
    return dict(sorted(fields.items()))


def field_label_type(samples: foc.SampleCollection, field: str, role: str) -> type:
    """The label type of ``field``, or an error that says what to pass.

    Raises:
        OptionError: naming ``role`` (``"pred_field"`` or ``"gt_field"``)
    """
    if samples.get_field(field) is None:
        hint = ""
        if (
            samples.media_type == fo.core.media.VIDEO
            and not is_frames(field)
            and samples.get_field(f"frames.{field}") is not None
        ):
            hint = f" For a frame-level field, pass 'frames.{field}'."
        raise OptionError(
            role,
            f"{role} '{field}' does not exist on dataset "
            f"'{samples._dataset.name}'.{hint} Fields with Detections, "
            f"Polylines or Classification: {list(label_fields(samples)) or 'none'}",
        )
    try:
        label_type = samples._get_label_field_type(field)
    except Exception:  # not a label field: FiftyOne raises various errors
        label_type = None
    if label_type is None or not issubclass(label_type, SUPPORTED_LABEL_TYPES):
        found = label_type.__name__ if label_type else type(samples.get_field(field)).__name__
        raise OptionError(
            role,
            f"{role} '{field}' holds {found}; optimal_confidence needs a "
            f"Detections, Polylines or Classification field. Fields that "
            f"qualify: {list(label_fields(samples)) or 'none'}",
        )
    return label_type


def check_fields(samples: foc.SampleCollection, pred_field: str, gt_field: str) -> type:
    """Checks that both fields exist on ``samples``, hold the same
    supported label type, and are both sample-level or both frame-level.

    Returns:
        the label type

    Raises:
        OptionError: naming the field at fault
    """
    pred_type = field_label_type(samples, pred_field, "pred_field")
    gt_type = field_label_type(samples, gt_field, "gt_field")
    if pred_type is not gt_type:
        raise OptionError(
            "pred_field",
            f"pred_field '{pred_field}' holds {pred_type.__name__} but "
            f"gt_field '{gt_field}' holds {gt_type.__name__}; both must be "
            f"the same label type",
        )
    if samples._is_frame_field(pred_field) != samples._is_frame_field(gt_field):
        raise OptionError(
            "pred_field",
            f"pred_field '{pred_field}' and gt_field '{gt_field}' must both "
            f"be sample-level or both frame-level fields",
        )
    return pred_type


def task_of(label_type: type, positive_label: str | None) -> str:
    """``"detection"``, ``"binary"`` or ``"multiclass"``."""
    if not issubclass(label_type, fo.Classification):
        return "detection"
    return "binary" if positive_label is not None else "multiclass"


# ---------------------------------------------------------------------------
# Which fields to sweep when none are named


def has_confidences(samples: foc.SampleCollection, field: str) -> bool:
    """Whether any label of ``field`` carries a confidence (one query that
    stops at the first hit)."""
    scored = samples.filter_labels(field, F("confidence") >= float("-inf"), only_matches=True)
    return len(scored.limit(1)) > 0


def scored_fields_hint(samples: foc.SampleCollection, like: str | None = None) -> str:
    """``"Fields whose labels carry confidences: [...]"``, of the type and
    level of ``like`` if given: what an error about a field without
    confidences suggests instead."""
    fields = label_fields(samples)
    if like in fields:
        fields = {
            f: t for f, t in fields.items() if t is fields[like] and is_frames(f) == is_frames(like)
        }
    scored = [f for f in fields if has_confidences(samples, f)]
    return f"Fields whose labels carry confidences: {scored or 'none'}"


def _newest_first(samples: foc.SampleCollection, fields: list[str]) -> list[str]:
    """``fields`` from the most recently added (FiftyOne records when a
    field was added; the schema's order where it does not)."""
    order = {f: i for i, f in enumerate(fields)}

    def added(path: str) -> tuple:
        field = samples.get_field(path)
        created = getattr(field, "created_at", None)
        return (created is not None, created or 0, order[path])

    return sorted(fields, key=added, reverse=True)


class DefaultFields(NamedTuple):
    """The fields :func:`default_fields` proposes, and which would work."""

    gt_field: str | None
    pred_field: str | None
    candidates: list[str]
    scored: list[str]

    def explain(self) -> str:
        """The fields that qualify, for an error message."""
        return (
            f"Fields with labels that carry confidences (predictions): "
            f"{self.scored or 'none'}; label fields that qualify: "
            f"{self.candidates or 'none'}"
        )


def _same_kind(fields: dict[str, type], a: str, b: str) -> bool:
    return fields[a] is fields[b] and is_frames(a) == is_frames(b)


def _gt_choice(
    fields: dict[str, type], scored: list[str], unscored: list[str], pred: str | None
) -> str:
    def fits(name: str) -> bool:
        if pred is not None:
            return name != pred and pred in fields and _same_kind(fields, pred, name)
        return any(p != name and _same_kind(fields, p, name) for p in scored)

    conventional = [n for n in ("ground_truth", "frames.ground_truth") if n in fields]
    for name in conventional + unscored:
        if fits(name):
            return name
    return (conventional + unscored + list(fields))[0]


def default_fields(
    samples: foc.SampleCollection,
    gt_field: str | None = None,
    pred_field: str | None = None,
) -> DefaultFields:
    """The ground truth and predictions fields to sweep when none are
    named, by one rule (the form, ``execute``, the operator's ``__call__``
    and the command line all use it):

    -   ground truth: ``ground_truth`` when it is a compatible field with
        predictions to compare, otherwise a compatible field whose labels
        carry no confidences;
    -   predictions: a compatible field of the same type and level, other
        than the ground truth, whose labels carry confidences:
        ``predictions`` when it is one, otherwise the most recently added.

    A field that is given is kept, and the other is chosen to go with it.
    When no field carries confidences, a pair that can run is still
    proposed where there is one (the sweep then says what is missing).
    """
    fields = label_fields(samples)
    scored = [f for f in _newest_first(samples, list(fields)) if has_confidences(samples, f)]
    unscored = [f for f in fields if f not in scored]
    if not fields:
        return DefaultFields(gt_field, pred_field, [], [])
    gt = gt_field or _gt_choice(fields, scored, unscored, pred_field)
    if pred_field is not None or gt not in fields:
        return DefaultFields(gt, pred_field, list(fields), scored)
    same = [f for f in fields if f != gt and _same_kind(fields, f, gt)]
    ranked = (
        [f for f in ("predictions", "frames.predictions") if f in same and f in scored]
        + [f for f in scored if f in same]
        + same
    )
    return DefaultFields(gt, ranked[0] if ranked else None, list(fields), scored)


# ---------------------------------------------------------------------------
# What FiftyOne's evaluation refuses or counts its own way, refused up front


def list_path(samples: foc.SampleCollection, field: str) -> str:
    return f"{field}.{samples._get_label_field_type(field)._LABEL_LIST_FIELD}"


def flatten_frames(per_sample: Iterable[Any], is_frames: bool) -> Iterable[tuple]:
    """Yields ``(sample_index, frame_position, value)`` for nested
    per-sample values (frame position 0 for images)."""
    for i, sample_values in enumerate(per_sample):
        if sample_values is None:
            continue
        groups = sample_values if is_frames else [sample_values]
        for j, group in enumerate(groups):
            if group is None:
                continue
            for value in group:
                yield i, j, value


def flatten(per_sample: Iterable[Any], is_frames: bool) -> Iterable[tuple]:
    """Yields ``(sample_index, value)`` for nested per-sample values."""
    for i, _, value in flatten_frames(per_sample, is_frames):
        yield i, value


def check_labels(samples: foc.SampleCollection, fields: Mapping[str, str]) -> None:
    """Refuses objects without a label: FiftyOne's evaluation counts a
    prediction and an object that both have no label as a false positive,
    a rule no threshold sweep should inherit silently. ``fields`` maps each
    role (``"pred_field"``) to its field; one aggregation counts them all.

    Raises:
        OptionError: naming the role and how to filter them out
    """
    paths = {
        role: list_path(samples, field) for role, field in fields.items()
        if not issubclass(samples._get_label_field_type(field), fo.Classification)
    }  # an image without a Classification is not judged, or not answered
    if not paths:
        return
    counts = samples.aggregate(
        [fo.Count(p) for path in paths.values() for p in (path, f"{path}.label")]
    )
    for k, (role, field) in enumerate((r, fields[r]) for r in paths):
        total, labeled = counts[2 * k], counts[2 * k + 1]
        if labeled < total:
            raise unlabeled_error(role, field, total - labeled, total)


def unlabeled_error(role: str, field: str, unlabeled: int, total: int) -> OptionError:
    """The refusal of :func:`check_labels` (the fast matcher counts the
    objects without a label in its records instead)."""
    return OptionError(
        role,
        f"{unlabeled} of the {total} objects in '{field}' have no "
        f"label (None); FiftyOne's evaluation would count such a "
        f"prediction matched to such an object as a false positive. Give "
        f"them labels, or leave them out: samples.filter_labels('{field}', "
        f"F('label') != None, only_matches=False)",
    )


def malformed_box_message(field: str, sample_id: str, box: object) -> str:
    return (
        f"'{field}' has a malformed bounding box {box!r} in sample "
        f"'{sample_id}' (it needs four finite numbers [x, y, w, h] with w, h "
        f">= 0; FiftyOne's evaluation refuses it too). Fix the box, or leave "
        f"the object out with filter_labels"
    )


def bad_box_rows(boxes: object) -> list[int]:
    """The rows of an ``(n, 4)`` array of ``[x, y, w, h]`` boxes that are
    not finite or have a negative size."""
    import numpy as np

    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    bad = ~np.isfinite(b).all(axis=1) | (b[:, 2] < 0) | (b[:, 3] < 0)
    return [int(i) for i in np.flatnonzero(bad)]


def check_boxes(samples: foc.SampleCollection, field: str) -> None:
    """Refuses a ``Detections`` field with a malformed box (one ``values()``
    read of the boxes), naming the sample and the box.

    Raises:
        ValueError: with :func:`malformed_box_message`
    """
    if not issubclass(samples._get_label_field_type(field), fo.Detections):
        return
    path = f"{list_path(samples, field)}.bounding_box"
    frames = samples._is_frame_field(field)
    for i, per_sample in enumerate(samples.values(path)):
        groups = (per_sample or []) if frames else [per_sample]
        for boxes in groups:
            for box in boxes or []:
                ok = isinstance(box, (list, tuple)) and len(box) == 4
                if not ok or bad_box_rows([box]):
                    sample_id = samples.skip(i).limit(1).values("id")[0]
                    raise ValueError(malformed_box_message(field, sample_id, box))


def check_matching_options(
    samples: foc.SampleCollection,
    label_type: type,
    pred_field: str,
    gt_field: str,
    use_masks: bool,
    use_boxes: bool,
) -> None:
    """``use_masks`` needs ``Detections`` with instance masks, and
    ``use_boxes`` ``Polylines``.

    Raises:
        OptionError: naming the option
    """
    if use_masks:
        if not issubclass(label_type, fo.Detections):
            raise OptionError("use_masks", f"use_masks applies to Detections fields, not {label_type.__name__}")
        for field in (pred_field, gt_field):
            path = list_path(samples, field)
            if samples.count(f"{path}.mask") + samples.count(f"{path}.mask_path") == 0:
                raise OptionError(
                    "use_masks",
                    f"use_masks is set but no object of '{field}' has an instance "
                    f"mask (mask or mask_path): match the boxes (use_masks=False)",
                )
    if use_boxes and not issubclass(label_type, fo.Polylines):
        raise OptionError("use_boxes", f"use_boxes applies to Polylines fields, not {label_type.__name__}")
