"""The label fields a sweep reads: which fields qualify, found by their
document type, and the checks of a pair of fields against a collection.
"""

from __future__ import annotations

import fiftyone as fo
import fiftyone.core.collections as foc

from .options import OptionError

__all__ = [
    "SUPPORTED_LABEL_TYPES",
    "check_fields",
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
