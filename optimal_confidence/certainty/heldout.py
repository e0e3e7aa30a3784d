"""A threshold chosen on some images, checked on others: what the check
found (:class:`HeldOutCheck`; the check itself is
:meth:`OptimalConfidenceResult.check_on <optimal_confidence.result.checks.check_on>`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["HeldOutCheck"]


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
        return (
            f"Threshold {self.threshold:.4g} chosen by {self.objective}: "
            f"{self.tuned['score']:.4f} on the tuning images, "
            f"{self.held_out['score']:.4f} on the held-out images "
            f"(optimism {self.optimism:+.4f}; the held-out images alone "
            f"would choose {self.held_out_best_threshold:.4g} with "
            f"{self.held_out_best_score:.4f})"
        )
