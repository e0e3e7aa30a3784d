"""Models compared on the same images and ground truth: each model's
result, its chosen point, and where each reaches the same precision and
recall (:class:`ModelComparison`; :func:`~optimal_confidence.compare_models`
runs the comparison). Nothing here imports FiftyOne.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..curves.objectives import UnattainableTargetError
from ..curves.sweep import point_metrics
from ..outputs.reports_compare import comparison_report
from .result import OptimalConfidenceResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["ModelComparison", "comparison_run_key"]


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
        """One row per model: the point it ships (``threshold``,
        ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn``,
        ``score``; with per-class thresholds, the counts where each class is
        kept at its own threshold, and ``class_thresholds``), the threshold
        and recall where its precision first reaches ``precision``
        (``at_precision``), and the threshold and precision where its recall
        reaches ``recall`` (``at_recall``); by default those of the first
        model's point. ``None`` where a model does not reach them.
        """
        rows = [self._shipped(field, result) for field, result in self.results.items()]
        p = rows[0]["precision"] if precision is None else precision
        r = rows[0]["recall"] if recall is None else recall
        for row, result in zip(rows, self.results.values()):
            row["at_precision"] = _at(result, "precision", p)
            row["at_recall"] = _at(result, "recall", r)
        return rows

    @staticmethod
    def _shipped(field: str, result: OptimalConfidenceResult) -> dict[str, Any]:
        row: dict[str, Any] = {"model": field, "run_key": result.run_key, **result.point(result.best_threshold)}
        row.update(threshold=result.best_threshold, objective=result.objective.label)
        if result.objective.per_class:
            row.update(point_metrics(result.operating_counts()))
            row["class_thresholds"] = dict(result.class_thresholds)
        return row

    def report(self, precision: float | None = None, recall: float | None = None) -> str:
        """The operating points as a table (see :meth:`operating_points`)."""
        return comparison_report(self.operating_points(precision, recall))

    def plot(self, **kwargs: Any) -> "Figure":
        """The models' F1 against the threshold and their precision-recall
        curves, overlaid, each chosen point starred (matplotlib); see
        :func:`optimal_confidence.plots.plot_comparison`."""
        from ..plots import plot_comparison

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
