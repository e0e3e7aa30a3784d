"""Which new images to label, and what their labels say: the fewest labels
that verify a threshold on images without labels.

The model of :mod:`.unlabeled` predicts, for every new image ``i``, its
true positives at the threshold (``f_i``: the sum of the kept predictions'
chances) and its ground truth objects (``g_i``). Labels then correct it,
prediction-powered (Angelopoulos et al., Science 2023; active, Zrnic &
Candes, ICML 2024): images are drawn ``n`` times with replacement, image
``i`` with probability ``q_i``, and

    T = sum_i f_i + mean over draws of (TP_i - f_i) / q_i
    G = sum_i g_i + mean over draws of (GT_i - g_i) / q_i

are unbiased for the true totals whatever the model's errors (the labels
correct it; a good model only makes the correction small). Precision is
``T / kept`` (the kept predictions are counted exactly), recall ``T / G``,
F1 ``2 T / (kept + G)``; their intervals come from the draws' spread
(linearized ratios, Student's t).

:func:`plan_labels` chooses ``q`` to make the interval of one metric
narrow: ``q_i`` grows with the predicted spread of image ``i``'s
correction (the chances of its predictions: an image whose predictions
are all sure, or that has none, teaches little), mixed with 10% uniform
draws so that no image is out of reach when the model is wrong. An image
drawn twice is labeled once and counts twice. :func:`verify_counts` turns
the labels into the :class:`Verification`; with equal ``q`` (labels that
were not planned) it is the uniform prediction-powered estimate.

Pure numpy and scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..curves.sweep import MatchRecords
from .unlabeled import OutcomeModel, Predictions, fit_outcome_model, rates_text

__all__ = [
    "LabelPlan",
    "ImageModel",
    "METRICS",
    "Verification",
    "image_model",
    "plan_labels",
    "uniform_ratio",
    "verify_counts",
]

#: the metrics a plan narrows
METRICS = ("precision", "recall", "f1")

#: the share of draws spread evenly over the images (defensive sampling)
UNIFORM_SHARE = 0.1


@dataclass(frozen=True, eq=False)
class ImageModel:
    """The model's prediction for every new image at a threshold.

    Attributes:
        tp: ``(N,)`` expected true positives among the kept predictions
        gt: ``(N,)`` expected ground truth objects
        kept: ``(N,)`` kept predictions (exact)
        var_kept: ``(N,)`` the variance of the kept true positives
        var_rest: ``(N,)`` the variance of the found objects not kept plus
            the missed ones
    """

    tp: np.ndarray
    gt: np.ndarray
    kept: np.ndarray
    var_kept: np.ndarray
    var_rest: np.ndarray

    def value(self, metric: str) -> float:
        t, k, g = self.tp.sum(), self.kept.sum(), self.gt.sum()
        return {"precision": t / k if k else math.nan, "recall": t / g if g else math.nan,
                "f1": 2 * t / (k + g) if k + g else math.nan}[metric]

    def spread(self, metric: str) -> np.ndarray:
        """Each image's predicted variance of its linearized correction
        for ``metric`` (in units of TP)."""
        if metric == "precision":
            return self.var_kept
        c = self.value(metric) / (2 if metric == "f1" else 1)
        c = 0.0 if not np.isfinite(c) else c
        return (1 - c) ** 2 * self.var_kept + c**2 * self.var_rest

    def scale(self, metric: str) -> float:
        """The metric's change per unit of total TP correction."""
        k, g = self.kept.sum(), self.gt.sum()
        return {"precision": 1 / k if k else math.nan, "recall": 1 / g if g else math.nan,
                "f1": 2 / (k + g) if k + g else math.nan}[metric]


