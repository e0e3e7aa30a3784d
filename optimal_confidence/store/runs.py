"""Results stored on a dataset as FiftyOne custom runs.

A run holds the result's :meth:`~optimal_confidence.result.OptimalConfidenceResult.to_dict`
(curves, match records, objective, intervals); the run's view is the
samples that were swept.

Storing is safe against races and kills:

-   a run key is claimed in the database (a document of our own whose
    ``_id`` names the dataset and the key: MongoDB refuses a second insert),
    so of two processes storing the same new key at once exactly one
    succeeds and the other gets the "already has a run" error;
-   a result is stored under a pending key and renamed into place once
    complete, so a run appears complete or not at all; an overwritten run is
    renamed aside first and deleted only once the new one is in place, so a
    kill never loses both;
-   what a kill leaves behind (a pending or set-aside run, a run without
    results) is never listed; :func:`repair_optimal_confidence_runs`
    restores an interrupted overwrite's old run and deletes the rest.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import socket
import uuid
from typing import TYPE_CHECKING, Any, Iterator

import fiftyone.core.collections as foc

from ..spec.options import OptionError, check_value

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = [
    "RUN_METHOD",
    "broken_optimal_confidence_runs",
    "compared_runs",
    "check_run_key",
    "list_optimal_confidence_runs",
    "load_run_dict",
    "repair_optimal_confidence_runs",
    "save_run",
    "suggest_run_key",
]

#: the ``method`` of the custom runs this package stores
RUN_METHOD = "optimal_confidence"


def suggest_run_key(samples: foc.SampleCollection, base: str = RUN_METHOD) -> str:
    """The first free run key among ``base``, ``base_2``, ``base_3``, ..."""
    return free_name(set(samples.list_runs()), base)


def suggest_eval_key(samples: foc.SampleCollection, base: str) -> str:
    """The first key among ``base``, ``base_2``, ... that is neither an
    evaluation nor a run of the dataset, and none of whose fields
    (``<key>``, ``<key>_tp``, ...: on samples, frames or labels) exists."""
    ds = samples._dataset
    runs = set(ds.list_evaluations()) | set(ds.list_runs())
    paths = list(ds.get_field_schema(flat=True))
    if ds._has_frame_fields():
        paths += list(ds.get_frame_field_schema(flat=True))
    names = {p.rsplit(".", 1)[-1] for p in paths}

    def taken(key: str) -> bool:
        return key in runs or any(n == key or n.startswith(key + "_") for n in names)

    key, i = base, 2
    while taken(key):
        key, i = f"{base}_{i}", i + 1
    return key


def free_name(taken: set[str], base: str) -> str:
    """``base``, or ``base_2``, ``base_3``, ... the first not in ``taken``."""
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def _exists_error(samples: foc.SampleCollection, run_key: str, why: str = "") -> OptionError:
    return OptionError(
        "run_key",
        f"Dataset '{samples._dataset.name}' already has a run "
        f"'{run_key}'{why}, and a run key that already exists is never "
        f"replaced unasked: choose another run key (for example "
        f"'{suggest_run_key(samples)}') or pass overwrite=True to "
        f"replace it",
    )


def check_run_key(samples: foc.SampleCollection, run_key: str, overwrite: bool) -> None:
    """Refuses a run key that is not an identifier, or that the dataset
    already has (unless ``overwrite``).

    Raises:
        OptionError: naming ``run_key``
    """
    check_value("run_key", run_key)
    if run_key in samples.list_runs() and not overwrite:
        raise _exists_error(samples, run_key)


# ---------------------------------------------------------------------------
# Claims: one process at a time stores a run key

#: the collection of claims, in FiftyOne's database
CLAIMS_COLLECTION = "optimal_confidence_run_claims"

#: a claim older than this is taken over (its process died without its
#: ``finally``; storing takes seconds)
CLAIM_TIMEOUT = datetime.timedelta(minutes=10)


def _claims() -> Any:
    import fiftyone.core.odm.database as fod

    return fod.get_db_conn()[CLAIMS_COLLECTION]


def _claim_id(samples: foc.SampleCollection, run_key: str) -> str:
    return f"{samples._root_dataset._doc.id}/{run_key}"


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


def _take_claim(samples: foc.SampleCollection, run_key: str) -> dict[str, Any]:
    from pymongo.errors import DuplicateKeyError

    claim = {
        "_id": _claim_id(samples, run_key),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "token": uuid.uuid4().hex,
        "at": datetime.datetime.utcnow(),
    }
    claims = _claims()
    for _ in range(2):
        try:
            claims.insert_one(claim)
            return claim
        except DuplicateKeyError:
            held = claims.find_one({"_id": claim["_id"]})
            if held is None or _is_stale(held):
                claims.delete_one({"_id": claim["_id"], "token": (held or {}).get("token")})
                continue
            break
    raise _exists_error(samples, run_key, " (another process is storing it now)")


@contextlib.contextmanager
def claimed(samples: foc.SampleCollection, run_key: str, overwrite: bool) -> Iterator[None]:
    """Holds ``run_key`` of the dataset of ``samples`` while a run is
    stored: only one process at a time, and (without ``overwrite``) only if
    the dataset, read again from the database, does not have the run.

    Raises:
        OptionError: the "already has a run" error otherwise
    """
    claim = _take_claim(samples, run_key)
    try:
        dataset = samples._root_dataset
        dataset.reload()  # runs stored by other processes
        _finish_interrupted(dataset, run_key)
        if run_key in dataset.list_runs() and not overwrite:
            raise _exists_error(samples, run_key)
        yield
    finally:
        _claims().delete_one({"_id": claim["_id"], "token": claim["token"]})


def _is_claimed(samples: foc.SampleCollection, run_key: str) -> bool:
    held = _claims().find_one({"_id": _claim_id(samples, run_key)})
    return held is not None and not _is_stale(held)


#: the keys of runs in the middle of being stored (or left by a kill then)
_PENDING = "__oc_pending_"
_REPLACED = "__oc_replaced_"
_INTERNAL = re.compile(r"^(?P<key>\w+?)(?P<kind>__oc_pending_|__oc_replaced_)[0-9a-f]{8}$")


def _store_complete(
    samples: foc.SampleCollection, key: str, result: OptimalConfidenceResult, **extra: Any
) -> None:
    config = samples.init_run(
        method=RUN_METHOD,
        **{f"sweep_{k}": v for k, v in result.config.to_dict().items()},
        best_threshold=result.best_threshold,
        best_f1=result.best_f1,
        objective=result.objective.label,
        **extra,
    )
    samples.register_run(key, config, overwrite=False)
    try:
        results = samples.init_run_results(key, result=result.to_dict())
        samples.save_run_results(key, results, overwrite=True, cache=False)
    except BaseException:
        # a registered run without results would look stored but fail to
        # load: do not leave one behind
        samples.delete_run(key)
        raise


def save_run(
    samples: foc.SampleCollection,
    run_key: str,
    result: "OptimalConfidenceResult",
    *,
    overwrite: bool,
    compared_with: list[str] | None = None,
) -> None:
    """Stores ``result`` as run ``run_key`` of the dataset of ``samples``
    (whose view the run remembers): complete under a pending key first,
    then renamed into place; an existing run (``overwrite``) is set aside
    until the new one is in place. ``compared_with`` records the run keys
    of a comparison the result belongs to (:func:`compared_runs`).

    Raises:
        OptionError: if the dataset already has the run and not
            ``overwrite``, also when another process stored it meanwhile
    """
    with claimed(samples, run_key, overwrite):
        token = uuid.uuid4().hex[:8]
        pending = f"{run_key}{_PENDING}{token}"
        extra = {"compared_with": list(compared_with)} if compared_with else {}
        _store_complete(samples, pending, result, **extra)
        replaced = None
        if run_key in samples.list_runs():
            replaced = f"{run_key}{_REPLACED}{token}"
            samples.rename_run(run_key, replaced)
        samples.rename_run(pending, run_key)
        if replaced is not None:
            samples.delete_run(replaced)


def _finish_interrupted(dataset: Any, run_key: str) -> None:
    """An overwrite of ``run_key`` killed between setting the old run aside
    and renaming the new one in: the old run comes back (the store did not
    finish)."""
    if run_key in dataset.list_runs():
        return
    for key in dataset.list_runs():
        m = _INTERNAL.match(key)
        if m and m.group("key") == run_key and m.group("kind") == _REPLACED:
            dataset.rename_run(key, run_key)
            return


def _has_results(samples: foc.SampleCollection, key: str) -> bool:
    """Whether run ``key`` holds results, without loading them."""
    import fiftyone.core.runs as forun

    try:
        # a GridFS proxy, falsy when nothing was saved
        return bool(forun.Run._get_run_doc(samples, key).results)
    except Exception:  # a run document FiftyOne itself cannot read
        return False


def broken_optimal_confidence_runs(samples: foc.SampleCollection) -> dict[str, str]:
    """Runs of this package that cannot be loaded or are left over from an
    interrupted store, and why: ``{run_key: reason}``. They are never
    listed; :func:`repair_optimal_confidence_runs` removes them."""
    out = {}
    for key in samples.list_runs(method=RUN_METHOD):
        m = _INTERNAL.match(key)
        if m and _is_claimed(samples, m.group("key")):
            continue  # being stored right now
        if m and m.group("kind") == _REPLACED:
            out[key] = f"the previous '{m.group('key')}', set aside by an overwrite that was interrupted"
        elif m:
            out[key] = f"an unfinished store of '{m.group('key')}'"
        elif not _has_results(samples, key):
            out[key] = "registered without results (its store was interrupted)"
    return out


def repair_optimal_confidence_runs(samples: foc.SampleCollection) -> dict[str, str]:
    """Restores the old run of an interrupted overwrite and deletes the
    other broken runs (:func:`broken_optimal_confidence_runs`).

    Returns:
        ``{run_key: what was done}``
    """
    done = {}
    dataset = samples._root_dataset
    dataset.reload()
    for key in broken_optimal_confidence_runs(dataset):
        m = _INTERNAL.match(key)
        if m and m.group("kind") == _REPLACED and m.group("key") not in dataset.list_runs():
            dataset.rename_run(key, m.group("key"))
            done[key] = f"restored as '{m.group('key')}'"
        else:
            dataset.delete_run(key)
            done[key] = "deleted"
    return done


def compared_runs(samples: foc.SampleCollection, run_key: str) -> list[str]:
    """The run keys of the comparison run ``run_key`` belongs to (itself
    included, in the models' order), or ``[]``."""
    config = samples.get_run_info(run_key).config
    keys = list(getattr(config, "compared_with", None) or [])
    listed = set(list_optimal_confidence_runs(samples))
    return [k for k in keys if k in listed]


def list_optimal_confidence_runs(samples: foc.SampleCollection) -> list[str]:
    """The run keys of the results this package stored on the dataset of
    ``samples``, newest first; runs that cannot be loaded (see
    :func:`broken_optimal_confidence_runs`) are left out.
    """
    keys = [
        k for k in samples.list_runs(method=RUN_METHOD)
        if not _INTERNAL.match(k) and _has_results(samples, k)
    ]
    infos = [(samples.get_run_info(k).timestamp, k) for k in keys]
    return [k for _, k in sorted(infos, reverse=True)]


def load_run_dict(samples: foc.SampleCollection, run_key: str) -> dict[str, Any]:
    """The stored :meth:`OptimalConfidenceResult.to_dict` of run
    ``run_key`` (with its run key), for
    :func:`~optimal_confidence.load_optimal_confidence`.

    Raises:
        ValueError: if there is no such run, or it was not stored by this
            package
    """
    if run_key not in samples.list_runs():
        stored = list_optimal_confidence_runs(samples)
        raise ValueError(
            f"Dataset '{samples._dataset.name}' has no run '{run_key}'. "
            f"Stored optimal_confidence runs: {stored or 'none'}"
        )
    info = samples.get_run_info(run_key)
    if info.config.method != RUN_METHOD:
        raise ValueError(
            f"Run '{run_key}' was not stored by optimal_confidence (its "
            f"method is {info.config.method!r})"
        )
    results = samples.load_run_results(run_key, cache=False)
    if results is None or not hasattr(results, "result"):
        raise ValueError(
            f"Run '{run_key}' has no stored results; run "
            f"compute_optimal_confidence again with overwrite=True"
        )
    return {**results.result, "run_key": run_key}
