"""Results stored on a dataset, loaded back as results: the public face of
:mod:`optimal_confidence.store.runs` (which stores and lists them)."""

from __future__ import annotations

import fiftyone.core.collections as foc

from ..store.runs import load_run_dict
from .result import OptimalConfidenceResult

__all__ = ["load_optimal_confidence"]


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
    return OptimalConfidenceResult.from_dict(load_run_dict(samples, run_key))
