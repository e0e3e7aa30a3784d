"""Calibrated confidences written to a new field: a copy of the
predictions whose confidences a
:class:`~optimal_confidence.certainty.calibration.Calibrator` maps to the chance of
being right. The predictions themselves are never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc

from ..curves.sweep import positive_score

if TYPE_CHECKING:  # pragma: no cover
    from ..certainty.calibration import Calibrator

__all__ = ["check_out_field", "write_calibrated"]

#: the key of the field ``info`` that marks a field a calibrator wrote: the
#: only kind of existing field ``overwrite=True`` replaces
MARK = "optimal_confidence_calibrated_from"

#: the label types whose confidences are calibrated, and their list field
_LISTS = {fo.Detections: "detections", fo.Polylines: "polylines", fo.Classification: None}


def _label_type(samples: foc.SampleCollection, field: str) -> type:
    try:
        t = samples._get_label_field_type(field)
    except Exception:
        t = None
    if t not in _LISTS:
        raise ValueError(
            f"'{field}' is not a Detections, Polylines or Classification field "
            f"of '{samples._dataset.name}'; name the predictions field"
        )
    return t


def check_out_field(
    samples: foc.SampleCollection,
    pred_field: str,
    out_field: str,
    *,
    overwrite: bool = False,
    name: str = "out_field",
) -> None:
    """Refuses an ``out_field`` that is not a new field name beside
    ``pred_field``, or, with ``overwrite``, a field a calibrator wrote:
    ``overwrite`` never replaces a field this tool did not write (ground
    truth, another model's predictions). Messages call ``out_field``
    ``name`` (the option the user set)."""
    frames = pred_field.startswith("frames.")
    given = out_field
    if frames and isinstance(given, str) and given.startswith("frames."):
        given = given[len("frames."):]
    if not isinstance(given, str) or not given.isidentifier() or given.startswith("_"):
        raise ValueError(
            f"{name} must be a field name (letters, digits, underscores), e.g. "
            f"'{pred_field}_calibrated'; got {out_field!r}"
        )
    path = ("frames." if frames else "") + given
    if path == pred_field:
        raise ValueError(
            f"{name} is the predictions field '{pred_field}': its labels are never "
            f"changed; name a new field, e.g. '{pred_field}_calibrated'"
        )
    dataset = samples._dataset
    if not dataset.has_field(path):
        return
    if not overwrite:
        raise ValueError(
            f"Dataset '{dataset.name}' already has a field '{path}'; name a "
            f"new field or pass overwrite=True to replace it"
        )
    existing = dataset.get_field(path)
    if MARK not in (existing.info or {}):
        raise ValueError(
            f"Field '{path}' of dataset '{dataset.name}' was not written by a "
            f"calibrator, and overwrite only replaces calibrated confidences: name "
            f"a new field (or delete '{path}' yourself if you mean to)"
        )
    label_type = _label_type(samples, pred_field)
    if getattr(existing, "document_type", None) is not label_type:
        raise ValueError(
            f"Field '{path}' holds {getattr(existing.document_type, '__name__', existing)} "
            f"calibrated earlier, and '{pred_field}' holds {label_type.__name__}: name "
            f"a new field"
        )


def _calibrate(labels: list[Any], label_type: type, calibrator: "Calibrator") -> int:
    """Sets each copied prediction's confidence to its calibrated value, in
    place; returns how many were calibrated."""
    attr = _LISTS[label_type]
    preds = [p for lab in labels if lab is not None for p in (getattr(lab, attr) if attr else [lab])]
    scored = [p for p in preds if p.confidence is not None]
    if scored:
        conf = np.array([p.confidence for p in scored], dtype=np.float64)
        positive = calibrator.positive_label
        if positive is None:
            new = calibrator.predict(conf, [p.label for p in scored])
        else:  # binary: calibrate the positive score, keep each answer's label
            is_pos = np.array([p.label == positive for p in scored], dtype=bool)
            cal = calibrator.predict(positive_score(is_pos, conf), [positive] * len(scored))
            new = positive_score(is_pos, cal)
        for p, c in zip(scored, new):
            p.confidence = None if np.isnan(c) else float(c)
    return len(scored)


def write_calibrated(
    calibrator: "Calibrator",
    samples: foc.SampleCollection,
    pred_field: str,
    out_field: str,
    *,
    overwrite: bool = False,
) -> int:
    """Writes a copy of ``pred_field`` with calibrated confidences to the
    new field ``out_field`` of the samples of ``samples`` (new label ids;
    predictions without a confidence stay without one). The field's
    ``info`` records that a calibrator wrote it and from which field; with
    ``overwrite``, such a field (and no other) gets the new values on the
    samples of ``samples`` (other samples keep theirs).

    Returns:
        the number of predictions calibrated

    Raises:
        ValueError: for a field that is not of predictions, an
            ``out_field`` that exists (without ``overwrite``, or not written
            by a calibrator) or is ``pred_field``; nothing is written then
    """
    label_type = _label_type(samples, pred_field)
    check_out_field(samples, pred_field, out_field, overwrite=overwrite)
    values = samples.values(pred_field)
    frames = pred_field.startswith("frames.")
    flat = [lab for per in values for lab in (per or [])] if frames else values
    copies = [None if lab is None else lab.copy() for lab in flat]
    n = _calibrate(copies, label_type, calibrator)
    if frames:
        it = iter(copies)
        copies = [None if per is None else [next(it) for _ in per] for per in values]
        if not out_field.startswith("frames."):
            out_field = "frames." + out_field
    samples.set_values(out_field, copies)
    field = samples._dataset.get_field(out_field)
    if (field.info or {}).get(MARK) != pred_field:
        field.info = {**(field.info or {}), MARK: pred_field}
        field.save()
    return n
