"""Arrays packed for storage: a stored run holds each long array (curves,
match records) as one base64 string of its little-endian bytes instead of
a JSON list.

FiftyOne writes a run's results through JSON, value by value: at 100,000
images (600,000 thresholds and as many records) storing the lists cost
7.6 s and loading them 1.9 s; packed, 0.6 s and 0.15 s
(``tests/benchmarks/bench_sweep.py``). Their JSON text: 67 MB as lists,
27 MB packed. Integers and flags are compressed with zlib (sample indices
shrink about ten times); floats are not (they do not shrink).

A packed array is a dict ``{"packed": dtype, "size": n, "zlib": bool,
"data": base64}``; :func:`unpack` also reads the plain lists of
``to_dict()`` (``None`` for ``NaN``).
"""

from __future__ import annotations

import base64
import zlib
from typing import Any, Mapping

import numpy as np

__all__ = ["is_packed", "pack", "unpack"]

#: the dtypes an array may be packed as (little-endian, as stored)
_DTYPES = {"<f8": np.float64, "<i8": np.int64, "|b1": np.bool_}


def pack(values: Any, dtype: Any) -> dict[str, Any]:
    """``values`` as a packed array of ``dtype`` (float64, int64 or bool)."""
    a = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    code = a.dtype.str
    if code not in _DTYPES:
        raise ValueError(f"Cannot pack an array of {a.dtype}")
    data = a.tobytes()
    compressed = a.dtype.kind != "f"
    if compressed:
        data = zlib.compress(data, 1)
    return {
        "packed": code,
        "size": int(a.size),
        "zlib": compressed,
        "data": base64.b64encode(data).decode("ascii"),
    }


def is_packed(value: Any) -> bool:
    return isinstance(value, Mapping) and "packed" in value


def unpack(value: Any, dtype: Any) -> np.ndarray:
    """The array of a packed dict, or of a plain list (``None`` read as
    ``NaN`` for floats), as ``dtype``.

    Raises:
        ValueError: if a packed dict is not whole (its size disagrees with
            its bytes)
    """
    dtype = np.dtype(dtype)
    if not is_packed(value):
        if dtype.kind == "f":
            return np.array([np.nan if v is None else v for v in value], dtype=dtype)
        return np.asarray(value, dtype=dtype)
    code = value["packed"]
    if code not in _DTYPES:
        raise ValueError(f"Unknown packed array type {code!r}")
    data = base64.b64decode(value["data"])
    if value.get("zlib"):
        data = zlib.decompress(data)
    a = np.frombuffer(data, dtype=np.dtype(code))
    if a.size != value["size"]:
        raise ValueError(
            f"A packed array holds {a.size} values where {value['size']} were stored"
        )
    return a.astype(dtype)
