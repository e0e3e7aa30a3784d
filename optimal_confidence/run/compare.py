"""Several models' prediction fields against one ground truth, with the
same options: each model at its own chosen threshold, and all of them at
equal precision and at equal recall.

The ground truth is read once for all the fields where the fast matcher
applies (box ``Detections``); each model's result equals a separate
:func:`~optimal_confidence.compute_optimal_confidence` call.
"""

from __future__ import annotations

from typing import Any, Sequence

import fiftyone.core.collections as foc

from ..result.comparison import ModelComparison
from ..spec.options import OptionError
from ..spec.request import RunRequest
from .jobs import execute

__all__ = ["ModelComparison", "compare_models"]


def compare_models(
    samples: foc.SampleCollection,
    pred_fields: Sequence[str],
    gt_field: str | None = "ground_truth",
    *,
    progress: Any = None,
    **options: Any,
) -> ModelComparison:
    """Sweeps several prediction fields against the same ground truth with
    the same options.

    Example::

        cmp = oc.compare_models(dataset, ["predictions", "baseline"])
        print(cmp.report())      # each at its threshold, at equal precision and recall
        cmp.plot()

    Args:
        samples: a dataset or view
        pred_fields: the prediction fields, the first one the reference
        gt_field ("ground_truth"): the ground truth field (None: chosen as
            the App's form chooses it)
        progress (None): FiftyOne's ``progress`` argument
        **options: the options of
            :func:`~optimal_confidence.compute_optimal_confidence`; with
            ``run_key``, each model is stored as ``<run_key>_<field>`` and
            the runs remember the comparison (the panel overlays them)

    Returns:
        a :class:`ModelComparison`

    Raises:
        ValueError: as ``compute_optimal_confidence`` does, for any of the
            fields, before anything is stored
    """
    if isinstance(pred_fields, str) or len(pred_fields) < 1:
        raise OptionError("pred_field", f"pred_fields must be a list of fields; got {pred_fields!r}")
    request = RunRequest.build(
        pred_field=pred_fields[0], gt_field=gt_field, compare_with=list(pred_fields[1:]) or None, **options
    )
    outcome = execute(samples, request, progress=progress)
    if outcome.comparison is None:
        return ModelComparison({outcome.result.config.pred_field: outcome.result})
    return outcome.comparison
