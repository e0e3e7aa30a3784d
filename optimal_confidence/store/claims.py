"""Claims: one writer at a time for a name of a dataset.

A claim is a document of our own in FiftyOne's database whose ``_id``
names the dataset, the kind of thing written and its name
(``<dataset id>/run/<key>``); MongoDB refuses a second insert of the same
``_id``, so of two processes claiming one name exactly one gets it. A
write plan (:mod:`.transaction`) claims every name it writes before its
first write and releases them after its last. A claim whose process died
(same host) or that is older than :data:`CLAIM_TIMEOUT` is taken over.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import time
import uuid
from typing import Any, Iterable, Iterator

__all__ = ["Busy", "claimed", "is_claimed"]

#: the collection of claims, in FiftyOne's database
CLAIMS_COLLECTION = "optimal_confidence_run_claims"

#: a claim older than this is taken over (its process died without its
#: ``finally``; writing takes seconds to minutes)
CLAIM_TIMEOUT = datetime.timedelta(minutes=30)


class Busy(Exception):
    """Another process holds the claim of ``(kind, name)``."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"another process is writing the {kind} '{name}' now")
        self.kind, self.name = kind, name


def _claims() -> Any:
    import fiftyone.core.odm.database as fod

    return fod.get_db_conn()[CLAIMS_COLLECTION]


def _claim_id(dataset: Any, kind: str, name: str) -> str:
    return f"{dataset._doc.id}/{kind}/{name}"


def _is_stale(claim: dict[str, Any]) -> bool:
    """A claim whose process is gone (same host) or that is too old."""
    if claim.get("host") == socket.gethostname():
        try:
            os.kill(int(claim["pid"]), 0)
        except ProcessLookupError:
            return True
        except (OSError, KeyError, TypeError, ValueError):
            pass
    at = claim.get("at")
    return at is None or datetime.datetime.utcnow() - at > CLAIM_TIMEOUT


def _take(claim_id: str, token: str) -> bool:
    from pymongo.errors import DuplicateKeyError

    claims = _claims()
    for _ in range(2):
        try:
            claims.insert_one(
                {
                    "_id": claim_id,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "token": token,
                    "at": datetime.datetime.utcnow(),
                }
            )
            return True
        except DuplicateKeyError:
            held = claims.find_one({"_id": claim_id})
            if held is None or _is_stale(held):
                claims.delete_one({"_id": claim_id, "token": (held or {}).get("token")})
                continue
            return False
    return False


@contextlib.contextmanager
def claimed(dataset: Any, names: Iterable[tuple[str, str]], wait: float = 0.0) -> Iterator[None]:
    """Holds the claims of ``names`` (``(kind, name)`` pairs) of
    ``dataset`` while the block runs: all of them or none, waiting up to
    ``wait`` seconds for a claim another process holds.

    Raises:
        Busy: naming the first name another process still holds
    """
    token = uuid.uuid4().hex
    taken: list[str] = []
    deadline = time.monotonic() + wait
    try:
        for kind, name in sorted(set(names)):  # one order: no two plans wait on each other
            claim_id = _claim_id(dataset, kind, name)
            while not _take(claim_id, token):
                if time.monotonic() >= deadline:
                    raise Busy(kind, name)
                time.sleep(0.1)
            taken.append(claim_id)
        yield
    finally:
        if taken:
            _claims().delete_many({"_id": {"$in": taken}, "token": token})


def is_claimed(dataset: Any, kind: str, name: str) -> bool:
    """Whether a live process holds the claim of ``(kind, name)``."""
    held = _claims().find_one({"_id": _claim_id(dataset, kind, name)})
    return held is not None and not _is_stale(held)
