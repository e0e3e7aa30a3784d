"""Find the confidence threshold to deploy a model at, exactly.

The public surface: :func:`compute_optimal_confidence` and its result,
:func:`load_optimal_confidence` for stored results. The pure-numpy math
lives in :mod:`optimal_confidence.curves.sweep` and imports no FiftyOne; the names
below load FiftyOne only when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "compute_optimal_confidence": ".api",
    "load_optimal_confidence": ".result.stored",
    "list_optimal_confidence_runs": ".store.runs",
    "broken_optimal_confidence_runs": ".store.runs",
    "repair_optimal_confidence_runs": ".store.runs",
    "suggest_run_key": ".store.runs",
    "RUN_METHOD": ".store.runs",
    "OptimalConfidenceResult": ".result.result",
    "SweepConfig": ".curves.sweep_curves",
    "Objective": ".spec.objective",
    "UnattainableTargetError": ".curves.objectives",
    "RunRequest": ".spec.request",
    "OPTIONS": ".spec.options",
    "MatchRecords": ".curves.sweep",
    "Counts": ".curves.sweep",
    "make_demo_dataset": ".demo",
    "load_demo_dataset": ".demo",
    "plot_curves": ".plots",
    "plot_comparison": ".plots",
    "compare_models": ".run.compare",
    "match_records": ".run.shards",
    "merge": ".run.shards",
    "queue_shards": ".app.shards",
    "RecordShard": ".records.shards",
    "ModelComparison": ".result.comparison",
    "apply_thresholds": ".outputs.deployment",
    "plot_calibration": ".plots",
    "Calibration": ".certainty.calibration",
    "Calibrator": ".certainty.calibration",
    "LaECE": ".certainty.laece",
    "Guarantee": ".certainty.guarantee",
    "estimate": ".result.production",
    "plan_labels": ".result.production",
    "verify": ".result.production",
    "Estimate": ".certainty.unlabeled",
    "LabelPlan": ".certainty.labeling",
    "Verification": ".certainty.labeling",
    "Shift": ".certainty.shift",
    "install_plugin": ".install",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
