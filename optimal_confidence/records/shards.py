"""The match records of one shard of a collection, to be merged elsewhere.

A :class:`RecordShard` is what :func:`optimal_confidence.match_records`
returns for one part of a collection (an id range, a random cut, what one
machine reads): its :class:`~optimal_confidence.curves.sweep.MatchRecords`
and how they were matched. Shards travel as bytes (:meth:`RecordShard.to_bytes`:
numpy's ``.npz`` with a JSON header, no pickle) through a database, a queue
or a file; :func:`optimal_confidence.merge` joins them into one result.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..curves.sweep import MatchRecords

__all__ = ["MATCHING_KEYS", "RecordShard"]

#: what a shard records of how it was matched; shards merge only when
#: these agree (``method`` aside: every matcher gives the same records)
MATCHING_KEYS = (
    "dataset", "pred_field", "gt_field", "label_type", "iou", "classwise",
    "iscrowd", "use_masks", "use_boxes", "positive_label",
)

_FORMAT = "optimal_confidence.RecordShard/1"
_ARRAYS = ("pred_conf", "pred_tp", "pred_class", "pred_sample", "gt_conf", "gt_class", "gt_sample")


@dataclass(frozen=True, eq=False)
class RecordShard:
    """The match records of one shard and how they were matched.

    Attributes:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
            of the shard's samples (numbered from 0 within the shard)
        matching: the dataset's name, the fields, the label type, the
            matching options (:data:`MATCHING_KEYS`) and the ``method``
    """

    records: MatchRecords
    matching: Mapping[str, Any]

    @property
    def num_samples(self) -> int:
        """The samples the shard covers, including those with no objects."""
        return self.records.num_samples

    def to_bytes(self) -> bytes:
        """The shard as bytes: an ``.npz`` archive of the arrays and a JSON
        header (the classes, the sample count, how it was matched)."""
        r = self.records
        header = {
            "format": _FORMAT, "classes": list(r.classes), "num_samples": int(r.num_samples),
            "matching": dict(self.matching),
        }
        arrays = {k: getattr(r, k) for k in _ARRAYS}
        if r.pred_iou is not None:
            arrays["pred_iou"] = r.pred_iou
        buf = io.BytesIO()
        np.savez(buf, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "RecordShard":
        """The shard of :meth:`to_bytes`.

        Raises:
            ValueError: if ``data`` is not a shard's bytes
        """
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                arrays = {k: z[k] for k in _ARRAYS}
                pred_iou = z["pred_iou"] if "pred_iou" in z.files else None
        except Exception as e:  # zipfile, KeyError, JSON: all say "not a shard"
            raise ValueError(f"These bytes are not a RecordShard's: {e}") from None
        if header.get("format") != _FORMAT:
            raise ValueError(f"These bytes are not a RecordShard's (format {header.get('format')!r})")
        records = MatchRecords(
            classes=tuple(header["classes"]), num_samples=int(header["num_samples"]),
            pred_iou=pred_iou, **arrays,
        )
        return cls(records, header["matching"])

    def __repr__(self) -> str:
        m = self.matching
        return (
            f"<RecordShard of {m.get('dataset')!r}: {m.get('pred_field')!r} vs "
            f"{m.get('gt_field')!r}, {self.num_samples} samples, "
            f"{self.records.num_preds} predictions, {self.records.num_gts} ground truth objects>"
        )
