"""The result: :class:`~.result.OptimalConfidenceResult` (the curves, the
chosen point and the queries on them, pure), its methods that act on
FiftyOne collections and files (:mod:`.actions`, which reach down to the
stages that do the work: views, evaluations, exports, the held-out check
in :mod:`.checks`), comparisons of models (:mod:`.comparison`) and stored
results loaded back (:mod:`.stored`). Above every stage it calls, below
the pipeline that builds it."""

from .result import OptimalConfidenceResult

__all__ = ["OptimalConfidenceResult"]
