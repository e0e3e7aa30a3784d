"""How far confidences are from probabilities, and a map that brings them
closer.

Pure numpy and scikit-learn: nothing here imports fiftyone, so the math is
tested on hand-made :class:`~optimal_confidence.curves.sweep.MatchRecords`.

-   :func:`calibration` bins the predictions by confidence and compares each
    bin's mean confidence with how often its predictions are right: a
    reliability diagram and its expected calibration error (ECE, over all
    predictions); given the operating threshold, also the
    localization-aware ECE of the predictions kept there (LaECE,
    :mod:`optimal_confidence.certainty.laece`).
-   :func:`fit_calibrator` fits a monotone map from confidence to the
    probability of being right (isotonic regression or Platt scaling);
    :meth:`Calibrator.predict` applies it.

A prediction is "right" when it is a true positive of the sweep's own
matching (``MatchRecords.pred_tp``): for detections, matched to a ground
truth object of its label; for a multiclass classifier, the right answer;
for a binary classifier, an image whose ground truth is positive.
Predictions without a confidence are left out.
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..curves.sweep import MatchRecords, floats_from_json, floats_to_json
from .laece import LAECE_BINS, LaECE, laece

__all__ = [
    "CALIBRATION_METHODS",
    "Calibration",
    "CalibrationMap",
    "Calibrator",
    "calibrated_records",
    "calibration",
    "fit_calibrator",
]

#: the methods :func:`fit_calibrator` accepts
CALIBRATION_METHODS = ("isotonic", "sigmoid")

#: format version of :meth:`Calibrator.to_dict`
FORMAT_VERSION = 1

# keeps the logit finite at confidences of exactly 0 or 1
_LOGIT_EPS = 1e-12


def _scored(records: MatchRecords) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The confidence, outcome and class index of every prediction with a
    confidence."""
    keep = ~np.isnan(records.pred_conf)
    return (
        records.pred_conf[keep],
        records.pred_tp[keep].astype(bool),
        records.pred_class[keep],
    )


def _check_unit_range(conf: np.ndarray) -> None:
    if conf.size and (conf.min() < 0 or conf.max() > 1):
        raise ValueError(
            f"calibration needs confidences in [0, 1]; these range from "
            f"{conf.min():g} to {conf.max():g}. Turn the scores into "
            f"probabilities first (a sigmoid or softmax of logits), or fit a "
            f"map to probabilities with fit_calibrator() and bin its output"
        )


def _check_num_bins(num_bins: Any) -> int:
    if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
        raise ValueError(f"num_bins must be an integer >= 1, e.g. 10; got {num_bins!r}")
    return int(num_bins)


