"""The App glue of the plugin: the ``optimal_confidence`` operator
(:mod:`.operators`, its form in :mod:`.form`) and the Confidence curves
panel (:mod:`.panel`). Everything here translates the App's params and
events into calls of the library; the library does the work and the
checks."""

from __future__ import annotations

from typing import Any

from .operators import OptimalConfidence
from .panel import ConfidenceCurves
from .shards import SweepShard

__all__ = ["ConfidenceCurves", "OptimalConfidence", "SweepShard", "register"]


def register(p: Any) -> None:
    """Registers what ``fiftyone.yml`` lists (a test holds the two to each
    other)."""
    p.register(OptimalConfidence)
    p.register(ConfidenceCurves)
    p.register(SweepShard)
