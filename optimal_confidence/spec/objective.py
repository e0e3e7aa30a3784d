"""What "best" means: the :class:`Objective` a run asks for, with its
checks (the option spec's, so every front end refuses the same values).

Pure Python. How an objective scores the curves and picks the threshold is
:mod:`optimal_confidence.curves.objectives`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from .options import OBJECTIVES as _CHOICES
from .options import check_objective, check_value

__all__ = ["OBJECTIVES", "Objective"]

#: the objective names :class:`Objective` accepts
OBJECTIVES = tuple(c.value for c in _CHOICES)


@dataclass(frozen=True)
class Objective:
    """What "best" means when choosing a threshold.

    Attributes:
        name ("f1"): one of :data:`OBJECTIVES`
        beta (1.0): the beta of ``"fbeta"``
        target (None): the precision or recall to reach, in ``(0, 1]``, for
            ``"precision"`` and ``"recall"``
        fp_cost (1.0): the cost of a false positive, for ``"cost"``
        fn_cost (1.0): the cost of a false negative, for ``"cost"``
        average ("micro"): ``"micro"`` pools all classes; ``"macro"``
            averages the per-class metric at each threshold
        per_class (False): whether each class gets its own threshold
        min_support (1): with ``per_class``, classes with fewer ground truth
            objects keep the global threshold
        guarantee (None): for a target: the probability with which the
            chosen threshold reaches it on new images (Learn-then-Test,
            :mod:`optimal_confidence.certainty.certified`); None for the point
            estimate
    """

    name: str = "f1"
    beta: float = 1.0
    target: float | None = None
    fp_cost: float = 1.0
    fn_cost: float = 1.0
    average: str = "micro"
    per_class: bool = False
    min_support: int = 1
    guarantee: float | None = None

    def __post_init__(self) -> None:
        # the same checks, and messages, as every front end's
        # (optimal_confidence.spec.options); values are stored normalized
        for f in fields(self):
            value = check_value("objective" if f.name == "name" else f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        check_objective({"objective": self.name, **asdict(self)})

    @property
    def metric(self) -> str:
        """The metric the objective's score is: ``"fbeta"`` (F1 and
        F-beta), ``"recall"`` (a precision target maximizes the recall),
        ``"precision"`` (a recall or accuracy target) or ``"cost"``."""
        return {
            "precision": "recall",
            "recall": "precision",
            "accuracy": "precision",
            "cost": "cost",
        }.get(self.name, "fbeta")

    @property
    def constrained(self) -> str | None:
        """The metric a target objective holds at its target
        (``"precision"`` or ``"recall"``), else None."""
        return {"precision": "precision", "recall": "recall", "accuracy": "precision"}.get(
            self.name
        )

    @property
    def minimize(self) -> bool:
        """Whether a lower score is better (costs)."""
        return self.name == "cost"

    @property
    def label(self) -> str:
        """A short human-readable name: ``"F1"``, ``"recall at precision >=
        0.95"``, ``"recall at precision >= 0.95, certified at 90%"``..."""
        certified = "" if self.guarantee is None else f", certified at {100 * self.guarantee:g}%"
        return self._base_label() + certified

    def _base_label(self) -> str:
        avg = " (macro)" if self.average == "macro" and self.name != "cost" else ""
        if self.name == "f1":
            return "F1" + avg
        if self.name == "fbeta":
            return f"F{self.beta:g}" + avg
        if self.name == "precision":
            return f"recall at precision >= {self.target:g}" + avg
        if self.name == "recall":
            return f"precision at recall >= {self.target:g}" + avg
        if self.name == "accuracy":
            return f"lowest threshold with accuracy >= {self.target:g}" + avg
        return f"cost ({self.fp_cost:g} per FP, {self.fn_cost:g} per FN)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Objective":
        if not d:
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