@dataclass(frozen=True, eq=False)
class Calibration:
    """A reliability diagram: predictions binned by confidence.

    Attributes:
        bin_edges: ``float64`` array of shape ``(num_bins + 1,)``: equal-width
            edges from 0 to 1; bin ``b`` holds confidences in
            ``[bin_edges[b], bin_edges[b + 1])``, the last bin also 1.0
        count: ``int64`` array of shape ``(num_bins,)``: predictions per bin
        mean_confidence: ``float64`` array of shape ``(num_bins,)``: the mean
            confidence in each bin, ``NaN`` where the bin is empty
        precision: ``float64`` array of shape ``(num_bins,)``: the share of
            each bin's predictions that are right (true positives), ``NaN``
            where the bin is empty
        ece: the expected calibration error, ``sum_b (count_b / N) *
            |mean_confidence_b - precision_b|`` (the detection ECE of
            Küppers et al., 2020)
        per_class: the ECE of each class's predictions alone (same bins),
            for the classes with a scored prediction
        num_predictions: ``N``, the predictions with a confidence
        laece: the :class:`~optimal_confidence.certainty.laece.LaECE` of the
            predictions kept at the operating threshold, when
            :func:`calibration` was given one (and the records carry IoUs),
            else None
    """

    bin_edges: np.ndarray
    count: np.ndarray
    mean_confidence: np.ndarray
    precision: np.ndarray
    ece: float
    per_class: dict[str, float]
    num_predictions: int
    laece: LaECE | None = None

    @property
    def num_bins(self) -> int:
        return len(self.count)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``NaN`` becomes ``None``."""
        return {
            "bin_edges": [float(x) for x in self.bin_edges],
            "count": [int(x) for x in self.count],
            "mean_confidence": floats_to_json(self.mean_confidence),
            "precision": floats_to_json(self.precision),
            "ece": float(self.ece),
            "per_class": {str(k): float(v) for k, v in self.per_class.items()},
            "num_predictions": int(self.num_predictions),
            "laece": None if self.laece is None else self.laece.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Calibration":
        return cls(
            bin_edges=np.asarray(d["bin_edges"], dtype=np.float64),
            count=np.asarray(d["count"], dtype=np.int64),
            mean_confidence=floats_from_json(d["mean_confidence"]),
            precision=floats_from_json(d["precision"]),
            ece=float(d["ece"]),
            per_class={str(k): float(v) for k, v in d["per_class"].items()},
            num_predictions=int(d["num_predictions"]),
            laece=LaECE.from_dict(d["laece"]) if d.get("laece") else None,
        )

    def summary(self) -> str:
        """The diagram in one sentence: the ECE, whether the confidences are
        too high or too low on average, and the bin that adds the most to
        the ECE; then the LaECE at the threshold, when there is one."""
        full = self.count > 0
        gap = np.where(full, self.mean_confidence - self.precision, 0.0)
        mean_gap = float(np.sum(self.count * gap) / self.num_predictions)
        lean = "over-confident" if mean_gap > 0 else "under-confident"
        if abs(mean_gap) >= 5e-4:
            lean = f"{lean} on average by {abs(mean_gap):.3f}"
        else:
            lean = "unbiased on average"
        weight = self.count * np.abs(gap)
        # the bin that adds the most to the ECE; the fullest when none does
        b = int(np.argmax(weight if weight.max() > 0 else self.count))
        digits = max(1, math.ceil(math.log10(self.num_bins))) if self.num_bins > 1 else 1
        lo, hi = (f"{x:.{digits}f}" for x in self.bin_edges[b : b + 2])
        return (
            f"ECE {self.ece:.3f} over {self.num_predictions:,} predictions in "
            f"{self.num_bins} bins ({lean}); the largest gap: confidences {lo}-{hi} "
            f"(mean {self.mean_confidence[b]:.2f}) are right "
            f"{self.precision[b]:.0%} of the time ({self.count[b]:,} predictions)"
        ) + ("" if self.laece is None else f"; {self.laece.summary()}")


def _reliability(
    conf: np.ndarray, right: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-bin count, mean confidence and precision, and the ECE."""
    num_bins = len(edges) - 1
    b = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, num_bins - 1)
    count = np.bincount(b, minlength=num_bins).astype(np.int64)
    sum_conf = np.bincount(b, weights=conf, minlength=num_bins)
    sum_right = np.bincount(b, weights=right.astype(np.float64), minlength=num_bins)
    full = count > 0
    mean_conf = np.full(num_bins, np.nan)
    precision = np.full(num_bins, np.nan)
    mean_conf[full] = sum_conf[full] / count[full]
    precision[full] = sum_right[full] / count[full]
    n = max(int(count.sum()), 1)
    ece = float(np.sum(count[full] / n * np.abs(mean_conf[full] - precision[full])))
    return count, mean_conf, precision, ece


