"""The public entry point: :func:`compute_optimal_confidence`, its result,
and storage of results as FiftyOne custom runs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

import numpy as np

import fiftyone as fo
import fiftyone.core.collections as foc

from .fast_matching import UnsupportedMatchingError, records_fast
from .matching import (
    SUPPORTED_LABEL_TYPES,
    read_label_values,
    records_from_eval_key,
    records_from_evaluation,
)
from .objectives import (
    Choice,
    Objective,
    UnattainableTargetError,
    _metrics,
    choose,
    objective_curve,
)
from .classification import records_from_classifications
from .review import ReviewBand, find_review_band, review_band
from .uncertainty import BootstrapSummary, bootstrap
from .sweep import (
    Counts,
    MatchRecords,
    count_at,
    exact_thresholds,
    grid_thresholds,
    precision_recall_f1,
)

logger = logging.getLogger(__name__)

__all__ = [
    "RUN_METHOD",
    "ClassChoice",
    "HeldOutCheck",
    "Objective",
    "OptimalConfidenceResult",
    "SweepConfig",
    "compute_optimal_confidence",
    "list_optimal_confidence_runs",
    "load_optimal_confidence",
    "suggest_run_key",
]

#: the ``method`` of the custom runs this package stores
RUN_METHOD = "optimal_confidence"

#: format version of stored results
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SweepConfig:
    """How a sweep was run.

    Attributes:
        pred_field: the predictions field
        gt_field: the ground truth field
        iou: the IoU a match needs
        classwise: whether only objects of the same label can match
        lower_bound: the smallest threshold swept (the data's smallest
            confidence when none was given)
        upper_bound: the largest threshold swept (the data's largest
            confidence when none was given)
        num_thresholds: ``None`` for the exact sweep (every distinct
            confidence within the bounds), else the size of the even grid
        num_samples: the number of samples (images or videos) swept
        label_type: ``"Detections"`` or ``"Polylines"``
        use_masks: whether IoUs came from instance masks
        use_boxes: whether IoUs of polylines came from their boxes
        iscrowd: the name of the crowd attribute
        method: how predictions were matched
        positive_label: the positive class of a binary ``Classification``
            task, or None
    """

    pred_field: str
    gt_field: str
    iou: float
    classwise: bool
    lower_bound: float
    upper_bound: float
    num_thresholds: int | None
    num_samples: int
    label_type: str
    use_masks: bool = False
    use_boxes: bool = False
    iscrowd: str = "iscrowd"
    method: str = "evaluate_detections"
    positive_label: str | None = None

    @property
    def task(self) -> str:
        """``"detection"``, ``"binary"`` or ``"multiclass"`` (classifiers
        that escalate uncertain answers)."""
        if self.label_type != "Classification":
            return "detection"
        return "binary" if self.positive_label is not None else "multiclass"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SweepConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class ClassChoice:
    """The threshold one class gets with ``per_class=True``.

    Attributes:
        label: the class
        threshold: its threshold
        support: its number of ground truth objects
        score: the objective at ``threshold`` on this class alone
        own: whether the threshold was chosen on this class (False: the
            global threshold, see ``reason``)
        reason: why the class keeps the global threshold, or ``""``
    """

    label: str
    threshold: float
    support: int
    score: float
    own: bool
    reason: str = ""


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
        return (
            f"Threshold {self.threshold:.4g} chosen by {self.objective}: "
            f"{self.tuned['score']:.4f} on the tuning images, "
            f"{self.held_out['score']:.4f} on the held-out images "
            f"(optimism {self.optimism:+.4f}; the held-out images alone "
            f"would choose {self.held_out_best_threshold:.4g} with "
            f"{self.held_out_best_score:.4f})"
        )


@dataclass(frozen=True, eq=False)
class OptimalConfidenceResult:
    """The exact precision/recall/F1 curve of a prediction field against the
    confidence threshold, and its best point.

    All curve arrays have shape ``(num_thresholds,)`` and are aligned with
    :attr:`thresholds`, which is strictly ascending. Entry ``i`` describes
    the predictions with ``confidence >= thresholds[i]``.

    Attributes:
        config: the :class:`SweepConfig`
        thresholds: ``float64`` thresholds, strictly ascending
        tp: ``int64`` true positives at each threshold
        fp: ``int64`` false positives at each threshold
        fn: ``int64`` false negatives at each threshold
        records: the :class:`~optimal_confidence.sweep.MatchRecords` of the
            matching pass, from which per-class counts are derived
        run_key: the run key the result is stored under, if any
        objective: the :class:`~optimal_confidence.objectives.Objective`
            that decides which threshold is best (default: F1)
        uncertainty: the
            :class:`~optimal_confidence.uncertainty.BootstrapSummary` when
            the result was bootstrapped (:meth:`with_bootstrap`), else None

    The ``best_*`` attributes describe the threshold that is best by
    :attr:`objective`. Use :meth:`with_objective` to choose again by another
    objective without matching again.
    """

    config: SweepConfig
    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    records: MatchRecords
    run_key: str | None = None
    objective: Objective = Objective()
    uncertainty: BootstrapSummary | None = None

    @cached_property
    def _prf(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return precision_recall_f1(Counts(self.tp, self.fp, self.fn))

    @property
    def precision(self) -> np.ndarray:
        """``TP / (TP + FP)`` at each threshold; 0 where nothing is kept."""
        return self._prf[0]

    @property
    def recall(self) -> np.ndarray:
        """``TP / (TP + FN)`` at each threshold; 0 with no ground truth."""
        return self._prf[1]

    @property
    def f1(self) -> np.ndarray:
        """``2 TP / (2 TP + FP + FN)`` at each threshold."""
        return self._prf[2]

    @property
    def num_thresholds(self) -> int:
        return len(self.thresholds)

    @property
    def coverage(self) -> np.ndarray:
        """For a multiclass ``Classification`` task, the share of images
        answered automatically (confidence ``>= t``) at each threshold; the
        rest is escalated. For other tasks, the share of predictions kept.
        """
        total = (
            self.records.num_gts
            if self.config.task == "multiclass"
            else self.records.num_preds
        )
        kept = (self.tp + self.fp).astype(np.float64)
        return kept / total if total else np.zeros_like(kept)

    @property
    def accuracy(self) -> np.ndarray:
        """For a multiclass ``Classification`` task, the accuracy of the
        automatic answers at each threshold (the precision)."""
        return self.precision

    @property
    def classes(self) -> list[str]:
        return list(self.records.classes)

    @cached_property
    def _choice(self) -> Choice:
        class_counts = (
            list(self._macro_class_counts().values())
            if self.objective.average == "macro"
            else None
        )
        return choose(
            self.objective,
            Counts(self.tp, self.fp, self.fn),
            class_counts,
            thresholds=self.thresholds,
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
        class_counts = (
            list(self._macro_class_counts().values())
            if self.objective.average == "macro"
            else None
        )
        return objective_curve(
            self.objective, Counts(self.tp, self.fp, self.fn), class_counts
        )

    def with_objective(self, objective: str | Objective | None = None, **kwargs: Any) -> "OptimalConfidenceResult":
        """The same curves with the best threshold chosen by another
        objective; no matching runs again.

        Args:
            objective (None): an objective name or an
                :class:`~optimal_confidence.objectives.Objective`; ``None``
                keeps the current one
            **kwargs: fields of the objective to change (``beta``,
                ``target``, ``fp_cost``, ``fn_cost``, ``average``,
                ``per_class``, ``min_support``)

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
                base = {
                    k: base[k] for k in ("average", "per_class", "min_support")
                }
                base["name"] = objective
            new = Objective(**{**base, **kwargs})
        _check_objective(new, self.config.classwise)
        result = dataclasses.replace(self, objective=new, uncertainty=None)
        result.best_index  # noqa: B018 - an unattainable target fails here
        return result

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

    def review_band(
        self,
        precision: float | None = None,
        max_lost: float = 0.05,
        *,
        t_low: float | None = None,
        t_high: float | None = None,
        review_cost: float | None = None,
        fp_cost: float = 1.0,
        fn_cost: float = 1.0,
    ) -> ReviewBand:
        """A human-review band: predictions at or above ``t_high`` are
        accepted, below ``t_low`` dropped, in between reviewed.

        Give ``precision`` (and ``max_lost``) to find the band: ``t_high``
        is the lowest threshold whose accepted predictions reach
        ``precision``, ``t_low`` the highest threshold below it that drops
        at most ``max_lost`` of the true detections. Or give ``t_low`` and
        ``t_high`` to describe a band of your own. See
        :class:`~optimal_confidence.review.ReviewBand` for what is reported.

        Example::

            band = result.review_band(precision=0.95, max_lost=0.02, review_cost=0.1)
            print(band.summary())

        Raises:
            UnattainableTargetError: if no threshold reaches ``precision``
            ValueError: for ``classwise=False`` results, where reviewing one
                prediction can change the matches of others
        """
        if not self.config.classwise:
            raise ValueError(
                "A review band needs a classwise result (classwise=True): "
                "with cross-label matches, removing a reviewed prediction "
                "can change other predictions' matches"
            )
        costs = dict(review_cost=review_cost, fp_cost=fp_cost, fn_cost=fn_cost)
        if t_low is not None or t_high is not None:
            if t_low is None or t_high is None or precision is not None:
                raise ValueError(
                    "Give either precision (and max_lost) to find a band, or "
                    "both t_low and t_high to describe one"
                )
            return review_band(
                self.records,
                _check_number("t_low", t_low),
                _check_number("t_high", t_high),
                **costs,
            )
        if precision is None:
            raise ValueError(
                "Give the precision the accepted predictions must reach, for "
                "example precision=0.95, or both t_low and t_high"
            )
        return find_review_band(
            self.records,
            self.thresholds,
            precision=_check_number("precision", precision),
            max_lost=_check_number("max_lost", max_lost),
            **costs,
        )

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
        if o.name == "cost":
            score = o.fp_cost * int(c.fp[0]) + o.fn_cost * int(c.fn[0])
        else:
            class_counts = (
                [
                    count_at(self.records.restrict_to_class(k), t)
                    for k in _present_classes(self.records)
                ]
                if o.average == "macro"
                else None
            )
            m = _metrics(c, class_counts, o)
            key = {"precision": "recall", "recall": "precision", "accuracy": "precision"}
            score = m[key.get(o.name, "fbeta")][0]
        return {"score": float(score), **_point(c)}

    def check_on(self, samples: foc.SampleCollection) -> HeldOutCheck:
        """Checks the chosen threshold on other images: sweeps ``samples``
        (for example a held-out split, ``dataset.match_tags("val")``) with
        the same fields, matching and objective, and reports the objective
        at :attr:`best_threshold` there next to its value here.

        For a precision or recall target the score compared is the metric
        the objective maximizes (recall or precision) at the threshold.
        """
        c = self.config
        other = compute_optimal_confidence(
            samples,
            c.pred_field,
            c.gt_field,
            iou=c.iou,
            classwise=c.classwise,
            positive_label=c.positive_label,
            use_masks=c.use_masks,
            use_boxes=c.use_boxes,
            iscrowd=c.iscrowd,
            progress=False,
        )
        other = dataclasses.replace(
            other, objective=dataclasses.replace(self.objective, per_class=False)
        )
        try:
            other_best = (other.best_threshold, other.best_score)
        except UnattainableTargetError:
            other_best = (float("nan"), float("nan"))
        t = self.best_threshold
        tuned = self.point(t)
        held = other.point(t)
        if self.objective.minimize:
            optimism = held["score"] / max(other.config.num_samples, 1) - tuned[
                "score"
            ] / max(c.num_samples, 1)
        else:
            optimism = tuned["score"] - held["score"]
        return HeldOutCheck(
            threshold=t,
            objective=self.objective.label,
            tuned=tuned,
            held_out=held,
            held_out_best_threshold=float(other_best[0]),
            held_out_best_score=float(other_best[1]),
            optimism=float(optimism),
        )

    def near_best(self, tolerance: float = 0.01) -> tuple[float, float]:
        """The lowest and highest thresholds whose objective is within
        ``tolerance`` of the best (for costs: at most ``tolerance`` above
        the lowest). A wide range means the choice matters little there.
        """
        score = self.score
        best = self.best_score
        ok = (
            score <= best + tolerance
            if self.objective.minimize
            else score >= best - tolerance
        )
        ok &= ~np.isnan(score)
        t = self.thresholds[ok]
        return (float(t.min()), float(t.max()))

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

    def _macro_class_counts(self) -> dict[str, Counts]:
        """Per-class counts of the classes a macro average runs over: those
        with ground truth or a prediction with a confidence."""
        r = self.records
        scored = ~np.isnan(r.pred_conf)
        present = set(r.gt_class.tolist()) | set(r.pred_class[scored].tolist())
        counts = self.class_counts()
        return {
            label: counts[label]
            for i, label in enumerate(r.classes)
            if i in present
        }

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
        own = dataclasses.replace(self.objective, per_class=False, average="micro")
        c = self.config
        out = {}
        for i, label in enumerate(self.records.classes):
            rec = self.records.restrict_to_class(label)
            support = rec.num_gts
            reason = ""
            if support < self.objective.min_support:
                reason = (
                    f"{support} ground truth objects < min_support "
                    f"{self.objective.min_support}"
                )
            elif c.num_thresholds is None:
                ts = exact_thresholds(rec.pred_conf, c.lower_bound, c.upper_bound)
            else:
                ts = self.thresholds
            if not reason and ts.size == 0:
                reason = "no prediction within the threshold bounds"
            if not reason:
                counts = count_at(rec, ts)
                try:
                    ch = choose(own, counts, thresholds=ts)
                except UnattainableTargetError as e:
                    reason = str(e).split(". ")[0]
                else:
                    out[label] = ClassChoice(
                        label, float(ts[ch.index]), support, ch.score, True
                    )
                    continue
            t = self.best_threshold
            score = objective_curve(own, count_at(rec, np.array([t])))[0]
            out[label] = ClassChoice(label, t, support, float(score), False, reason)
        return out

    @property
    def class_thresholds(self) -> dict[str, float]:
        """``{label: threshold}`` for deployment code: the per-class
        thresholds with ``per_class``, else every class at the best
        threshold."""
        if self.objective.per_class:
            return {k: v.threshold for k, v in self.class_choices.items()}
        return {label: self.best_threshold for label in self.records.classes}

    def operating_counts(self) -> Counts:
        """TP, FP and FN (arrays of one element) where every prediction is
        kept at its class's threshold (:attr:`class_thresholds`; a
        prediction without a label at the best threshold).

        With ``classwise=True`` classes never compete for an object, so
        these are exactly the counts of evaluating the per-class view.
        """
        r = self.records
        by_class = self.class_thresholds
        t = np.array(
            [by_class[label] for label in r.classes] + [self.best_threshold]
        )
        # class -1 (no label) takes the last entry: the best threshold
        pred_t = t[r.pred_class]
        gt_t = t[r.gt_class]
        kept = r.pred_conf >= pred_t  # NaN is never kept
        tp = int((kept & r.pred_tp).sum())
        fp = int(kept.sum()) - tp
        found = int((r.gt_conf >= gt_t).sum())
        return Counts(
            np.array([tp]), np.array([fp]), np.array([r.num_gts - found])
        )

    def counts_at(self, thresholds: float | np.ndarray) -> Counts:
        """Exact counts at any thresholds, not only the swept ones."""
        return count_at(self.records, np.atleast_1d(thresholds))

    def view(
        self, samples: foc.SampleCollection, threshold: float | None = None
    ) -> foc.SampleCollection:
        """The view of ``samples`` with the predictions kept at a threshold.

        Predictions with ``confidence >= threshold`` stay; the others (and
        predictions without a confidence) are filtered out of the view, not
        deleted. Samples left without predictions stay in the view
        (``only_matches=False``), so evaluating the view counts their ground
        truth as false negatives, exactly as :meth:`counts_at` does::

            view = samples.filter_labels(
                pred_field, F("confidence") >= threshold, only_matches=False
            )

        Args:
            samples: the dataset or view to filter, usually the one the
                result was computed on (``dataset.load_run_view(run_key)``)
            threshold (None): the threshold; ``None`` keeps the predictions
                the result deploys: those at :attr:`best_threshold`, or with
                a per-class objective each class at its own threshold
                (:attr:`class_thresholds`; labels outside them at the best
                threshold)

        Returns:
            a :class:`fiftyone.core.view.DatasetView`

        Raises:
            ValueError: if ``samples`` is not a FiftyOne collection with the
                predictions field, or ``threshold`` is not a finite number
        """
        from fiftyone import ViewField as F

        if not isinstance(samples, foc.SampleCollection):
            raise ValueError(
                f"samples must be a FiftyOne dataset or view; got "
                f"{type(samples).__name__}"
            )
        pred_field = self.config.pred_field
        if samples.get_field(pred_field) is None:
            raise ValueError(
                f"'{samples._dataset.name}' has no field '{pred_field}', the "
                f"predictions field of this result"
            )
        if threshold is not None:
            t = _check_number("threshold", threshold)
            keep = F("confidence") >= t
        elif self.objective.per_class:
            by_class = self.class_thresholds
            keep = ~F("label").is_in(list(by_class)) & (
                F("confidence") >= self.best_threshold
            )
            for label, t in by_class.items():
                keep = keep | ((F("label") == label) & (F("confidence") >= t))
        else:
            keep = F("confidence") >= self.best_threshold
        return samples.filter_labels(pred_field, keep, only_matches=False)

    def class_counts(self) -> dict[str, Counts]:
        """Per-class counts at :attr:`thresholds`.

        A prediction counts for its own label and a ground truth object for
        its own; with ``classwise=False`` a match across labels is a false
        positive of the prediction's class and a false negative of the
        object's class. The per-class counts add up to :attr:`tp`,
        :attr:`fp` and :attr:`fn`.

        Returns:
            a dict mapping each class to its :class:`Counts`
        """
        return {
            label: count_at(self.records.restrict_to_class(label), self.thresholds)
            for label in self.records.classes
        }

    def metrics(self) -> dict[str, Any]:
        """The best point as a dict of plain numbers.

        With per-class thresholds, ``class_thresholds`` holds them and
        ``operating_point`` the totals where each class is kept at its own
        threshold.
        """
        out = {
            "best_threshold": self.best_threshold,
            "best_f1": self.best_f1,
            "precision": self.best_precision,
            "recall": self.best_recall,
            "tp": self.best_tp,
            "fp": self.best_fp,
            "fn": self.best_fn,
            "num_thresholds": self.num_thresholds,
            "run_key": self.run_key,
            "objective": self.objective.label,
            "score": self.best_score,
        }
        if self.uncertainty is not None:
            u = self.uncertainty
            out["threshold_ci"] = list(u.threshold_ci)
            out["score_ci"] = list(u.score_ci)
            out["ci_level"] = u.level
        if self.objective.per_class:
            out["class_thresholds"] = self.class_thresholds
            out["operating_point"] = _point(self.operating_counts())
        return out

    def report(self, num_rows: int = 5) -> str:
        """A readable summary: the best point and a table around it.

        Args:
            num_rows (5): how many thresholds to show on each side of the
                best one
        """
        c = self.config
        lo = max(0, self.best_index - num_rows)
        hi = min(self.num_thresholds, self.best_index + num_rows + 1)
        d = _decimals(self.thresholds[lo:hi])
        mode = (
            "exact" if c.num_thresholds is None else f"{c.num_thresholds}-point grid"
        )
        o = self.objective
        by = "" if o.name == "f1" and o.average == "micro" else (
            f" by {o.label} = {self.best_score:.4g}"
        )
        lines = [
            f"Best threshold {self.best_threshold:.{d}f}{by} for "
            f"'{c.pred_field}' against '{c.gt_field}' (IoU {c.iou:g}, "
            f"{'classwise' if c.classwise else 'any class'}, "
            f"{c.num_samples} samples, {self.num_thresholds} thresholds, "
            f"{mode}):",
            f"  F1 {self.best_f1:.4f}  precision {self.best_precision:.4f}  "
            f"recall {self.best_recall:.4f}  "
            f"TP {self.best_tp}  FP {self.best_fp}  FN {self.best_fn}",
            "",
            f"  {'threshold':>10} {'precision':>9} {'recall':>7} {'F1':>7} "
            f"{'TP':>7} {'FP':>7} {'FN':>7}",
        ]
        for i in range(lo, hi):
            mark = "*" if i == self.best_index else " "
            lines.append(
                f"{mark} {self.thresholds[i]:>10.{d}f} {self.precision[i]:>9.4f} "
                f"{self.recall[i]:>7.4f} {self.f1[i]:>7.4f} {self.tp[i]:>7d} "
                f"{self.fp[i]:>7d} {self.fn[i]:>7d}"
            )
        if o.per_class:
            lines += ["", self.class_report()]
        if self.uncertainty is not None:
            lines += ["", self.interval_summary()]
        return "\n".join(lines)

    def interval_summary(self) -> str | None:
        """The bootstrap intervals in one sentence, or None without them."""
        u = self.uncertainty
        if u is None:
            return None

        def pair(values, fmt):
            lo, hi = values
            if not (np.isfinite(lo) and np.isfinite(hi)):
                return "undefined"
            return f"[{lo:{fmt}}, {hi:{fmt}}]"

        text = (
            f"{u.level:.0%} bootstrap intervals ({u.n_bootstrap} resamples of "
            f"the images): threshold {pair(u.threshold_ci, '.4g')}, "
            f"{self.objective.label} at {self.best_threshold:.4g}: "
            f"{pair(u.score_ci, '.4f')}"
        )
        if u.unattainable:
            text += f" (target unattainable in {u.unattainable:.1%} of resamples)"
        return text

    def class_report(self) -> str:
        """The per-class thresholds as a table, and the totals where each
        class is kept at its own threshold."""
        choices = self.class_choices
        if not choices:
            return "No per-class thresholds (objective.per_class is False)"
        d = _decimals(np.array([ch.threshold for ch in choices.values()]))
        width = max(8, *(len(k) for k in choices))
        lines = [
            f"Per-class thresholds by {self.objective.label}:",
            f"  {'class':<{width}} {'threshold':>10} {'support':>8} "
            f"{'score':>7}  note",
        ]
        for ch in choices.values():
            note = "" if ch.own else f"global threshold: {ch.reason}"
            score = "-" if np.isnan(ch.score) else f"{ch.score:.4g}"
            lines.append(
                f"  {ch.label:<{width}} {ch.threshold:>10.{d}f} "
                f"{ch.support:>8d} {score:>7}  {note}".rstrip()
            )
        c = self.operating_counts()
        p, r, f1 = (float(x[0]) for x in precision_recall_f1(c))
        lines.append(
            f"  all classes at their thresholds: F1 {f1:.4f}  precision "
            f"{p:.4f}  recall {r:.4f}  TP {int(c.tp[0])}  FP {int(c.fp[0])}  "
            f"FN {int(c.fn[0])}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (plain lists and Python numbers)."""
        return {
            "format_version": _FORMAT_VERSION,
            "config": self.config.to_dict(),
            "thresholds": [float(t) for t in self.thresholds],
            "tp": self.tp.tolist(),
            "fp": self.fp.tolist(),
            "fn": self.fn.tolist(),
            "records": self.records.to_dict(),
            "run_key": self.run_key,
            "objective": self.objective.to_dict(),
            "uncertainty": (
                None if self.uncertainty is None else self.uncertainty.to_dict()
            ),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "OptimalConfidenceResult":
        version = d.get("format_version")
        if version != _FORMAT_VERSION:
            raise ValueError(
                f"Unsupported result format version {version!r}; this "
                f"version of optimal_confidence reads version {_FORMAT_VERSION}"
            )
        return cls(
            config=SweepConfig.from_dict(d["config"]),
            thresholds=np.asarray(d["thresholds"], dtype=np.float64),
            tp=np.asarray(d["tp"], dtype=np.int64),
            fp=np.asarray(d["fp"], dtype=np.int64),
            fn=np.asarray(d["fn"], dtype=np.int64),
            records=MatchRecords.from_dict(d["records"]),
            run_key=d.get("run_key"),
            objective=Objective.from_dict(d.get("objective")),
            uncertainty=(
                BootstrapSummary.from_dict(d["uncertainty"])
                if d.get("uncertainty")
                else None
            ),
        )

    def __repr__(self) -> str:
        return (
            f"<OptimalConfidenceResult {self.config.pred_field!r} vs "
            f"{self.config.gt_field!r}: best threshold {self.best_threshold:.4g}, "
            f"F1 {self.best_f1:.4f}, {self.num_thresholds} thresholds>"
        )


# ---------------------------------------------------------------------------
# Validation


def _decimals(values: np.ndarray, least: int = 3, most: int = 10) -> int:
    """The fewest decimals (at least ``least``) that tell ``values`` apart."""
    for d in range(least, most):
        if len(np.unique(np.round(values, d))) == len(np.unique(values)):
            return d
    return most


def _field_label_type(samples: foc.SampleCollection, field: str, role: str) -> type:
    """The label type of ``field``, or a ValueError that says what to pass."""
    if not isinstance(field, str) or not field:
        raise ValueError(f"{role} must be a field name; got {field!r}")

    if samples.get_field(field) is None:
        hint = ""
        if (
            samples.media_type == fo.core.media.VIDEO
            and not field.startswith("frames.")
            and samples.get_field(f"frames.{field}") is not None
        ):
            hint = f" For a frame-level field, pass 'frames.{field}'."
        candidates = _label_fields(samples)
        raise ValueError(
            f"{role} '{field}' does not exist on dataset "
            f"'{samples._dataset.name}'.{hint} Fields with Detections, "
            f"Polylines or Classification: {candidates or 'none'}"
        )

    try:
        label_type = samples._get_label_field_type(field)
    except Exception:
        label_type = None

    if label_type is None or not issubclass(label_type, SUPPORTED_LABEL_TYPES):
        found = label_type.__name__ if label_type else type(samples.get_field(field)).__name__
        raise ValueError(
            f"{role} '{field}' holds {found}; optimal_confidence needs a "
            f"Detections, Polylines or Classification field. Fields that "
            f"qualify: "
            f"{_label_fields(samples) or 'none'}"
        )

    return label_type


def _label_fields(samples: foc.SampleCollection) -> list[str]:
    """The sample and frame fields holding a supported label type."""
    fields = list(
        samples.get_field_schema(embedded_doc_type=SUPPORTED_LABEL_TYPES)
    )
    if samples._has_frame_fields():
        fields += [
            f"frames.{f}"
            for f in samples.get_frame_field_schema(
                embedded_doc_type=SUPPORTED_LABEL_TYPES
            )
        ]
    return sorted(fields)


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def _check_run_key(samples: foc.SampleCollection, run_key: str, overwrite: bool) -> None:
    if not isinstance(run_key, str) or not run_key.isidentifier():
        raise ValueError(
            f"Invalid run key {run_key!r}: a run key must be a valid Python "
            f"identifier, for example 'optimal_confidence'"
        )
    if run_key in samples.list_runs() and not overwrite:
        raise ValueError(
            f"Dataset '{samples._dataset.name}' already has a run "
            f"'{run_key}'. Choose another run key (for example "
            f"'{suggest_run_key(samples)}') or pass overwrite=True to "
            f"replace it"
        )


def suggest_run_key(samples: foc.SampleCollection, base: str = RUN_METHOD) -> str:
    """The first free run key among ``base``, ``base_2``, ``base_3``, ..."""
    existing = set(samples.list_runs())
    if base not in existing:
        return base
    i = 2
    while f"{base}_{i}" in existing:
        i += 1
    return f"{base}_{i}"


# ---------------------------------------------------------------------------
# The entry point


def compute_optimal_confidence(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str = "ground_truth",
    *,
    iou: float | None = None,
    classwise: bool | None = None,
    engine: str = "auto",
    eval_key: str | None = None,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    num_thresholds: int | None = None,
    run_key: str | None = None,
    overwrite: bool = False,
    objective: str = "f1",
    beta: float = 1.0,
    target: float | None = None,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
    average: str = "micro",
    per_class: bool = False,
    min_support: int = 1,
    n_bootstrap: int | None = None,
    seed: int | None = None,
    ci_level: float = 0.95,
    positive_label: str | None = None,
    use_masks: bool = False,
    use_boxes: bool = False,
    iscrowd: str = "iscrowd",
    progress: bool | Callable | None = None,
) -> OptimalConfidenceResult:
    """Sweeps the confidence threshold of ``pred_field`` against
    ``gt_field`` and finds the best threshold: by default the one with the
    best F1, or by another ``objective``.

    The counts at threshold ``t`` are exactly those of the
    filter-and-evaluate definition::

        view = samples.filter_labels(
            pred_field, F("confidence") >= t, only_matches=False
        )
        view.evaluate_detections(
            pred_field, gt_field=gt_field, iou=iou, classwise=classwise,
            eval_key="tmp",
        )
        # TP, FP, FN = the sums of tmp_tp, tmp_fp, tmp_fn

    but they come from one matching pass for every threshold at once. A
    prediction is kept when its confidence is ``>= t``: equal confidences
    are kept or dropped together, and a prediction without a confidence is
    never kept. A crowd object (``iscrowd``) can absorb several predictions,
    each a true positive; it is one false negative when none of them is
    kept. Images left without predictions still count their ground truth as
    false negatives.

    Nothing is written to ``samples`` except, when ``run_key`` is given, a
    custom run holding the result.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` (a
            dataset or a view; only its samples are swept)
        pred_field: the ``Detections`` or ``Polylines`` field of predictions
            (``frames.<field>`` for video frames)
        gt_field ("ground_truth"): the ground truth field, of the same type
        iou (None): the IoU a prediction needs to match, in ``(0, 1]``;
            None means 0.5, or the IoU of ``eval_key``
        classwise (None): whether only objects of the same label can match;
            None means True, or the setting of ``eval_key``
        engine ("auto"): how predictions are matched: ``"fast"``, a numpy
            matcher that reproduces FiftyOne's COCO matching of boxes exactly
            from ``values()`` reads; ``"fiftyone"``, one
            ``evaluate_detections`` pass; ``"auto"``, the fast matcher where
            it applies (box ``Detections``) and ``evaluate_detections`` for
            masks, polylines and anything else
        eval_key (None): reuse this detection evaluation, which you already
            ran on the dataset (``evaluate_detections(..., eval_key=...)``):
            each prediction's ``<eval_key>`` and ``<eval_key>_id`` are read
            and nothing is matched again. It must have evaluated
            ``pred_field`` against ``gt_field`` over every prediction in
            ``samples``; ``iou`` and ``classwise``, if given, must agree
            with it
        lower_bound (None): the smallest threshold; defaults to the smallest
            confidence in ``samples``
        upper_bound (None): the largest threshold; defaults to the largest
            confidence in ``samples``
        num_thresholds (None): ``None`` sweeps every distinct confidence
            within the bounds (exact); an integer ``n`` sweeps ``n`` evenly
            spaced thresholds from ``lower_bound`` to ``upper_bound``
        run_key (None): a run key to store the result under on the dataset
        overwrite (False): whether to replace an existing run ``run_key``
        objective ("f1"): what "best" means: ``"f1"``, ``"fbeta"`` (with
            ``beta``), ``"precision"`` (the highest recall among thresholds
            with precision >= ``target``), ``"recall"`` (the highest
            precision among thresholds with recall >= ``target``) or
            ``"cost"`` (the lowest ``fp_cost * FP + fn_cost * FN``); see
            :mod:`optimal_confidence.objectives` for the tie rules
        beta (1.0): the beta of ``"fbeta"``
        target (None): the precision or recall to reach, in ``(0, 1]``
        fp_cost (1.0): the cost of a false positive, for ``"cost"``
        fn_cost (1.0): the cost of a false negative, for ``"cost"``
        average ("micro"): ``"micro"`` pools all classes; ``"macro"``
            averages the per-class metric at each threshold
        per_class (False): whether to also choose a threshold per class (by
            the same objective; needs ``classwise=True``), see
            :attr:`OptimalConfidenceResult.class_thresholds`
        min_support (1): with ``per_class``, classes with fewer ground truth
            objects keep the global threshold
        n_bootstrap (None): the number of bootstrap resamples of the images
            for :attr:`OptimalConfidenceResult.threshold_ci` and
            :attr:`OptimalConfidenceResult.score_ci`; None for none
        seed (None): the bootstrap's random seed
        ci_level (0.95): the confidence level of the bootstrap intervals
        positive_label (None): for ``Classification`` fields, the positive
            class of a binary task (P/R/F1 of "positive" against the
            threshold, with FiftyOne's binary convention); without it a
            ``Classification`` field is a multiclass task where answers
            below the threshold are escalated (see
            :mod:`optimal_confidence.classification`)
        use_masks (False): whether to compute IoUs of ``Detections`` from
            their instance masks
        use_boxes (False): whether to compute IoUs of ``Polylines`` from
            their bounding boxes
        iscrowd ("iscrowd"): the name of the crowd attribute of ground truth
            objects
        progress (None): whether to show a progress bar (True/False/None for
            FiftyOne's default), or a callable that receives FiftyOne's
            progress bar

    Returns:
        an :class:`OptimalConfidenceResult`

    Raises:
        UnattainableTargetError: (a ``ValueError``) if no threshold reaches
            the ``target``; its message gives the best attainable value and
            where, and its ``result`` attribute holds the curves chosen by
            F1. Nothing is stored
        ValueError: if an argument is invalid or ``samples`` has nothing to
            sweep; the dataset is left untouched
    """
    if not isinstance(samples, foc.SampleCollection):
        raise ValueError(
            f"samples must be a FiftyOne dataset or view; got "
            f"{type(samples).__name__}"
        )
    pred_type = _field_label_type(samples, pred_field, "pred_field")
    gt_type = _field_label_type(samples, gt_field, "gt_field")
    if pred_field == gt_field:
        raise ValueError(
            f"pred_field and gt_field are both '{pred_field}'; pass the "
            f"field of model predictions and the field of ground truth"
        )
    if pred_type is not gt_type:
        raise ValueError(
            f"pred_field '{pred_field}' holds {pred_type.__name__} but "
            f"gt_field '{gt_field}' holds {gt_type.__name__}; both must be "
            f"the same label type"
        )
    if samples._is_frame_field(pred_field) != samples._is_frame_field(gt_field):
        raise ValueError(
            f"pred_field '{pred_field}' and gt_field '{gt_field}' must both "
            f"be sample-level or both frame-level fields"
        )

    objective_ = Objective(
        name=objective,
        beta=beta,
        target=target,
        fp_cost=fp_cost,
        fn_cost=fn_cost,
        average=average,
        per_class=bool(per_class),
        min_support=min_support,
    )
    if n_bootstrap is not None and (
        isinstance(n_bootstrap, bool)
        or not isinstance(n_bootstrap, (int, np.integer))
        or n_bootstrap < 1
    ):
        raise ValueError(
            f"n_bootstrap must be an integer >= 1, or None; got {n_bootstrap!r}"
        )
    if not (isinstance(ci_level, (int, float)) and 0 < ci_level < 1):
        raise ValueError(f"ci_level must be in (0, 1), e.g. 0.95; got {ci_level!r}")

    if engine not in ("auto", "fast", "fiftyone"):
        raise ValueError(
            f"engine must be 'auto', 'fast' or 'fiftyone'; got {engine!r}"
        )
    if eval_key is not None and (
        not isinstance(eval_key, str) or eval_key not in samples.list_evaluations()
    ):
        raise ValueError(
            f"Dataset '{samples._dataset.name}' has no evaluation "
            f"{eval_key!r}. Evaluations: {samples.list_evaluations() or 'none'}"
        )
    if eval_key is not None and not issubclass(pred_type, fo.Detections):
        raise ValueError("eval_key reuse works for Detections fields")
    if eval_key is not None:
        cfg = samples.get_evaluation_info(eval_key).config
        iou = float(cfg.iou) if iou is None and hasattr(cfg, "iou") else iou
        if classwise is None and hasattr(cfg, "classwise"):
            classwise = bool(cfg.classwise)
    iou = 0.5 if iou is None else iou
    classwise = True if classwise is None else classwise
    _check_objective(objective_, classwise)

    iou = _check_number("iou", iou)
    if not 0 < iou <= 1:
        raise ValueError(f"iou must be in (0, 1]; got {iou}")
    if lower_bound is not None:
        lower_bound = _check_number("lower_bound", lower_bound)
    if upper_bound is not None:
        upper_bound = _check_number("upper_bound", upper_bound)
    if (
        lower_bound is not None
        and upper_bound is not None
        and not lower_bound < upper_bound
    ):
        raise ValueError(
            f"lower_bound ({lower_bound}) must be below upper_bound "
            f"({upper_bound})"
        )
    if num_thresholds is not None:
        if isinstance(num_thresholds, bool) or not isinstance(
            num_thresholds, (int, np.integer)
        ):
            raise ValueError(
                f"num_thresholds must be an integer or None (exact); got "
                f"{num_thresholds!r}"
            )
        if num_thresholds < 1:
            raise ValueError(
                f"num_thresholds must be at least 1, or None for the exact "
                f"sweep; got {num_thresholds}"
            )
        num_thresholds = int(num_thresholds)
    if run_key is not None:
        _check_run_key(samples, run_key, overwrite)

    num_samples = len(samples)
    if num_samples == 0:
        raise ValueError(
            "The view is empty: there are no samples to sweep. Pick a view "
            "or dataset with samples"
        )

    is_classification = issubclass(pred_type, fo.Classification)
    if positive_label is not None and not is_classification:
        raise ValueError(
            "positive_label applies to Classification fields; "
            f"'{pred_field}' holds {pred_type.__name__}"
        )
    if is_classification:
        records = records_from_classifications(
            samples, pred_field, gt_field, positive_label=positive_label
        )
        _check_classification_data(
            samples, records, pred_field, gt_field, positive_label
        )
        conf = records.pred_conf[~np.isnan(records.pred_conf)]
        method = "classification"
    else:
        records = None
        if eval_key is None and engine != "fiftyone":
            try:
                records = records_fast(
                    samples,
                    pred_field,
                    gt_field,
                    iou=iou,
                    classwise=classwise,
                    iscrowd=iscrowd,
                    use_masks=use_masks,
                    use_boxes=use_boxes,
                    progress=_batch_progress(progress),
                )
                method = "fast"
            except UnsupportedMatchingError as e:
                if engine == "fast":
                    raise ValueError(
                        f"engine='fast' does not cover this field: {e}. Use "
                        f"engine='auto' or 'fiftyone'"
                    ) from None
        if records is None:
            preds = read_label_values(samples, pred_field)
            gts = read_label_values(samples, gt_field, confidences=False)
            _check_data(preds.confidences, len(gts), pred_field, gt_field)
            method = "evaluate_detections"
        else:
            _check_data(records.pred_conf, records.num_gts, pred_field, gt_field)
        conf_all = preds.confidences if records is None else records.pred_conf
        conf = conf_all[~np.isnan(conf_all)]
    data_lo, data_hi = float(conf.min()), float(conf.max())
    lo = data_lo if lower_bound is None else lower_bound
    hi = data_hi if upper_bound is None else upper_bound
    if lo > hi:
        raise ValueError(
            f"lower_bound ({lo}) is above the largest confidence ({data_hi}); "
            f"confidences in this view range over [{data_lo}, {data_hi}]"
        )

    if num_thresholds is None:
        thresholds = exact_thresholds(conf, lo, hi)
        if thresholds.size == 0:
            raise ValueError(
                f"No prediction confidence lies within [{lo}, {hi}]; "
                f"confidences in this view range over [{data_lo}, {data_hi}]. "
                f"Widen the bounds or pass num_thresholds for an even grid"
            )
    else:
        thresholds = grid_thresholds(lo, hi, num_thresholds)

    if eval_key is not None:
        records, used = records_from_eval_key(
            samples,
            pred_field,
            gt_field,
            eval_key,
            preds=preds,
            gts=gts,
            iou=iou,
            classwise=classwise,
        )
        use_masks = used.get("use_masks", use_masks)
        use_boxes = used.get("use_boxes", use_boxes)
        iscrowd = used["iscrowd"]
        method = f"eval_key:{eval_key}"
        logger.info(
            "Reused evaluation '%s' (iou %g, classwise %s): no matching ran",
            eval_key,
            used["iou"],
            used["classwise"],
        )
    elif not is_classification and method == "evaluate_detections":
        _warn_zero_confidence_order(conf)
        records = records_from_evaluation(
            samples,
            pred_field,
            gt_field,
            preds=preds,
            gts=gts,
            iou=iou,
            classwise=classwise,
            use_masks=use_masks,
            use_boxes=use_boxes,
            iscrowd=iscrowd,
            progress=progress,
        )
    if method == "fast":
        _warn_zero_confidence_order(conf)
    counts = count_at(records, thresholds)

    config = SweepConfig(
        pred_field=pred_field,
        gt_field=gt_field,
        iou=iou,
        classwise=bool(classwise),
        lower_bound=float(lo),
        upper_bound=float(hi),
        num_thresholds=num_thresholds,
        num_samples=num_samples,
        label_type=pred_type.__name__,
        use_masks=bool(use_masks),
        use_boxes=bool(use_boxes),
        iscrowd=iscrowd,
        method=method,
        positive_label=positive_label,
    )
    result = OptimalConfidenceResult(
        config=config,
        thresholds=thresholds,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        records=records,
        run_key=run_key,
        objective=objective_,
    )
    try:
        result.best_index  # noqa: B018 - choose now, before anything is stored
        result.class_choices  # noqa: B018
    except UnattainableTargetError as e:
        e.result = dataclasses.replace(result, objective=Objective())
        raise
    if n_bootstrap is not None:
        result = result.with_bootstrap(n_bootstrap, seed=seed, level=ci_level)

    if run_key is not None:
        _save_run(samples, run_key, result, overwrite=overwrite)

    return result


class _BatchProgress:
    """A stand-in for FiftyOne's progress bar, so that a ``progress``
    callable written for FiftyOne (including ``fo.report_progress``
    wrappers, which keep state on the bar) also follows the fast matcher's
    batches. One object lives through the whole pass."""

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self.iteration = 0
        self.total = None

    @property
    def has_total(self) -> bool:
        return self.total is not None

    @property
    def complete(self) -> bool:
        return self.total is not None and self.iteration >= self.total

    @property
    def progress(self) -> float:
        return self.iteration / self.total if self.total else 1.0

    @property
    def elapsed_time(self) -> float:
        return self._clock() - self._start


def _batch_progress(progress: Any) -> Callable[[int, int], None] | None:
    if not callable(progress):
        return None
    bar = _BatchProgress()

    def update(done: int, total: int) -> None:
        bar.iteration, bar.total = done, total
        progress(bar)

    return update


def _check_objective(objective: Objective, classwise: bool) -> None:
    if objective.per_class and not classwise:
        raise ValueError(
            "per_class thresholds need classwise=True: when objects of "
            "different labels can match, one class's threshold changes "
            "another class's matches"
        )


def _point(counts: Counts) -> dict[str, float]:
    """Precision, recall, F1 and the counts of one-element ``counts``, as
    plain numbers."""
    p, r, f1 = (float(x[0]) for x in precision_recall_f1(counts))
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "tp": int(counts.tp[0]),
        "fp": int(counts.fp[0]),
        "fn": int(counts.fn[0]),
    }


def _present_classes(records: MatchRecords) -> list[str]:
    scored = ~np.isnan(records.pred_conf)
    present = set(records.gt_class.tolist()) | set(records.pred_class[scored].tolist())
    return [c for i, c in enumerate(records.classes) if i in present]


def _check_classification_data(
    samples: foc.SampleCollection,
    records: MatchRecords,
    pred_field: str,
    gt_field: str,
    positive_label: str | None,
) -> None:
    if records.num_preds == 0:
        raise ValueError(
            f"No image in this view has a ground truth label in "
            f"'{gt_field}': nothing to judge the predictions against"
        )
    if np.isnan(records.pred_conf).all():
        raise ValueError(
            f"None of the predictions in '{pred_field}' has a confidence "
            f"(or a label); a threshold sweep needs prediction confidences"
        )
    if positive_label is not None:
        labels = set(samples.distinct(f"{gt_field}.label")) | set(
            samples.distinct(f"{pred_field}.label")
        )
        if positive_label not in labels:
            raise ValueError(
                f"positive_label '{positive_label}' is not a label of "
                f"'{gt_field}' or '{pred_field}'; labels are {sorted(labels)}"
            )


def _check_data(
    pred_conf: np.ndarray, num_gts: int, pred_field: str, gt_field: str
) -> None:
    if len(pred_conf) == 0:
        raise ValueError(
            f"There are no predictions in '{pred_field}' in this view: "
            f"nothing to sweep. Check the field name and the view"
        )
    if np.isnan(pred_conf).all():
        raise ValueError(
            f"None of the {len(pred_conf)} predictions in '{pred_field}' has a "
            f"confidence; a threshold sweep needs prediction confidences"
        )
    if num_gts == 0:
        raise ValueError(
            f"There are no ground truth objects in '{gt_field}' in this "
            f"view: precision, recall and F1 are undefined. Check the field "
            f"name and the view"
        )


def _warn_zero_confidence_order(conf: np.ndarray) -> None:
    # FiftyOne's matcher sorts by `confidence or -1`, so a confidence of
    # exactly 0 is visited as if it were -1. With confidences in [-1, 0) too,
    # filter-and-evaluate at thresholds <= 0 is then not a prefix of one
    # pass, and no single pass can match it there.
    if (conf == 0).any() and ((conf >= -1) & (conf < 0)).any():
        logger.warning(
            "Some predictions have confidence exactly 0 and others lie in "
            "[-1, 0): FiftyOne orders a confidence of 0 as if it were -1, so "
            "counts at thresholds <= 0 may differ from filter-and-evaluate. "
            "Counts at thresholds > 0 are exact"
        )


# ---------------------------------------------------------------------------
# Stored results


def _save_run(
    samples: foc.SampleCollection,
    run_key: str,
    result: OptimalConfidenceResult,
    *,
    overwrite: bool,
) -> None:
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