def image_model(
    model: OutcomeModel, preds: Predictions, threshold: float,
    class_thresholds: Mapping[str, float] | None = None,
) -> ImageModel:
    """:class:`ImageModel` of ``preds`` under ``model``."""
    n = preds.num_samples
    p = model.chances(preds)
    kept = preds.kept(threshold, class_thresholds)
    rho = model.miss_rates(preds.classes)
    rate = np.where(preds.cls >= 0, rho[np.maximum(preds.cls, 0)], model.missed_overall)
    s = preds.sample
    w = p * (1 - p)
    return ImageModel(
        tp=np.bincount(s[kept], weights=p[kept], minlength=n),
        gt=np.bincount(s, weights=p * (1 + rate), minlength=n),
        kept=np.bincount(s[kept], minlength=n).astype(np.float64),
        var_kept=np.bincount(s[kept], weights=w[kept], minlength=n),
        var_rest=np.bincount(s[~kept], weights=w[~kept], minlength=n) + np.bincount(s, weights=p * rate, minlength=n),
    )


def _z(level: float, df: int | None = None) -> float:
    from scipy import stats

    q = 0.5 + level / 2
    return float(stats.t.ppf(q, df) if df else stats.norm.ppf(q))


def _draw_probabilities(spread: np.ndarray) -> np.ndarray:
    n = spread.size
    sd = np.sqrt(np.maximum(spread, 0))
    if sd.sum() <= 0:
        return np.full(n, 1.0 / n)
    return (1 - UNIFORM_SHARE) * sd / sd.sum() + UNIFORM_SHARE / n


def _expected_widths(m: ImageModel, metric: str, q: np.ndarray, budget: int, level: float) -> tuple[float, float]:
    """The interval widths the model expects: with draws by ``q``
    (prediction-powered), and with ``budget`` images drawn uniformly with
    the classical ratio estimator."""
    v = m.spread(metric)
    z, scale, n = _z(level), m.scale(metric), m.tp.size
    planned = 2 * z * scale * math.sqrt(float((v / q).sum()) / budget)
    # classical: d_i = TP_i - c * (denominator_i); its variance over images
    c = m.value(metric) if metric != "f1" else m.value(metric) / 2
    denominator = {"precision": m.kept, "recall": m.gt, "f1": (m.kept + m.gt) / 2}[metric]
    if metric == "precision":
        d_mean = m.tp - c * m.kept
    else:  # TP minus c x ground truth (f1: the linearization in the module)
        d_mean = m.tp - c * (m.gt if metric == "recall" else m.kept + m.gt) + (0 if metric == "recall" else c * m.kept)
    s2 = float((v + d_mean**2).sum()) / n
    fpc = max(1 - budget / n, 0.0)
    uniform = 2 * z * math.sqrt(fpc * s2 / budget) / max(float(denominator.mean()), 1e-300)
    return planned, uniform