def calibration(
    records: MatchRecords,
    *,
    num_bins: int = 10,
    threshold: float | None = None,
    class_thresholds: Mapping[str, float] | None = None,
    iou: float | None = None,
) -> Calibration:
    """The reliability diagram and expected calibration error of the
    predictions' confidences.

    Every prediction with a confidence counts, as right when it is a true
    positive (``records.pred_tp``) and wrong otherwise. Bin ``b`` holds the
    confidences in ``[b / num_bins, (b + 1) / num_bins)``; the last bin also
    holds 1.0.

    With ``threshold``, the result also holds the LaECE of the predictions
    kept there (:func:`optimal_confidence.certainty.laece.laece`, 25 bins),
    when the records carry IoUs.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords` of a
            sweep
        num_bins (10): the number of equal-width bins on ``[0, 1]``
        threshold (None): the operating threshold, for the LaECE
        class_thresholds (None): the classes kept at thresholds of their own
        iou (None): the IoU the matching needed (None for a classifier)

    Returns:
        a :class:`Calibration`

    Raises:
        ValueError: if ``num_bins`` is not an integer >= 1, no prediction
            has a confidence, or a confidence is outside ``[0, 1]``
    """
    num_bins = _check_num_bins(num_bins)
    conf, right, cls = _scored(records)
    if conf.size == 0:
        raise ValueError(
            "There are no predictions with a confidence to calibrate; check "
            "that the prediction field has confidences"
        )
    _check_unit_range(conf)
    edges = np.arange(num_bins + 1, dtype=np.float64) / num_bins
    count, mean_conf, precision, ece = _reliability(conf, right, edges)
    per_class = {}
    for c in np.unique(cls[cls >= 0]):
        sel = cls == c
        per_class[records.classes[int(c)]] = _reliability(conf[sel], right[sel], edges)[3]
    at = None
    if threshold is not None and records.pred_iou is not None:
        at = laece(records, threshold, class_thresholds=class_thresholds, num_bins=LAECE_BINS, iou=iou)
    return Calibration(
        bin_edges=edges,
        count=count,
        mean_confidence=mean_conf,
        precision=precision,
        ece=ece,
        per_class=per_class,
        num_predictions=int(conf.size),
        laece=at,
    )


@dataclass(frozen=True, eq=False)
class CalibrationMap:
    """One fitted monotone map from confidence to probability (build it
    with :func:`fit_calibrator`; call it on an array of confidences).

    Attributes:
        method: ``"isotonic"`` or ``"sigmoid"``
        x: for isotonic, ``float64`` array of shape ``(k,)``: the ascending
            breakpoints of the fitted step-and-ramp function
            (``X_thresholds_`` of scikit-learn's ``IsotonicRegression``),
            interpolated linearly and held constant beyond the ends
        y: for isotonic, the map's values there (``y_thresholds_``)
        coef: for sigmoid, the map is ``1 / (1 + exp(-(coef * z +
            intercept)))``
        intercept: see ``coef``
        on: for sigmoid, ``z`` is the logit of the confidence (``"logit"``)
            or the confidence itself (``"score"``)
    """

    method: str
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    coef: float = 0.0
    intercept: float = 0.0
    on: str = "logit"

    def __call__(self, conf: Any) -> np.ndarray:
        conf = np.asarray(conf, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(conf, self.x, self.y)
        if self.on == "logit":
            if conf.size and (conf.min() < 0 or conf.max() > 1):
                raise ValueError(
                    f"This sigmoid calibrator was fit on confidences in [0, 1]; "
                    f"got values from {conf.min():g} to {conf.max():g}. Pass "
                    f"confidences on the scale the calibrator was fit on"
                )
            conf = _logit(conf)
        z = self.coef * conf + self.intercept
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, stably

    def to_dict(self) -> dict[str, Any]:
        if self.method == "isotonic":
            return {"method": "isotonic", "x": [float(v) for v in self.x],
                    "y": [float(v) for v in self.y]}
        return {"method": "sigmoid", "coef": float(self.coef),
                "intercept": float(self.intercept), "on": self.on}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CalibrationMap":
        if d["method"] == "isotonic":
            return cls("isotonic", x=np.asarray(d["x"], dtype=np.float64),
                       y=np.asarray(d["y"], dtype=np.float64))
        return cls("sigmoid", coef=float(d["coef"]),
                   intercept=float(d["intercept"]), on=str(d["on"]))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _LOGIT_EPS, 1 - _LOGIT_EPS)
    return np.log(p) - np.log1p(-p)


def _fit_map(conf: np.ndarray, right: np.ndarray, method: str) -> CalibrationMap:
    """Fits one map from ``conf`` to the probability that ``right``."""
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
        iso.fit(conf, right.astype(np.float64))
        return CalibrationMap(
            "isotonic",
            x=np.asarray(iso.X_thresholds_, dtype=np.float64),
            y=np.asarray(iso.y_thresholds_, dtype=np.float64),
        )

    from sklearn.linear_model import LogisticRegression

    on = "logit" if conf.min() >= 0 and conf.max() <= 1 else "score"
    z = _logit(conf) if on == "logit" else conf
    if right.all() or not right.any():
        # one outcome only: logistic regression is undefined; the best
        # constant map is the outcome itself (clipped off 0 and 1)
        p = float(np.clip(right.mean(), 1e-6, 1 - 1e-6))
        intercept = float(_logit(np.array([p]))[0])
        return CalibrationMap("sigmoid", coef=0.0, intercept=intercept, on=on)
    model = LogisticRegression(C=np.inf, max_iter=1000)
    model.fit(z.reshape(-1, 1), right)
    return CalibrationMap("sigmoid", coef=float(model.coef_[0, 0]),
                intercept=float(model.intercept_[0]), on=on)


