"""A threshold chosen on some images, checked on others."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .objectives import UnattainableTargetError
from .request import RunRequest

if TYPE_CHECKING:  # pragma: no cover
    import fiftyone.core.collections as foc

    from .result import OptimalConfidenceResult

__all__ = ["HeldOutCheck", "check_on"]


@dataclass(frozen=True)
class HeldOutCheck:
    """A threshold chosen on one set of images, checked on another.

    Attributes:
        threshold: the threshold chosen on the tuning images
        objective: the objective's label
        tuned: ``{"score", "precision", "recall", "f1", "tp", "fp", "fn"}``
            at ``threshold`` on the tuning images
        held_out: the same at ``threshold`` on the held-out images
        held_out_best_threshold: the threshold the objective would choose
            on the held-out images
        held_out_best_score: the objective there
        optimism: ``tuned["score"] - held_out["score"]`` (for costs, the
            held-out cost minus the tuned one, per image): how much tuning
            and reporting on the same images flatters the result
    """

    threshold: float
    objective: str
    tuned: dict[str, float]
    held_out: dict[str, float]
    held_out_best_threshold: float
    held_out_best_score: float
    optimism: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """The check in one sentence."""
        from .reports import held_out_summary

        return held_out_summary(self)


def check_on(
    result: "OptimalConfidenceResult", samples: "foc.SampleCollection"
) -> HeldOutCheck:
    """Checks the chosen threshold on other images: sweeps ``samples``
    (for example a held-out split, ``dataset.match_tags("val")``) with the
    result's request (the same fields, matching and objective; exact
    thresholds, no per-class thresholds, no intervals, nothing stored), and
    reports the objective at the result's best threshold there next to its
    value on the result's own images.

    For a precision or recall target the score compared is the metric the
    objective maximizes (recall or precision) at the threshold.
    """
    from .pipeline import sweep

    request = RunRequest.of_result(result).replace(
        lower_bound=None, upper_bound=None, num_thresholds=None,
        per_class=False, min_support=1, n_bootstrap=None, seed=None,
    )
    other = sweep(samples, request, progress=False)
    try:
        other_best = (other.best_threshold, other.best_score)
    except UnattainableTargetError:
        other_best = (float("nan"), float("nan"))
    t = result.best_threshold
    tuned, held = result.point(t), other.point(t)
    if result.objective.minimize:
        optimism = held["score"] / max(other.config.num_samples, 1) - tuned[
            "score"
        ] / max(result.config.num_samples, 1)
    else:
        optimism = tuned["score"] - held["score"]
    return HeldOutCheck(
        threshold=t,
        objective=result.objective.label,
        tuned=tuned,
        held_out=held,
        held_out_best_threshold=float(other_best[0]),
        held_out_best_score=float(other_best[1]),
        optimism=float(optimism),
    )
