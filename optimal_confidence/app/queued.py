"""A run queued for a delegated worker, as ``op(dataset, delegate=True)``
returns it: what was queued, its state, and its result once a worker
(``fiftyone delegated launch``) has run it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

import fiftyone as fo
from fiftyone.operators.delegated import DelegatedOperationService

from ..result.result import OptimalConfidenceResult
from ..result.stored import load_optimal_confidence

__all__ = ["QueuedRun"]


@dataclass(frozen=True)
class QueuedRun:
    """A delegated run of the ``optimal_confidence`` operator.

    Example usage::

        queued = op(dataset, delegate=True)
        queued                    # <QueuedRun ... queued: `fiftyone delegated launch` runs it>
        # ... a worker runs it (`fiftyone delegated launch`) ...
        queued.state              # 'completed'
        result = queued.result()  # the OptimalConfidenceResult it stored

    Attributes:
        id: the delegated operation's id (``fiftyone delegated info <id>``)
        dataset_name: the dataset it runs on
    """

    id: str
    dataset_name: str

    #: like FiftyOne's ``ExecutionResult.delegated``
    delegated = True

    def _doc(self) -> Any:
        try:
            doc = DelegatedOperationService().get(ObjectId(self.id))
        except (ValueError, InvalidId):  # FiftyOne's "No operation found", a bad id
            doc = None
        if doc is None:
            raise LookupError(f"The delegated operation {self.id} no longer exists")
        return doc

    @property
    def state(self) -> str:
        """``"queued"``, ``"scheduled"``, ``"running"``, ``"completed"`` or
        ``"failed"``, as FiftyOne's delegated operations say it."""
        return str(self._doc().run_state)

    @property
    def run_key(self) -> str | None:
        """The run key the result was stored under, once completed."""
        return _run_key(self._doc())

    def result(self) -> OptimalConfidenceResult:
        """The result the worker stored.

        Raises:
            RuntimeError: while the run has not completed (saying how to
                run it), or with the worker's error when it failed
        """
        doc = self._doc()
        state = str(doc.run_state)
        if state == "failed":
            error = getattr(getattr(doc, "result", None), "error", None)
            last = (str(error).strip().splitlines() or ["unknown error"])[-1]
            raise RuntimeError(f"The delegated run {self.id} failed: {last}")
        if state != "completed":
            raise RuntimeError(
                f"The delegated run {self.id} is {state}: a worker runs it "
                f"(`fiftyone delegated launch`); then call .result() again"
            )
        return load_optimal_confidence(fo.load_dataset(self.dataset_name), _run_key(doc))

    def __repr__(self) -> str:
        try:  # one read of the operation
            doc = self._doc()
        except LookupError:
            doc = None
        state = "gone" if doc is None else str(doc.run_state)
        todo = {
            "queued": ": `fiftyone delegated launch` runs it; .result() then loads it",
            "completed": f": .result() loads run {_run_key(doc)!r}" if doc is not None else "",
        }.get(state, "")
        return f"<QueuedRun {self.id} of optimal_confidence on {self.dataset_name!r}, {state}{todo}>"


def _run_key(doc: Any) -> str | None:
    """The run key a completed delegated run's output names."""
    out = getattr(getattr(doc, "result", None), "result", None) or {}
    return out.get("run_key")
