"""Results stored on a dataset as FiftyOne custom runs.

A run holds the result's :meth:`~optimal_confidence.result.OptimalConfidenceResult.to_dict`
(curves, match records, objective, intervals); the run's view is the
samples that were swept.

A run is written by a :class:`RunStep` of a write plan
(:mod:`.transaction`), so storing is safe against races and kills:

-   the run key is claimed in the database (:mod:`.claims`), so of two
    processes storing the same new key at once exactly one succeeds and the
    other gets the "already has a run" error;
-   a result is stored under a pending key and renamed into place once
    complete, so a run appears complete or not at all; an overwritten run is
    renamed aside first and deleted only once the whole plan is in place,
    so a kill never loses both;
-   what a kill leaves behind (a pending or set-aside run, a run without
    results, a pending evaluation or field) is never listed;
    :func:`repair_optimal_confidence_runs` restores an interrupted
    overwrite's old run and deletes the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import fiftyone.core.collections as foc

from .claims import is_claimed
from .marks import marked_names, unmark
from .names import PENDING as _PENDING
from .names import REPLACED as _REPLACED
from .names import RUN_METHOD, free_name, internal_match, is_internal_key, token
from .plan import Write
from .transaction import apply

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = [
    "RUN_METHOD",
    "RemoveRunStep",
    "RunStep",
    "broken_optimal_confidence_runs",
    "compared_runs",
    "is_internal_key",
    "list_optimal_confidence_runs",
    "load_run_dict",
    "repair_optimal_confidence_runs",
    "stale_members",
    "store_run",
    "suggest_run_key",
]


def suggest_run_key(samples: foc.SampleCollection, base: str = RUN_METHOD) -> str:
    """The first free run key among ``base``, ``base_2``, ``base_3``, ..."""
    return free_name(set(samples.list_runs()), base)


def _store_complete(
    samples: foc.SampleCollection, key: str, result: "OptimalConfidenceResult", **extra: Any
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
        results = samples.init_run_results(key, result=result.to_dict(packed=True))
        samples.save_run_results(key, results, overwrite=True, cache=False)
    except BaseException:
        # a registered run without results would look stored but fail to
        # load: do not leave one behind
        samples.delete_run(key)
        raise


class RunStep:
    """Stores a result as run ``write.name`` (a step of a write plan,
    :mod:`.transaction`): complete under a pending key, then renamed into
    place; a replaced run is set aside until the plan is complete.
    ``extra`` are more attributes of the run's config (a comparison's
    ``compared_with`` and ``comparison``)."""

    def __init__(self, write: "Write", result: "OptimalConfidenceResult", **extra: Any) -> None:
        self.write, self.result, self.extra = write, result, extra
        t = token()
        self.pending = f"{write.name}{_PENDING}{t}"
        self.replaced = f"{write.name}{_REPLACED}{t}"
        self.set_aside = self.moved_in = False

    def recover(self, samples: foc.SampleCollection) -> None:
        finish_interrupted(samples._root_dataset, self.write.name)

    def stage(self, samples: foc.SampleCollection) -> None:
        _store_complete(samples, self.pending, self.result, **self.extra)

    def commit(self, samples: foc.SampleCollection) -> None:
        key = self.write.name
        if key in samples.list_runs():
            samples.rename_run(key, self.replaced)
            self.set_aside = True
        samples.rename_run(self.pending, key)
        self.moved_in = True

    def undo(self, samples: foc.SampleCollection) -> None:
        key = self.write.name
        if self.moved_in:
            samples.rename_run(key, self.pending)
            self.moved_in = False
        if self.set_aside:
            samples.rename_run(self.replaced, key)
            self.set_aside = False

    def discard(self, samples: foc.SampleCollection) -> None:
        if self.pending in samples.list_runs():
            samples.delete_run(self.pending)

    def cleanup(self, samples: foc.SampleCollection) -> None:
        if self.set_aside:
            samples.delete_run(self.replaced)


class RemoveRunStep:
    """Removes run ``write.name`` that this package stored (an old member
    of a comparison that is overwritten): set aside on commit, deleted on
    cleanup."""

    def __init__(self, write: "Write") -> None:
        self.write = write
        self.replaced = f"{write.name}{_REPLACED}{token()}"
        self.set_aside = False

    def stage(self, samples: foc.SampleCollection) -> None:
        pass

    def commit(self, samples: foc.SampleCollection) -> None:
        if self.write.name in samples.list_runs():
            samples.rename_run(self.write.name, self.replaced)
            self.set_aside = True

    def undo(self, samples: foc.SampleCollection) -> None:
        if self.set_aside:
            samples.rename_run(self.replaced, self.write.name)
            self.set_aside = False

    def discard(self, samples: foc.SampleCollection) -> None:
        pass

    def cleanup(self, samples: foc.SampleCollection) -> None:
        if self.set_aside:
            samples.delete_run(self.replaced)


def store_run(
    samples: foc.SampleCollection, run_key: str, result: "OptimalConfidenceResult", *,
    overwrite: bool = False,
) -> None:
    """Stores ``result`` as run ``run_key`` of the dataset of ``samples``
    (whose view the run remembers), alone, through the write plan.

    Raises:
        OptionError: if the plan refuses the key (see
            :func:`~optimal_confidence.store.plan.check_run_key`)
    """
    apply(samples, [RunStep(Write("run", run_key, "run_key", overwrite=overwrite), result)])


def finish_interrupted(dataset: Any, run_key: str) -> None:
    """An overwrite of ``run_key`` killed between setting the old run aside
    and renaming the new one in: the old run comes back (the store did not
    finish). Only runs this package stored are touched."""
    if run_key in dataset.list_runs():
        return
    for key in dataset.list_runs(method=RUN_METHOD):
        m = internal_match(key)
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
        m = internal_match(key)
        if m and is_claimed(samples._root_dataset, "run", m.group("key")):
            continue  # being stored right now
        if m and m.group("kind").endswith("oc_replaced_"):
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
        m = internal_match(key)
        if m and m.group("kind").endswith("oc_replaced_") and m.group("key") not in dataset.list_runs():
            dataset.rename_run(key, m.group("key"))
            done[key] = f"restored as '{m.group('key')}'"
        else:
            dataset.delete_run(key)
            done[key] = "deleted"
    done.update(_repair_leftovers(dataset))
    return done


def _repair_leftovers(dataset: Any) -> dict[str, str]:
    """Evaluations and fields a killed write plan left under temporary
    names: a set-aside original comes back, the rest is deleted."""
    done = {}
    kinds = [
        ("evaluation", dataset.list_evaluations, dataset.rename_evaluation, dataset.delete_evaluation),
        ("field", lambda: list(dataset.get_field_schema()), dataset.rename_sample_field, dataset.delete_sample_field),
    ]
    if dataset._has_frame_fields():
        kinds.append(
            ("frame field", lambda: list(dataset.get_frame_field_schema()),
             dataset.rename_frame_field, dataset.delete_frame_field)
        )
    staged = marked_names(dataset, "staged")
    for kind, names, rename, delete in kinds:
        for name in names():
            m = internal_match(name)
            path = ("frames." if kind == "frame field" else "") + name
            if m and path not in staged:
                continue  # not ours: a user's name that looks like one
            claim = ("evaluation", m.group("key")) if m and kind == "evaluation" else (
                "field", ("frames." if kind == "frame field" else "") + (m.group("key") if m else "")
            )
            if not m or is_claimed(dataset, *claim):
                continue
            if m.group("kind").endswith("oc_replaced_") and m.group("key") not in names():
                rename(name, m.group("key"))
                done[f"{kind} {name}"] = f"restored as '{m.group('key')}'"
            else:
                delete(name)
                done[f"{kind} {name}"] = "deleted"
            unmark(dataset, "staged", path)
    return done


def _comparison_of(samples: foc.SampleCollection, run_key: str) -> tuple[list[str], Any]:
    config = samples.get_run_info(run_key).config
    return list(getattr(config, "compared_with", None) or []), getattr(config, "comparison", None)


def compared_runs(samples: foc.SampleCollection, run_key: str) -> list[str]:
    """The run keys of the comparison run ``run_key`` belongs to (itself
    included, in the models' order), or ``[]``: the members that were
    stored together with it (an overwritten comparison's old members are
    removed with it, and a member stored by another comparison since is
    not one)."""
    keys, token = _comparison_of(samples, run_key)
    listed = set(list_optimal_confidence_runs(samples))
    return [k for k in keys if k in listed and _comparison_of(samples, k) == (keys, token)]


def stale_members(samples: foc.SampleCollection, keys: list[str]) -> list[str]:
    """The runs of this package that an overwrite of ``keys`` leaves
    behind: members of the comparisons the replaced runs belonged to that
    are not among ``keys`` (they go with the comparison they belonged to)."""
    runs = set(samples.list_runs(method=RUN_METHOD))
    stale: set[str] = set()
    for key in keys:
        if key in runs and not internal_match(key):
            comparison = _comparison_of(samples, key)
            stale |= {
                m for m in comparison[0]
                if m in runs and m not in keys and _comparison_of(samples, m) == comparison
            }
    return sorted(stale)


def list_optimal_confidence_runs(samples: foc.SampleCollection) -> list[str]:
    """The run keys of the results this package stored on the dataset of
    ``samples``, newest first; runs that cannot be loaded (see
    :func:`broken_optimal_confidence_runs`) are left out.
    """
    keys = [
        k for k in samples.list_runs(method=RUN_METHOD)
        if not internal_match(k) and _has_results(samples, k)
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
