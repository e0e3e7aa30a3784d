"""Find the confidence threshold to deploy a model at, exactly.

The public surface: :func:`compute_optimal_confidence` and its result,
:func:`load_optimal_confidence` for stored results. The pure-numpy math
lives in :mod:`optimal_confidence.sweep` and imports no FiftyOne; the names
below load FiftyOne only when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "compute_optimal_confidence": ".api",
    "load_optimal_confidence": ".runs",
    "list_optimal_confidence_runs": ".runs",
    "broken_optimal_confidence_runs": ".runs",
    "repair_optimal_confidence_runs": ".runs",
    "suggest_run_key": ".runs",
    "RUN_METHOD": ".runs",
    "OptimalConfidenceResult": ".result",
    "SweepConfig": ".curves",
    "Objective": ".objectives",
    "UnattainableTargetError": ".objectives",
    "RunRequest": ".request",
    "OPTIONS": ".options",
    "MatchRecords": ".sweep",
    "Counts": ".sweep",
    "make_demo_dataset": ".demo",
    "load_demo_dataset": ".demo",
    "plot_curves": ".plots",
    "plot_comparison": ".plots",
    "compare_models": ".compare",
    "ModelComparison": ".compare",
    "apply_thresholds": ".deployment",
    "plot_calibration": ".plots",
    "Calibration": ".calibration",
    "Calibrator": ".calibration",
    "Guarantee": ".guarantee",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
