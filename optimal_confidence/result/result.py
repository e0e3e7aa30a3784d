"""The result of a sweep: the exact curves, the chosen point, and the
queries on them (another objective, per-class thresholds, counts at any
threshold, a review band, bootstrap intervals).

The result is data: its text reports live in
:mod:`optimal_confidence.outputs.reports`, its storage as a FiftyOne run in
:mod:`optimal_confidence.store.runs`, and the FiftyOne views of it in
:mod:`optimal_confidence.records.views`. Nothing here imports FiftyOne.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..certainty import certified
from ..curves import per_class
from ..certainty.calibration import Calibrator
from ..curves.by_class import ClassCounts
from ..curves.objectives import Choice, choose, metric_curves, objective_curve
from ..spec.objective import Objective
from ..spec.options import check_per_class, check_task
from ..curves.per_class import ClassChoice
from .actions import ResultActions
from ..curves.review import ReviewBand, band_of
from ..curves.sweep_curves import SweepConfig, SweepCurves
from ..curves.packed import unpack
from ..curves.sweep import Counts, MatchRecords, array_encoders, count_at, point_metrics
from ..curves.uncertainty import BootstrapSummary, bootstrap

if TYPE_CHECKING:  # pragma: no cover
    from ..certainty.guarantee import Guarantee

__all__ = ["ClassChoice", "OptimalConfidenceResult", "SweepConfig", "SweepCurves"]

#: format version of :meth:`OptimalConfidenceResult.to_dict`
FORMAT_VERSION = 1

#: format version of ``to_dict(packed=True)``, as runs store results
PACKED_FORMAT_VERSION = 2


@dataclass(frozen=True, eq=False)
class OptimalConfidenceResult(SweepCurves, ResultActions):
    """The exact precision/recall/F1 curve of a prediction field against the
    confidence threshold, and its best point.

    The curves, counts at any threshold and per-class counts are those of
    :class:`~optimal_confidence.curves.sweep_curves.SweepCurves` (all arrays aligned with
    the strictly ascending :attr:`thresholds`; entry ``i`` describes the
    predictions with ``confidence >= thresholds[i]``).

    Attributes:
        run_key: the run key the result is stored under, if any
        objective: the :class:`~optimal_confidence.spec.objective.Objective`
            that decides which threshold is best (default: F1)
        uncertainty: the
            :class:`~optimal_confidence.curves.uncertainty.BootstrapSummary` when
            the result was bootstrapped (:meth:`with_bootstrap`), else None
        calibrator: the
            :class:`~optimal_confidence.certainty.calibration.Calibrator` fitted with
            the sweep (``calibrate=``), else None

    The ``best_*`` attributes describe the threshold that is best by
    :attr:`objective`. Use :meth:`with_objective` to choose again by another
    objective without matching again.
    """

    run_key: str | None = None
    objective: Objective = Objective()
    uncertainty: BootstrapSummary | None = None
    calibrator: Calibrator | None = None
    # (objective, records, Guarantee): the certification and what it was
    # made for, carried by dataclasses.replace so that a result whose run
    # key, interval or calibrator changes is not certified again
    _certified: Any = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.objective.guarantee is None:
            return
        c = self._certified
        if c is None or c[0] != self.objective or c[1] is not self.records:
            c = (self.objective, self.records, certified.certify_result(self))
            object.__setattr__(self, "_certified", c)
        # a guaranteed threshold is a point of the curves (exact counts)
        certified.insert_point(self, c[2].threshold)

    @property
    def guarantee(self) -> "Guarantee | None":
        """With an objective's ``guarantee``: the
        :class:`~optimal_confidence.certainty.guarantee.Guarantee` of the chosen
        threshold (what is certified, at which level, on how many images;
        ``summary()`` says it in words), else None. See
        :mod:`optimal_confidence.certainty.certified`.

        Raises:
            UnattainableTargetError: if no threshold can be certified
        """
        return None if self.objective.guarantee is None else self._certified[2]

    @cached_property
    def class_guarantees(self) -> "dict[str, Guarantee | str]":
        """With a per-class objective's ``guarantee``: each class's
        :class:`~optimal_confidence.certainty.guarantee.Guarantee` (the level split
        between the classes), or why it has none; else ``{}``."""
        if self.objective.guarantee is None or not self.objective.per_class:
            return {}
        return certified.class_guarantees(self)

    # -- the chosen point -------------------------------------------------------

    def _macro_counts(self, thresholds: np.ndarray | None = None) -> ClassCounts | None:
        """Per-class counts of the classes a macro average runs over (a
        slice of thresholds at a time), or None for a micro average."""
        if self.objective.average != "macro":
            return None
        t = self.thresholds if thresholds is None else thresholds
        return ClassCounts(self.records, t, self.records.present_classes())

    @cached_property
    def _choice(self) -> Choice:
        if self.guarantee is not None:
            i = int(np.searchsorted(self.thresholds, self.guarantee.threshold))
            return Choice(i, float(metric_curves(self.counts, None, self.objective)[self.objective.metric][i]))
        return choose(
            self.objective, self.counts, self._macro_counts(), thresholds=self.thresholds
        )

    @cached_property
    def best_index(self) -> int:
        """Index of the best threshold by :attr:`objective` (for F1, the
        highest F1; ties go to the lowest threshold).

        Raises:
            UnattainableTargetError: if no threshold reaches the target of
                a precision or recall objective
        """
        return self._choice.index

    @property
    def best_score(self) -> float:
        """The objective's value at the best threshold."""
        return self._choice.score

    @cached_property
    def score(self) -> np.ndarray:
        """The objective at each threshold (for a precision or recall
        target: the other metric where the target is reached, ``NaN``
        elsewhere)."""
        return objective_curve(self.objective, self.counts, self._macro_counts())

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best_index])

    @property
    def best_f1(self) -> float:
        return float(self.f1[self.best_index])

    @property
    def best_precision(self) -> float:
        return float(self.precision[self.best_index])

    @property
    def best_recall(self) -> float:
        return float(self.recall[self.best_index])

    @property
    def best_tp(self) -> int:
        return int(self.tp[self.best_index])

    @property
    def best_fp(self) -> int:
        return int(self.fp[self.best_index])

    @property
    def best_fn(self) -> int:
        return int(self.fn[self.best_index])

    def with_objective(self, objective: str | Objective | None = None, **kwargs: Any) -> "OptimalConfidenceResult":
        """The same curves with the best threshold chosen by another
        objective; no matching runs again.

        Args:
            objective (None): an objective name or an
                :class:`~optimal_confidence.spec.objective.Objective`; ``None``
                keeps the current one
            **kwargs: fields of the objective to change (``beta``,
                ``target``, ``fp_cost``, ``fn_cost``, ``average``,
                ``per_class``, ``min_support``, ``guarantee``); with the
                same objective name the others are kept (a guarantee
                included: pass ``guarantee=None`` for the point estimate)

        Raises:
            UnattainableTargetError: if no threshold reaches the target

        Example::

            strict = result.with_objective("precision", target=0.95)
            strict.best_threshold, strict.best_recall
        """
        if isinstance(objective, Objective):
            new = dataclasses.replace(objective, **kwargs)
        else:
            base = self.objective.to_dict()
            if objective is not None and objective != self.objective.name:
                # parameters of another objective do not carry over
                base = {k: base[k] for k in ("average", "per_class", "min_support")}
                base["name"] = objective
            new = Objective(**{**base, **kwargs})
        check_task({"objective": new.name}, self.config.task)
        check_per_class({"per_class": new.per_class, "classwise": self.config.classwise})
        result = dataclasses.replace(self, objective=new, uncertainty=None)
        result.best_index  # noqa: B018 - an unattainable target fails here
        return result

    def near_best(self, tolerance: float = 0.01) -> tuple[float, float]:
        """The lowest and highest thresholds whose objective is within
        ``tolerance`` of the best (for costs: at most ``tolerance`` above
        the lowest). A wide range means the choice matters little there.
        """
        score, best = self.score, self.best_score
        ok = score <= best + tolerance if self.objective.minimize else score >= best - tolerance
        t = self.thresholds[ok & ~np.isnan(score)]
        return (float(t.min()), float(t.max()))

    # -- any threshold ----------------------------------------------------------

    def point(self, threshold: float) -> dict[str, float]:
        """The objective's score, precision, recall, F1 and counts at any
        threshold (exact, from the match records).

        The score is F1 or F-beta, the cost, or for a target objective the
        metric it maximizes (recall for a precision target, precision for a
        recall or accuracy target), whether or not the target is met.
        """
        t = np.array([float(threshold)])
        c = count_at(self.records, t)
        o = self.objective
        if o.metric == "cost":
            score = objective_curve(o, c)[0]
        else:
            score = metric_curves(c, self._macro_counts(t), o)[o.metric][0]
        return {"score": float(score), **point_metrics(c)}

    # -- per class --------------------------------------------------------------

    @cached_property
    def class_choices(self) -> dict[str, ClassChoice]:
        """Per-class thresholds when :attr:`objective` has ``per_class``,
        else ``{}``.

        Each class gets the threshold that is best by the objective on its
        own predictions and ground truth (thresholds: its own distinct
        confidences within the bounds, or the grid). A class with fewer
        ground truth objects than ``min_support``, with no prediction within
        the bounds, or whose target cannot be reached keeps the global
        threshold, and :attr:`ClassChoice.reason` says why.
        """
        if not self.objective.per_class:
            return {}
        if self.objective.guarantee is not None:
            return certified.class_choices(self, self.class_guarantees)
        c = self.config
        exact = c.num_thresholds is None
        return per_class.choose_per_class(
            self.records,
            self.thresholds,
            self.objective,
            self.best_threshold,
            bounds=(c.lower_bound, c.upper_bound) if exact else None,
        )

    @property
    def class_thresholds(self) -> dict[str, float]:
        """``{label: threshold}`` for deployment code: the per-class
        thresholds with ``per_class``, else every class at the best
        threshold."""
        if self.objective.per_class:
            return {k: v.threshold for k, v in self.class_choices.items()}
        return {label: self.best_threshold for label in self.records.classes}

    def operating_counts(self) -> Counts:
        """TP, FP and FN (plain ints) where every prediction is
        kept at its class's threshold (:attr:`class_thresholds`; a
        prediction without a label at the best threshold).

        With ``classwise=True`` classes never compete for an object, so
        these are exactly the counts of evaluating the per-class view.
        """
        return per_class.operating_counts(
            self.records, self.class_thresholds, self.best_threshold
        )

    # -- review band and intervals ----------------------------------------------

    def review_band(
        self,
        precision: float | None = None,
        max_lost: float = 0.05,
        *,
        t_low: float | None = None,
        t_high: float | None = None,
        review_cost: float | None = None,
        fp_cost: float | None = None,
        fn_cost: float | None = None,
    ) -> ReviewBand:
        """A human-review band: predictions at or above ``t_high`` are
        accepted, below ``t_low`` dropped, in between reviewed.

        Give ``precision`` (and ``max_lost``) to find the band: ``t_high``
        is the lowest threshold whose accepted predictions reach
        ``precision``, ``t_low`` the highest threshold below it that drops
        at most ``max_lost`` of the true detections. Or give ``t_low`` and
        ``t_high`` to describe a band of your own. See
        :class:`~optimal_confidence.curves.review.ReviewBand` for what is reported.

        ``fp_cost`` and ``fn_cost`` price the band's ``cost`` (with a
        ``review_cost``); by default they are the objective's, so a result
        chosen by cost prices its band the same way.

        Example::

            band = result.review_band(precision=0.95, max_lost=0.02, review_cost=0.1)
            print(band.summary())

        Raises:
            UnattainableTargetError: if no threshold reaches ``precision``
            ValueError: for ``classwise=False`` results, where reviewing one
                prediction can change the matches of others
        """
        costs = dict(
            review_cost=review_cost,
            fp_cost=self.objective.fp_cost if fp_cost is None else fp_cost,
            fn_cost=self.objective.fn_cost if fn_cost is None else fn_cost,
        )
        return band_of(
            self.records, self.thresholds, self.config.classwise,
            precision=precision, max_lost=max_lost, t_low=t_low, t_high=t_high, **costs,
        )

    def with_bootstrap(
        self, n_bootstrap: int = 1000, *, seed: int | None = None, level: float = 0.95
    ) -> "OptimalConfidenceResult":
        """The same result with bootstrap intervals: the images are
        resampled with replacement ``n_bootstrap`` times and each resample
        is swept from the stored match records (no matching runs again).

        See :attr:`threshold_ci` and :attr:`score_ci`.

        Args:
            n_bootstrap (1000): the number of resamples
            seed (None): a seed, for reproducible intervals
            level (0.95): the confidence level of the intervals
        """
        summary = bootstrap(
            self.records,
            self.thresholds,
            dataclasses.replace(self.objective, per_class=False),
            self.best_threshold,
            n_bootstrap=n_bootstrap,
            seed=seed,
            level=level,
        )
        return dataclasses.replace(self, uncertainty=summary)

    @property
    def threshold_ci(self) -> tuple[float, float] | None:
        """``(low, high)``: where the best threshold falls in the bootstrap
        resamples at the confidence level of :attr:`uncertainty`; None
        before :meth:`with_bootstrap`."""
        return None if self.uncertainty is None else self.uncertainty.threshold_ci

    @property
    def score_ci(self) -> tuple[float, float] | None:
        """``(low, high)``: the objective at :attr:`best_threshold` over the
        bootstrap resamples (for a precision target: the recall there);
        None before :meth:`with_bootstrap`."""
        return None if self.uncertainty is None else self.uncertainty.score_ci

    @classmethod
    def of_curves(cls, curves: SweepCurves, **fields: Any) -> "OptimalConfidenceResult":
        """The result of a sweep's curves; ``fields`` are its other
        attributes (``objective``, ``run_key``, ...)."""
        shared = {f.name: getattr(curves, f.name) for f in dataclasses.fields(SweepCurves)}
        return cls(**shared, **fields)

    def to_dict(self, packed: bool = False) -> dict[str, Any]:
        """A JSON-serializable dict (plain lists and Python numbers).

        ``packed``: the long arrays (curves, match records) as
        :func:`~optimal_confidence.curves.packed.pack` dicts, as runs store
        them (format version 2; at 100,000 images a tenth of the time to
        store and load, and 40% of the size)."""
        return _to_dict(self, packed)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "OptimalConfidenceResult":
        """The result of :meth:`to_dict` (of this format version)."""
        return _from_dict(cls, d)

    def __repr__(self) -> str:
        return (
            f"<OptimalConfidenceResult {self.config.pred_field!r} vs "
            f"{self.config.gt_field!r}: best threshold {self.best_threshold:.4g}, "
            f"F1 {self.best_f1:.4f}, {self.num_thresholds} thresholds>"
        )


