"""Several models' prediction fields against one ground truth, with the
same options: each model at its own chosen threshold, and all of them at
equal precision and at equal recall.

The ground truth is read once for all the fields where the fast matcher
applies (box ``Detections``); each model's result equals a separate
:func:`~optimal_confidence.compute_optimal_confidence` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import fiftyone.core.collections as foc

from .objectives import UnattainableTargetError
from .options import OptionError
from .request import RunRequest
from .result import OptimalConfidenceResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["ModelComparison", "compare_models", "comparison_run_key"]


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """Models compared on the same images and ground truth.

    Attributes:
        results: ``{pred_field: OptimalConfidenceResult}``, in the order the
            fields were given (the first is the reference of
            :meth:`operating_points`)
    """

    results: dict[str, OptimalConfidenceResult]

    @property
    def fields(self) -> list[str]:
        return list(self.results)

    def operating_points(
        self, precision: float | None = None, recall: float | None = None
    ) -> list[dict[str, Any]]:
        """One row per model: its chosen point (``threshold``,
        ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn``,
        ``score``), the threshold and recall where its precision first
        reaches ``precision`` (``at_precision``), and the threshold and
        precision where its recall reaches ``recall`` (``at_recall``); by
        default those of the first model's chosen point. ``None`` where a
        model does not reach them.
        """
        ref = next(iter(self.results.values()))
        p = ref.best_precision if precision is None else precision
        r = ref.best_recall if recall is None else recall
        rows = []
        for field, result in self.results.items():
            row: dict[str, Any] = {"model": field, "run_key": result.run_key, **result.point(result.best_threshold)}
            row.update(threshold=result.best_threshold, objective=result.objective.label)
            row["at_precision"] = _at(result, "precision", p)
            row["at_recall"] = _at(result, "recall", r)
            rows.append(row)
        return rows

    def report(self, precision: float | None = None, recall: float | None = None) -> str:
        """The operating points as a table (see :meth:`operating_points`)."""
        from .reports_compare import comparison_report

        return comparison_report(self.operating_points(precision, recall))

    def plot(self, **kwargs: Any) -> "Figure":
        """The models' F1 against the threshold and their precision-recall
        curves, overlaid, each chosen point starred (matplotlib); see
        :func:`optimal_confidence.plots.plot_comparison`."""
        from .plots import plot_comparison

        return plot_comparison(self, **kwargs)

    def __repr__(self) -> str:
        return f"<ModelComparison of {self.fields}>"


def _at(result: OptimalConfidenceResult, metric: str, target: float) -> dict[str, float] | None:
    """Where the model reaches ``metric >= target`` on these images with the
    most of the other metric (a point estimate, never a guarantee), or
    None."""
    try:
        other = result.with_objective(
            metric, target=min(max(target, 1e-9), 1.0), per_class=False, guarantee=None
        )
    except UnattainableTargetError:
        return None
    return {
        "target": float(target),
        "threshold": other.best_threshold,
        "precision": other.best_precision,
        "recall": other.best_recall,
    }


def comparison_run_key(run_key: str, field: str) -> str:
    """The run key of one model of a comparison stored under ``run_key``."""
    return f"{run_key}_{field.replace('.', '_')}"


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
    from .jobs import execute

    request = RunRequest.build(
        pred_field=pred_fields[0], gt_field=gt_field, compare_with=list(pred_fields[1:]) or None, **options
    )
    outcome = execute(samples, request, progress=progress)
    if outcome.comparison is None:
        return ModelComparison({outcome.result.config.pred_field: outcome.result})
    return outcome.comparison
