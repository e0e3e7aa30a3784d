"""Results stored on a dataset as FiftyOne custom runs.

A run holds the result's :meth:`~optimal_confidence.result.OptimalConfidenceResult.to_dict`
(curves, match records, objective, intervals); the run's view is the
samples that were swept.
"""

from __future__ import annotations

import dataclasses

import fiftyone.core.collections as foc

from .options import OptionError, check_value
from .result import OptimalConfidenceResult

__all__ = [
    "RUN_METHOD",
    "check_run_key",
    "list_optimal_confidence_runs",
    "load_optimal_confidence",
    "save_run",
    "suggest_run_key",
]

#: the ``method`` of the custom runs this package stores
RUN_METHOD = "optimal_confidence"


def suggest_run_key(samples: foc.SampleCollection, base: str = RUN_METHOD) -> str:
    """The first free run key among ``base``, ``base_2``, ``base_3``, ..."""
    existing = set(samples.list_runs())
    if base not in existing:
        return base
    i = 2
    while f"{base}_{i}" in existing:
        i += 1
    return f"{base}_{i}"


def check_run_key(samples: foc.SampleCollection, run_key: str, overwrite: bool) -> None:
    """Refuses a run key that is not an identifier, or that the dataset
    already has (unless ``overwrite``).

    Raises:
        OptionError: naming ``run_key``
    """
    check_value("run_key", run_key)
    if run_key in samples.list_runs() and not overwrite:
        raise OptionError(
            "run_key",
            f"Dataset '{samples._dataset.name}' already has a run "
            f"'{run_key}', and a run key that already exists is never "
            f"replaced unasked: choose another run key (for example "
            f"'{suggest_run_key(samples)}') or pass overwrite=True to "
            f"replace it",
        )


def save_run(
    samples: foc.SampleCollection,
    run_key: str,
    result: OptimalConfidenceResult,
    *,
    overwrite: bool,
) -> None:
    """Stores ``result`` as run ``run_key`` of the dataset of ``samples``
    (whose view the run remembers)."""
    config = samples.init_run(
        method=RUN_METHOD,
        **{f"sweep_{k}": v for k, v in result.config.to_dict().items()},
        best_threshold=result.best_threshold,
        best_f1=result.best_f1,
        objective=result.objective.label,
    )
    samples.register_run(run_key, config, overwrite=overwrite)
    try:
        results = samples.init_run_results(run_key, result=result.to_dict())
        samples.save_run_results(run_key, results, overwrite=True, cache=False)
    except Exception:
        # A registered run without results would look stored but fail to
        # load: do not leave one behind
        samples.delete_run(run_key)
        raise


def list_optimal_confidence_runs(samples: foc.SampleCollection) -> list[str]:
    """The run keys of the results this package stored on the dataset of
    ``samples``, newest first.
    """
    keys = samples.list_runs(method=RUN_METHOD)
    infos = [(samples.get_run_info(k).timestamp, k) for k in keys]
    return [k for _, k in sorted(infos, reverse=True)]


def load_optimal_confidence(
    samples: foc.SampleCollection, run_key: str
) -> OptimalConfidenceResult:
    """Loads a result stored by :func:`compute_optimal_confidence`.

    Args:
        samples: the dataset (or any view of it) the result was stored on
        run_key: the run key

    Returns:
        an :class:`OptimalConfidenceResult`

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
    result = OptimalConfidenceResult.from_dict(results.result)
    return dataclasses.replace(result, run_key=run_key)
