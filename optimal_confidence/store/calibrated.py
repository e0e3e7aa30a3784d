"""Calibrated confidences written to a new field: a copy of the
predictions whose confidences a
:class:`~optimal_confidence.certainty.calibration.Calibrator` maps to the
chance of being right. The predictions themselves are never touched.

The field is a write of the write plan (:mod:`.plan`, :mod:`.transaction`):
its new values are computed (and refused, for confidences the calibrator
cannot map) before anything is written, written to a temporary field, and
renamed into place; the field's ``info`` marks it as a calibrator's, the
only kind of existing field ``overwrite=True`` replaces.

The rule for confidences outside what the calibrator saw: an isotonic map
holds its end values beyond the confidences it was fitted on; a sigmoid
map fitted on confidences in ``[0, 1]`` (through their logit) refuses
confidences outside ``[0, 1]``, with a ``ValueError`` before anything is
written; one fitted on raw scores extends to any score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc

from ..curves.sweep import positive_score
from ..spec.options import OptionError
from .marks import mark, unmark
from .plan import CALIBRATED_MARK, Write, mark_field
from .names import FIELD_PENDING as PENDING
from .names import FIELD_REPLACED as REPLACED
from .names import token
from .transaction import apply

if TYPE_CHECKING:  # pragma: no cover
    from ..certainty.calibration import Calibrator

__all__ = ["CalibratedFieldStep", "field_write", "write_calibrated"]

#: the key of the field ``info`` that marks a field a calibrator wrote
MARK = CALIBRATED_MARK

#: the label types whose confidences are calibrated, and their list field
_LISTS = {fo.Detections: "detections", fo.Polylines: "polylines", fo.Classification: None}


def _label_type(samples: foc.SampleCollection, field: str, option: str) -> type:
    try:
        t = samples._get_label_field_type(field)
    except Exception:
        t = None
    if t not in _LISTS:
        raise OptionError(
            option,
            f"'{field}' is not a Detections, Polylines or Classification field "
            f"of '{samples._dataset.name}'; name the predictions field",
        )
    return t


def field_write(
    pred_field: str, out_field: Any, *, overwrite: bool = False, option: str = "out_field"
) -> Write:
    """The write of calibrated ``pred_field`` to ``out_field`` (beside it:
    a frame field for frame predictions), for the write plan; refuses a
    name that is no field name or is ``pred_field``. Messages call
    ``out_field`` ``option`` (the option the user set)."""
    if not isinstance(pred_field, str) or not pred_field:
        raise OptionError(option, f"pred_field must be the name of the predictions field; got {pred_field!r}")
    frames = pred_field.startswith("frames.")
    given = out_field
    if frames and isinstance(given, str) and given.startswith("frames."):
        given = given[len("frames."):]
    if not isinstance(given, str) or not given.isidentifier() or given.startswith("_"):
        raise OptionError(
            option,
            f"{option} must be a field name (letters, digits, underscores), e.g. "
            f"'{pred_field}_calibrated'; got {out_field!r}",
        )
    path = ("frames." if frames else "") + given
    if path == pred_field:
        raise OptionError(
            option,
            f"{option} is the predictions field '{pred_field}': its labels are never "
            f"changed; name a new field, e.g. '{pred_field}_calibrated'",
        )
    return Write("field", path, option, overwrite=overwrite, source_field=pred_field)


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


def _field_ops(dataset: Any, path: str) -> tuple[str, Any, Any, Any]:
    """The field's name on its level, and the dataset's rename, clone and
    delete for that level (frame fields have their own)."""
    if path.startswith("frames."):
        return (path[len("frames."):], dataset.rename_frame_field,
                dataset.clone_frame_field, dataset.delete_frame_field)
    return path, dataset.rename_sample_field, dataset.clone_sample_field, dataset.delete_sample_field


class CalibratedFieldStep:
    """Writes calibrated copies of ``pred_field``'s labels of ``samples`` to
    the field of ``write`` (a step of a write plan). The new labels are
    computed when the step is made: a confidence the calibrator refuses
    fails then, before anything is written."""

    def __init__(
        self, write: Write, calibrator: "Calibrator", samples: foc.SampleCollection, pred_field: str
    ) -> None:
        self.write, self.view = write, samples
        label_type = _label_type(samples, pred_field, write.option)
        values = samples.values(pred_field)
        frames = pred_field.startswith("frames.")
        flat = [lab for per in values for lab in (per or [])] if frames else values
        copies = [None if lab is None else lab.copy() for lab in flat]
        try:
            self.count = _calibrate(copies, label_type, calibrator)
        except ValueError as e:
            raise OptionError(write.option, str(e)) from None
        if frames:
            it = iter(copies)
            copies = [None if per is None else [next(it) for _ in per] for per in values]
        self.values, self.pred_field = copies, pred_field
        t = token()
        prefix = "frames." if frames else ""
        name = write.name[len(prefix):]
        self.pending = f"{prefix}{name}{PENDING}{t}"
        self.replaced = f"{prefix}{name}{REPLACED}{t}"
        self.set_aside = self.moved_in = False

    def stage(self, samples: foc.SampleCollection) -> None:
        dataset = samples._root_dataset
        name, _, clone, _ = _field_ops(dataset, self.write.name)
        mark(dataset, "staged", self.pending)  # the repair's to remove, if we are killed
        if dataset.has_field(self.write.name):
            # other samples keep their calibrated values
            clone(name, _field_ops(dataset, self.pending)[0])
        self.view.set_values(self.pending, self.values)
        field = dataset.get_field(self.pending)
        field.info = {**(field.info or {}), MARK: self.pred_field}
        field.save()

    def commit(self, samples: foc.SampleCollection) -> None:
        dataset = samples._root_dataset
        name, rename, _, _ = _field_ops(dataset, self.write.name)
        if dataset.has_field(self.write.name):
            mark(dataset, "staged", self.replaced)
            rename(name, _field_ops(dataset, self.replaced)[0])
            self.set_aside = True
        rename(_field_ops(dataset, self.pending)[0], name)
        self.moved_in = True
        mark_field(dataset, self.write.name)
        unmark(dataset, "staged", self.pending)

    def undo(self, samples: foc.SampleCollection) -> None:
        dataset = samples._root_dataset
        name, rename, _, _ = _field_ops(dataset, self.write.name)
        if self.moved_in:
            mark(dataset, "staged", self.pending)
            rename(name, _field_ops(dataset, self.pending)[0])
            unmark(dataset, "field", self.write.name)
            self.moved_in = False
        if self.set_aside:
            rename(_field_ops(dataset, self.replaced)[0], name)
            mark_field(dataset, self.write.name)  # the old one is ours again
            unmark(dataset, "staged", self.replaced)
            self.set_aside = False

    def discard(self, samples: foc.SampleCollection) -> None:
        dataset = samples._root_dataset
        if dataset.has_field(self.pending):
            name, _, _, delete = _field_ops(dataset, self.pending)
            delete(name)
        unmark(dataset, "staged", self.pending)

    def cleanup(self, samples: foc.SampleCollection) -> None:
        if self.set_aside:
            dataset = samples._root_dataset
            name, _, _, delete = _field_ops(dataset, self.replaced)
            delete(name)
            unmark(dataset, "staged", self.replaced)


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
    samples of ``samples`` (other samples keep theirs). See the module for
    confidences outside what the calibrator saw.

    Returns:
        the number of predictions calibrated

    Raises:
        ValueError: for a field that is not of predictions, an
            ``out_field`` that exists (without ``overwrite``, or not written
            by a calibrator), is ``pred_field`` or FiftyOne reserves it, or
            confidences the calibrator refuses; nothing is written then
    """
    if not isinstance(samples, foc.SampleCollection):
        raise OptionError("samples", f"samples must be a FiftyOne dataset or view; got {type(samples).__name__}")
    write = field_write(pred_field, out_field, overwrite=overwrite)
    step = CalibratedFieldStep(write, calibrator, samples, pred_field)
    apply(samples, [step])
    return step.count