@dataclass(frozen=True, eq=False)
class LabelPlan:
    """Which new images to label (see the module).

    Attributes:
        metric: the metric whose interval the plan narrows
        threshold, class_thresholds: where it is verified
        budget: the draws
        draws: ``(budget,)`` the image drawn each time (indices into the
            new images; an image may be drawn more than once)
        probabilities: ``(N,)`` each image's chance per draw
        indices: the distinct images to label, ascending
        inclusion: their chances to be drawn at least once
        sample_ids: their FiftyOne ids, when the images came from FiftyOne
        expected_width: the interval width of ``metric`` the model expects
            after labeling them
        uniform_width: the width the model expects from the same number of
            images drawn uniformly, with the classical estimator
        num_samples: the new images
    """

    metric: str
    threshold: float
    class_thresholds: dict[str, float]
    budget: int
    draws: np.ndarray
    probabilities: np.ndarray
    expected_width: float
    uniform_width: float
    num_samples: int
    sample_ids: list[str] | None = None
    all_ids: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def indices(self) -> np.ndarray:
        return np.unique(self.draws)

    @property
    def inclusion(self) -> np.ndarray:
        return 1 - (1 - self.probabilities[self.indices]) ** self.budget

    @property
    def savings(self) -> float:
        """How many times more images uniform sampling needs for the same
        expected width (widths shrink as one over the square root)."""
        return (self.uniform_width / self.expected_width) ** 2 if self.expected_width > 0 else math.nan

    def summary(self) -> str:
        return (
            f"Label these {len(self.indices)} images ({self.budget} draws among "
            f"{self.num_samples:,}): the {self.metric} interval at the threshold is expected "
            f"to be {self.expected_width:.3f} wide, where {self.budget} images drawn "
            f"uniformly would give {self.uniform_width:.3f} (about {self.savings:.1f}x the "
            f"labels for the same width)"
        )

    def tag(self, samples: Any, tag: str = "label_next", *, overwrite: bool = False) -> int:
        """Tags the images to label with ``tag`` (through the write plan:
        a tag some samples already have is refused unless ``overwrite``),
        so that they can be sent to annotation
        (``samples.match_tags(tag)``). Returns the images tagged."""
        from ..store.tags import tag_samples

        if self.sample_ids is None:
            raise ValueError("This plan's images did not come from FiftyOne: there is nothing to tag")
        return tag_samples(samples, self.sample_ids, tag, overwrite=overwrite)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "threshold": self.threshold,
            "class_thresholds": dict(self.class_thresholds), "budget": self.budget,
            "draws": self.draws.tolist(), "probabilities": self.probabilities.tolist(),
            "expected_width": self.expected_width, "uniform_width": self.uniform_width,
            "num_samples": self.num_samples, "sample_ids": self.sample_ids,
            "all_ids": None if self.all_ids is None else list(self.all_ids),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LabelPlan":
        return cls(
            metric=d["metric"], threshold=float(d["threshold"]),
            class_thresholds=dict(d.get("class_thresholds") or {}), budget=int(d["budget"]),
            draws=np.asarray(d["draws"], dtype=np.int64),
            probabilities=np.asarray(d["probabilities"], dtype=np.float64),
            expected_width=float(d["expected_width"]), uniform_width=float(d["uniform_width"]),
            num_samples=int(d["num_samples"]), sample_ids=d.get("sample_ids"),
            all_ids=tuple(d["all_ids"]) if d.get("all_ids") else None,
        )


def _check_plan(budget: Any, metric: Any, n: int) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}; got {metric!r}")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 2:
        raise ValueError(f"budget must be an integer of at least 2 (images to label); got {budget!r}")
    if n < 2:
        raise ValueError(f"there are {n} new images: nothing to choose from")


def plan_labels(
    records: MatchRecords,
    preds: Predictions,
    budget: int,
    threshold: float,
    *,
    class_thresholds: Mapping[str, float] | None = None,
    metric: str = "precision",
    level: float = 0.95,
    seed: int | None = None,
    model: OutcomeModel | None = None,
) -> LabelPlan:
    """Draws ``budget`` images among ``preds``' to label (see the module).

    Raises:
        ValueError: for a bad argument
    """
    _check_plan(budget, metric, preds.num_samples)
    model = model or fit_outcome_model(records)
    m = image_model(model, preds, threshold, class_thresholds)
    q = _draw_probabilities(m.spread(metric))
    draws = np.random.default_rng(seed).choice(q.size, size=int(budget), p=q)
    planned, uniform = _expected_widths(m, metric, q, int(budget), level)
    ids = None if preds.sample_ids is None else [preds.sample_ids[i] for i in np.unique(draws)]
    return LabelPlan(
        metric=metric, threshold=float(threshold), class_thresholds=dict(class_thresholds or {}),
        budget=int(budget), draws=draws, probabilities=q, expected_width=planned,
        uniform_width=uniform, num_samples=preds.num_samples, sample_ids=ids, all_ids=preds.sample_ids,
    )