@dataclass(frozen=True, eq=False)
class Calibrator:
    """A fitted monotone map from confidence to the probability that a
    prediction is right (a true positive), one per class where there was
    enough data, and a global one.

    Build it with :func:`fit_calibrator`; apply it with :meth:`predict`.

    Attributes:
        method: ``"isotonic"`` or ``"sigmoid"``
        global_map: the map fitted on every scored prediction
        class_maps: the maps fitted on one class's predictions, by class
        num_predictions: the scored predictions it was fitted on
        min_per_class: classes with fewer scored predictions than this use
            the global map
        positive_label: for a binary classifier, its positive class: the
            maps take and give positive scores (the confidence of a
            positive answer, one minus that of a negative one), and
            :meth:`apply` writes each answer's confidence so that its
            positive score is the calibrated one; else None
    """

    method: str
    global_map: CalibrationMap
    class_maps: dict[str, CalibrationMap]
    num_predictions: int
    min_per_class: int
    positive_label: str | None = None

    def predict(
        self, confidences: np.ndarray, labels: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The calibrated confidences.

        Args:
            confidences: array of shape ``(n,)``; ``NaN`` stays ``NaN``
            labels (None): the class of each prediction, shape ``(n,)``;
                a prediction whose class has its own map uses it, the others
                (and all of them when ``labels`` is None) the global map

        Returns:
            a ``float64`` array of shape ``(n,)`` with values in ``[0, 1]``
        """
        c = np.asarray(confidences, dtype=np.float64)
        out = np.full(c.shape, np.nan)
        ok = ~np.isnan(c)
        rest = ok.copy()
        if labels is not None:
            lab = np.asarray(list(labels), dtype=object)
            if lab.shape != c.shape:
                raise ValueError(
                    f"labels must give one class per confidence; got "
                    f"{lab.shape[0]} labels for {c.shape[0]} confidences"
                )
            for name, fitted in self.class_maps.items():
                sel = ok & (lab == name)
                if sel.any():
                    out[sel] = fitted(c[sel])
                    rest &= ~sel
        if rest.any():
            out[rest] = self.global_map(c[rest])
        return out

    def apply(self, samples: Any, pred_field: str, out_field: str, *, overwrite: bool = False) -> int:
        """Writes a copy of ``pred_field`` with calibrated confidences to
        the **new** field ``out_field`` of ``samples`` (a FiftyOne dataset
        or view); ``pred_field`` itself is never changed, and an existing
        ``out_field`` is refused unless ``overwrite=True`` and a calibrator
        wrote it (never the ground truth or another model's field). Only
        the samples of ``samples`` get values. Beyond the confidences it was
        fitted on, an isotonic map holds its end values; a sigmoid map fitted
        on confidences in [0, 1] refuses others, before anything is written.
        The write is all or nothing; see
        :func:`optimal_confidence.store.calibrated.write_calibrated`.

        Returns:
            the number of predictions calibrated
        """
        from ..store.calibrated import write_calibrated

        return write_calibrated(self, samples, pred_field, out_field, overwrite=overwrite)

    def summary(self) -> str:
        """What was fitted, in one sentence."""
        name = {"isotonic": "Isotonic", "sigmoid": "Platt (sigmoid)"}[self.method]
        own = len(self.class_maps)
        if own == 0:
            per = "; one global map for all classes"
        elif own == 1:
            per = "; 1 class with a map of its own, the others use the global map"
        else:
            per = f"; {own} classes with a map of their own, the others use the global map"
        return f"{name} calibration fitted on {self.num_predictions:,} predictions{per}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict that :meth:`from_dict` restores exactly."""
        return {
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "global_map": self.global_map.to_dict(),
            "class_maps": {k: m.to_dict() for k, m in self.class_maps.items()},
            "num_predictions": int(self.num_predictions),
            "min_per_class": int(self.min_per_class),
            "positive_label": self.positive_label,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Calibrator":
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported calibrator format version {version!r}; this "
                f"version of optimal_confidence reads version {FORMAT_VERSION}"
            )
        return cls(
            method=str(d["method"]),
            global_map=CalibrationMap.from_dict(d["global_map"]),
            class_maps={
                str(k): CalibrationMap.from_dict(m) for k, m in d["class_maps"].items()
            },
            num_predictions=int(d["num_predictions"]),
            min_per_class=int(d["min_per_class"]),
            positive_label=d.get("positive_label"),
        )


def _check_fit_options(method: Any, per_class: Any, min_per_class: Any) -> None:
    if method not in CALIBRATION_METHODS:
        raise ValueError(
            f"method must be one of {list(CALIBRATION_METHODS)}; got {method!r}"
        )
    if not isinstance(per_class, (bool, np.bool_)):
        raise ValueError(f"per_class must be True or False; got {per_class!r}")
    if (
        isinstance(min_per_class, bool)
        or not isinstance(min_per_class, (int, np.integer))
        or min_per_class < 1
    ):
        raise ValueError(
            f"min_per_class must be an integer >= 1, e.g. 50; got {min_per_class!r}"
        )


def fit_calibrator(
    records: MatchRecords,
    *,
    method: str = "isotonic",
    per_class: bool = True,
    min_per_class: int = 50,
    positive_label: str | None = None,
) -> Calibrator:
    """Fits a monotone map from confidence to the probability that a
    prediction is right (a true positive by the sweep's matching).

    Fit it on images other than those you evaluate it on: a map fitted and
    checked on the same predictions looks better than it is.

    Methods:

    -   ``"isotonic"``: scikit-learn's ``IsotonicRegression(
        out_of_bounds="clip", y_min=0, y_max=1)``: the best non-decreasing
        step-and-ramp map; flexible, needs a few hundred predictions.
    -   ``"sigmoid"``: Platt scaling, a logistic regression (without
        penalty) of the outcome on the **logit** of the confidence when all
        confidences are in ``[0, 1]``, so that a calibrated model keeps its
        confidences (coefficient 1, intercept 0) and temperature scaling is
        a special case; on the raw score otherwise (logits, margins: Platt's
        original setting). Two parameters: robust with few predictions.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords` of a
            sweep; predictions without a confidence are left out
        method ("isotonic"): ``"isotonic"`` or ``"sigmoid"``
        per_class (True): whether each class with at least
            ``min_per_class`` scored predictions gets a map of its own;
            classes with fewer (and predictions without a class) use the
            global map, which is always fitted
        min_per_class (50): the fewest scored predictions for a class map
        positive_label (None): for the records of a binary classifier (whose
            confidences are positive scores), its positive class, kept in
            the calibrator so that :meth:`Calibrator.apply` maps positive
            scores

    Returns:
        a :class:`Calibrator`

    Raises:
        ValueError: if an option is invalid or no prediction has a
            confidence
    """
    _check_fit_options(method, per_class, min_per_class)
    conf, right, cls = _scored(records)
    if conf.size == 0:
        raise ValueError(
            "There are no predictions with a confidence to fit a calibrator "
            "on; check that the prediction field has confidences"
        )
    class_maps = {}
    if per_class:
        for c in np.unique(cls[cls >= 0]):
            sel = cls == c
            if sel.sum() >= min_per_class:
                class_maps[records.classes[int(c)]] = _fit_map(conf[sel], right[sel], method)
    return Calibrator(
        method=method,
        global_map=_fit_map(conf, right, method),
        class_maps=class_maps,
        num_predictions=int(conf.size),
        min_per_class=int(min_per_class),
        positive_label=positive_label,
    )


def calibrated_records(records: MatchRecords, calibrator: Calibrator) -> MatchRecords:
    """The same match records with each prediction's confidence replaced
    by its calibrated value (by its class's map): what a sweep of the
    calibrated confidences would read. The matches do not change (a
    prediction's status does not depend on the threshold)."""
    labels = [records.classes[int(c)] if c >= 0 else None for c in records.pred_class]
    conf = calibrator.predict(records.pred_conf, labels)
    return dataclasses.replace(records, pred_conf=conf)

