"""One run's options, checked: what every front end builds and the
pipeline runs.

The API (:func:`~optimal_confidence.compute_optimal_confidence`), the
command line, the operator and the panel turn what they were given into a
:class:`RunRequest`; its values are checked against
:data:`~optimal_confidence.spec.options.OPTIONS` in one place, so a default or a
check cannot differ between them. Pure Python, no FiftyOne.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .objective import Objective
from .options import NOT_API_OPTIONS, OPTIONS, check_rules, check_value, option

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = ["RunRequest"]

#: the options that make the :class:`~optimal_confidence.spec.objective.Objective`
#: (its ``name`` is the option ``objective``)
_OBJECTIVE_OPTIONS = (
    "objective", "beta", "target", "fp_cost", "fn_cost", "average",
    "per_class", "min_support", "guarantee",
)


class RunRequest(Mapping[str, Any]):
    """The checked options of one run: a read-only mapping from every
    option's name to its value (defaults filled in).

    Build it with :meth:`build`; read values as ``request["iou"]`` or
    ``request.iou``.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        # trusted values only: use build()
        self._values = dict(values)

    @classmethod
    def build(cls, **values: Any) -> "RunRequest":
        """Checks ``values`` (option name to value; the others take their
        defaults) and returns the request.

        Raises:
            OptionError: (a ``ValueError``) for the first bad value or
                combination, naming the option and what is accepted
            TypeError: for a name that is not an option
        """
        for name in values:
            option(name)  # unknown names raise TypeError
        checked = {
            o.name: check_value(o.name, values.get(o.name, o.default)) for o in OPTIONS
        }
        check_rules(checked)
        return cls(checked)

    @classmethod
    def of_result(cls, result: "OptimalConfidenceResult") -> "RunRequest":
        """The request that repeats a result's sweep: its fields, matching,
        thresholds, objective and intervals (not its run key, nor an
        evaluation it reused: matching runs again, with the evaluation's
        IoU and classwise)."""
        c, o, u = result.config, result.objective, result.uncertainty
        exact = c.num_thresholds is None
        return cls.build(
            pred_field=c.pred_field,
            gt_field=c.gt_field,
            positive_label=c.positive_label,
            iou=c.iou,
            classwise=c.classwise,
            use_masks=c.use_masks,
            use_boxes=c.use_boxes,
            iscrowd=c.iscrowd,
            lower_bound=None if exact else c.lower_bound,
            upper_bound=None if exact else c.upper_bound,
            num_thresholds=c.num_thresholds,
            **{k: v for k, v in o.to_dict().items() if k != "name"},
            objective=o.name,
            n_bootstrap=None if u is None else u.n_bootstrap,
            seed=None if u is None else u.seed,
            ci_level=0.95 if u is None else u.level,
        )

    def replace(self, **changes: Any) -> "RunRequest":
        """A copy with some values changed, checked again."""
        return RunRequest.build(**{**self._values, **changes})

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {
            k: v for k, v in self._values.items() if v != option(k).default
        }
        return f"RunRequest({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def objective(self) -> Objective:
        """The :class:`~optimal_confidence.spec.objective.Objective` the options
        ask for."""
        kwargs = {k: self._values[k] for k in _OBJECTIVE_OPTIONS}
        return Objective(name=kwargs.pop("objective"), **kwargs)

    def band(self) -> dict[str, Any] | None:
        """The keywords of
        :meth:`~optimal_confidence.result.OptimalConfidenceResult.review_band`
        when a review band is asked for (``review_precision``), else None.
        The band is priced with the objective's ``fp_cost`` and
        ``fn_cost``."""
        if self._values["review_precision"] is None:
            return None
        return {
            "precision": self._values["review_precision"],
            "max_lost": self._values["max_lost"],
            "review_cost": self._values["review_cost"],
        }

    def api_kwargs(self) -> dict[str, Any]:
        """The keywords of ``compute_optimal_confidence`` (all options but
        the review band's and the actions')."""
        return {k: v for k, v in self._values.items() if k not in NOT_API_OPTIONS}