@dataclass(frozen=True)
class Verification:
    """Precision, recall and F1 at a threshold on new images, from the
    model corrected by a few labeled ones (see the module).

    Attributes:
        precision, recall, f1: the estimates
        precision_ci, recall_ci, f1_ci: ``(low, high)`` at ``level``
        level: the intervals' level
        n_labeled: the distinct labeled images used
        n_draws: the draws they stand for
        method: how the labeled images were drawn, in words
        guarantee: with a target: ``{"metric", "target", "level",
            "lower_bound", "certified"}``, else None
    """

    precision: float
    recall: float
    f1: float
    precision_ci: tuple[float, float]
    recall_ci: tuple[float, float]
    f1_ci: tuple[float, float]
    level: float
    n_labeled: int
    n_draws: int
    method: str
    guarantee: dict[str, Any] | None = None

    def summary(self) -> str:
        s = f"Verified with {self.n_labeled} labeled images ({self.method}): {rates_text(self)}"
        g = self.guarantee
        if g is not None:
            verdict = "certified" if g["certified"] else "not certified"
            s += (
                f". {g['metric'].capitalize()} >= {g['target']:g} is {verdict} at "
                f"{100 * g['level']:g}% (lower bound {g['lower_bound']:.3f})"
            )
        return s

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify_counts(
    m: ImageModel,
    draws: np.ndarray,
    probabilities: np.ndarray,
    tp: np.ndarray,
    gt: np.ndarray,
    *,
    level: float = 0.95,
    method: str = "prediction-powered",
    target: tuple[str, float, float] | None = None,
) -> Verification:
    """The :class:`Verification` of labeled draws: ``draws`` the images
    drawn, with their per-draw ``probabilities`` (all the new images'),
    and ``tp``/``gt`` each drawn image's true positives at the threshold
    and ground truth objects (aligned with ``draws``). ``target``:
    ``(metric, value, level)`` to certify."""
    n = len(draws)
    if n < 2:
        raise ValueError(f"verifying needs at least 2 labeled images; got {n}")
    q = probabilities[draws]
    a = (tp - m.tp[draws]) / q
    b = (gt - m.gt[draws]) / q
    t_hat = m.tp.sum() + a.mean()
    g_hat = m.gt.sum() + b.mean()
    k = m.kept.sum()
    values = {"precision": t_hat / k if k else math.nan, "recall": t_hat / g_hat,
              "f1": 2 * t_hat / (k + g_hat)}
    terms = {"precision": a / k if k else a * math.nan, "recall": (a - values["recall"] * b) / g_hat,
             "f1": 2 * (a - values["f1"] / 2 * b) / (k + g_hat)}
    se = {name: float(np.std(x, ddof=1) / math.sqrt(n)) for name, x in terms.items()}
    z = _z(level, n - 1)
    ci = {name: (float(values[name] - z * se[name]), float(values[name] + z * se[name])) for name in values}
    guarantee = None
    if target is not None:
        name, value, g_level = target
        low = values[name] - _z(2 * g_level - 1, n - 1) * se[name]  # one-sided
        guarantee = {"metric": name, "target": float(value), "level": float(g_level),
                     "lower_bound": float(low), "certified": bool(low >= value)}
    return Verification(
        precision=float(values["precision"]), recall=float(values["recall"]), f1=float(values["f1"]),
        precision_ci=ci["precision"], recall_ci=ci["recall"], f1_ci=ci["f1"], level=float(level),
        n_labeled=int(np.unique(draws).size), n_draws=n, method=method, guarantee=guarantee,
    )


def uniform_ratio(
    tp: np.ndarray, kept: np.ndarray, gt: np.ndarray, num_samples: int, level: float = 0.95
) -> dict[str, tuple[float, tuple[float, float]]]:
    """The classical estimate from a simple random sample of images (what
    uniform labeling without a model gives): each metric's ratio over the
    sample, with its linearized interval (Student's t, finite population
    correction). The arrays are the sampled images'."""
    n = len(tp)
    fpc = max(1 - n / num_samples, 0.0)
    z = _z(level, n - 1)
    out = {}
    for name, num, den in (("precision", tp, kept), ("recall", tp, gt), ("f1", 2 * tp, kept + gt)):
        r = num.sum() / den.sum() if den.sum() else math.nan
        d = num - r * den
        se = math.sqrt(fpc * np.var(d, ddof=1) / n) / max(den.mean(), 1e-300)
        out[name] = (float(r), (float(r - z * se), float(r + z * se)))
    return out
