"""The names the store gives what it writes: the ``method`` of its runs,
and the temporary names of writes under way (a run
``<key>__oc_pending_<token>`` while staged, ``<key>__oc_replaced_<token>``
for what a commit set aside; evaluations and fields the same with one
underscore, ``<name>_oc_pending_<token>``, since MongoEngine reads a double
underscore in a field path as an operator). A kill may leave them, and the
repair knows them by these."""

from __future__ import annotations

import re
import uuid

__all__ = [
    "FIELD_PENDING",
    "FIELD_REPLACED",
    "PENDING",
    "REPLACED",
    "RUN_METHOD",
    "free_name",
    "internal_match",
    "is_internal_key",
    "token",
]

#: the ``method`` of the custom runs this package stores
RUN_METHOD = "optimal_confidence"

#: the infixes of the temporary names of runs
PENDING = "__oc_pending_"
REPLACED = "__oc_replaced_"
#: the infixes of the temporary names of evaluations and fields
FIELD_PENDING = "_oc_pending_"
FIELD_REPLACED = "_oc_replaced_"

_INTERNAL = re.compile(r"^(?P<key>\w+?)(?P<kind>_{1,2}oc_pending_|_{1,2}oc_replaced_)[0-9a-f]{8}$")


def token() -> str:
    """A fresh token for the temporary names of one write."""
    return uuid.uuid4().hex[:8]


def internal_match(name: str) -> re.Match[str] | None:
    """The match of a temporary name (groups ``key`` and ``kind``), or None."""
    return _INTERNAL.match(name)


def is_internal_key(name: str) -> bool:
    """Whether ``name`` (or the last part of a dotted field path) is a
    temporary name of a write under way, or left by a kill."""
    return bool(_INTERNAL.match(name.split(".")[-1]))


def free_name(taken: set[str], base: str) -> str:
    """``base``, or ``base_2``, ``base_3``, ... the first not in ``taken``."""
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"
