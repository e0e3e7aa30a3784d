"""What the package wrote, marked in the database: the evaluations it ran
and the fields a calibrator wrote (``overwrite`` may replace those, and
nothing else), and the temporary names of writes under way (the repair
touches those, and nothing else).

A mark is a document of our own in FiftyOne's database,
``<dataset id>/<kind>/<name>``, holding what identifies the thing marked
as the one written: an evaluation's timestamp, a field's ``created_at``
(FiftyOne keeps both through renames and gives a clone or a new field of
the same name its own), so a user's evaluation or field that later takes
the same name is not mistaken for the package's.
"""

from __future__ import annotations

import datetime
from typing import Any

__all__ = ["get_mark", "mark", "marked_names", "same_time", "unmark"]

#: the collection of marks, in FiftyOne's database
MARKS_COLLECTION = "optimal_confidence_writes"


def _marks() -> Any:
    import fiftyone.core.odm.database as fod

    return fod.get_db_conn()[MARKS_COLLECTION]


def _id(dataset: Any, kind: str, name: str) -> str:
    return f"{dataset._doc.id}/{kind}/{name}"


def mark(dataset: Any, kind: str, name: str, **data: Any) -> None:
    """Marks ``name`` (of ``kind``: ``"evaluation"``, ``"field"``,
    ``"staged"``) of ``dataset`` as the package's, with ``data``."""
    doc = {"_id": _id(dataset, kind, name), "kind": kind, "name": name, "dataset": str(dataset._doc.id), **data}
    _marks().replace_one({"_id": doc["_id"]}, doc, upsert=True)


def unmark(dataset: Any, kind: str, name: str) -> None:
    _marks().delete_one({"_id": _id(dataset, kind, name)})


def get_mark(dataset: Any, kind: str, name: str) -> dict[str, Any] | None:
    return _marks().find_one({"_id": _id(dataset, kind, name)})


def marked_names(dataset: Any, kind: str) -> set[str]:
    """The names of ``kind`` marked on ``dataset``."""
    return {d["name"] for d in _marks().find({"dataset": str(dataset._doc.id), "kind": kind}, {"name": 1})}


def same_time(a: Any, b: Any) -> bool:
    """Whether two timestamps are the same as the database keeps them (to
    the millisecond)."""
    if not isinstance(a, datetime.datetime) or not isinstance(b, datetime.datetime):
        return False
    return abs((a.replace(tzinfo=None) - b.replace(tzinfo=None)).total_seconds()) < 0.001
