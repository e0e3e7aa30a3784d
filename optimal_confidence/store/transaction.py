"""A write plan carried out all or nothing, the way a database applies a
transaction (and the way ``git`` writes its objects before it moves a
ref).

Each write is a :class:`Step` in three phases:

1.  ``stage``: the new thing is written completely under a temporary name
    of its own (a run ``<key>__oc_pending_<token>``, an evaluation, a
    field, a file beside its target). Nothing the user sees changes.
2.  ``commit``: it is renamed into place; what it replaces is renamed
    aside (``<key>__oc_replaced_<token>``), not deleted.
3.  ``cleanup``: what was set aside is deleted.

:func:`apply` claims every name of the plan (:mod:`.claims`: no other
process writes them meanwhile), checks the plan again against the dataset
as it is now (:func:`~.plan.check_writes`), stages every step, then
commits them. A failure while staging discards what was staged; a failure
while committing undoes the commits made (the replaced things come back)
and discards the staged ones. So a failed plan leaves the dataset and the
disk as they were. A kill leaves at worst temporary names, which
:func:`~optimal_confidence.store.runs.repair_optimal_confidence_runs`
removes (and a set-aside original, which it restores).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, Sequence

from ..spec.options import OptionError
from .claims import Busy, claimed
from .plan import Write, check_writes

__all__ = ["Step", "apply"]

logger = logging.getLogger(__name__)

#: how long a plan waits for another process's plan on the same dataset
WAIT = 300.0


class Step(Protocol):
    """One write of a plan, in phases (see the module)."""

    write: Write

    def recover(self, samples: Any) -> None:
        """Optional: under the claims, before the plan is checked again,
        finishes what a killed write of the same name left (a run set
        aside by an interrupted overwrite comes back)."""

    def stage(self, samples: Any) -> None:
        """Writes the new thing under a temporary name."""

    def commit(self, samples: Any) -> None:
        """Renames it into place, setting aside what it replaces."""

    def undo(self, samples: Any) -> None:
        """Reverses what :meth:`commit` did, also when it failed halfway:
        the new thing back under its temporary name, the replaced one back
        in place."""

    def discard(self, samples: Any) -> None:
        """Deletes the staged thing (before or after :meth:`undo`)."""

    def cleanup(self, samples: Any) -> None:
        """Deletes what :meth:`commit` set aside."""


def _quietly(what: str, fn: Any, samples: Any) -> None:
    try:
        fn(samples)
    except Exception:  # undoing must go on with the other steps
        logger.exception("optimal_confidence could not %s", what)


def _busy_error(dataset: Any, steps: Sequence[Step], e: Busy) -> OptionError:
    write = next((s.write for s in steps if (e.kind, e.name) in s.write.names()), steps[0].write)
    if e.kind == "dataset":
        return OptionError(
            write.option,
            f"Another process has been writing to dataset '{dataset.name}' for "
            f"{WAIT:g} s; nothing was written: try again when it is done",
        )
    if write.kind == "run":
        return OptionError(
            write.option,
            f"Dataset '{dataset.name}' already has a run '{e.name}' being stored by "
            f"another process now: choose another run key, or wait and pass "
            f"overwrite=True to replace it",
        )
    return OptionError(
        write.option, f"{write.option} '{write.name}': {e}; try again when it is done"
    )


def apply(samples: Any, steps: Sequence[Step]) -> list[str]:
    """Carries out ``steps`` all or nothing (see the module).

    Returns:
        what the plan replaced, in words

    Raises:
        OptionError: when the plan conflicts with the dataset as it is now,
            or another process is writing one of its names; nothing is
            written then
        Exception: what a step raised; the dataset and the disk are as
            they were
    """
    if not steps:
        return []
    dataset = samples._root_dataset
    # the dataset's document is one: plans that write it run one at a time
    # (FiftyOne saves a schema whole, so two processes adding fields at
    # once can lose one's); each waits its turn, then checks again
    names = [("dataset", "plan")] + [n for s in steps for n in s.write.names()]
    try:
        with claimed(dataset, names, wait=WAIT):
            dataset.reload()  # what other processes wrote
            for s in steps:
                if hasattr(s, "recover"):
                    s.recover(samples)
            replaced = check_writes(samples, [s.write for s in steps])
            _stage_and_commit(samples, steps)
    except Busy as e:
        raise _busy_error(dataset, steps, e) from None
    for s in steps:
        _quietly(f"clean up after {s.write.kind} '{s.write.name}'", s.cleanup, samples)
    return replaced


def _stage_and_commit(samples: Any, steps: Sequence[Step]) -> None:
    staged: list[Step] = []
    committed: list[Step] = []
    try:
        for s in steps:
            staged.append(s)
            s.stage(samples)
        for s in steps:
            committed.append(s)  # a commit that fails halfway is undone too
            s.commit(samples)
    except BaseException:
        for s in reversed(committed):
            _quietly(f"undo the {s.write.kind} '{s.write.name}'", s.undo, samples)
        for s in reversed(staged):
            _quietly(f"discard the staged {s.write.kind} '{s.write.name}'", s.discard, samples)
        raise