def _to_dict(r: OptimalConfidenceResult, packed: bool = False) -> dict[str, Any]:
    floats, ints, _ = array_encoders(packed)
    return {
        "format_version": PACKED_FORMAT_VERSION if packed else FORMAT_VERSION,
        "config": r.config.to_dict(),
        "thresholds": floats(r.thresholds),
        "tp": ints(r.tp),
        "fp": ints(r.fp),
        "fn": ints(r.fn),
        "records": r.records.to_dict(packed),
        "run_key": r.run_key,
        "objective": r.objective.to_dict(),
        "uncertainty": None if r.uncertainty is None else r.uncertainty.to_dict(),
        "calibrator": None if r.calibrator is None else r.calibrator.to_dict(),
    }


def _from_dict(cls: type[OptimalConfidenceResult], d: Mapping[str, Any]) -> OptimalConfidenceResult:
    version = d.get("format_version")
    if version not in (FORMAT_VERSION, PACKED_FORMAT_VERSION):
        raise ValueError(
            f"Unsupported result format version {version!r}; this version "
            f"of optimal_confidence reads versions {FORMAT_VERSION} and "
            f"{PACKED_FORMAT_VERSION}"
        )
    uncertainty = d.get("uncertainty")
    return cls(
        config=SweepConfig.from_dict(d["config"]),
        thresholds=unpack(d["thresholds"], np.float64),
        tp=unpack(d["tp"], np.int64),
        fp=unpack(d["fp"], np.int64),
        fn=unpack(d["fn"], np.int64),
        records=MatchRecords.from_dict(d["records"]),
        run_key=d.get("run_key"),
        objective=Objective.from_dict(d.get("objective")),
        uncertainty=BootstrapSummary.from_dict(uncertainty) if uncertainty else None,
        calibrator=Calibrator.from_dict(d["calibrator"]) if d.get("calibrator") else None,
    )
