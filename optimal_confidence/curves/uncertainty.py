"""How certain is the chosen threshold: a bootstrap over images.

Pure numpy. The images (samples) of a sweep are resampled with
replacement; each resample's counts come from the stored
:class:`~optimal_confidence.curves.sweep.MatchRecords` weighted by how often each
image was drawn, so no matching runs again. Matches never cross images, so
a resample's counts are exactly the counts a sweep of the resampled
images would give.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from ..spec.objective import Objective
from .resample import Resampler, draw_weights
from .sweep import MatchRecords

__all__ = ["BootstrapSummary", "bootstrap"]


@dataclass(frozen=True)
class BootstrapSummary:
    """Bootstrap intervals for a chosen threshold.

    Attributes:
        n_bootstrap: the number of resamples
        seed: the random seed
        level: the confidence level of the intervals, e.g. 0.95
        threshold_ci: ``(low, high)``: the interval of the threshold each
            resample chooses
        score_ci: ``(low, high)``: the interval of the objective at the
            chosen threshold (of the full data) over the resamples; for a
            precision (recall) target, of the recall (precision) there
        constraint_ci: for a precision (recall) target, the interval of the
            precision (recall) at the chosen threshold; else ``NaN``s
        unattainable: the share of resamples in which no threshold reached
            the target (left out of ``threshold_ci``)
        thresholds: the threshold each resample chose (``NaN`` where the
            target was unattainable)
        scores: the objective at the full-data threshold in each resample
    """

    n_bootstrap: int
    seed: int | None
    level: float
    threshold_ci: tuple[float, float]
    score_ci: tuple[float, float]
    constraint_ci: tuple[float, float]
    unattainable: float
    thresholds: np.ndarray
    scores: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        def floats(v):
            return [None if np.isnan(x) else float(x) for x in v]

        d = asdict(self)
        for k in ("threshold_ci", "score_ci", "constraint_ci", "thresholds", "scores"):
            d[k] = floats(getattr(self, k))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BootstrapSummary":
        def arr(v):
            return np.array([np.nan if x is None else x for x in v], dtype=np.float64)

        def pair(v):
            return tuple(float(x) for x in arr(v))

        return cls(
            n_bootstrap=int(d["n_bootstrap"]),
            seed=d.get("seed"),
            level=float(d["level"]),
            threshold_ci=pair(d["threshold_ci"]),
            score_ci=pair(d["score_ci"]),
            constraint_ci=pair(d["constraint_ci"]),
            unattainable=float(d["unattainable"]),
            thresholds=arr(d["thresholds"]),
            scores=arr(d["scores"]),
        )


def bootstrap(
    records: MatchRecords,
    thresholds: np.ndarray,
    objective: Objective,
    chosen_threshold: float,
    *,
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int | None = None,
    batch_size: int | None = None,
) -> BootstrapSummary:
    """Bootstrap intervals for the threshold ``objective`` chooses and for
    the objective at ``chosen_threshold``.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: the swept thresholds, ascending
        objective: the :class:`~optimal_confidence.spec.objective.Objective`
        chosen_threshold: the threshold chosen on the full data
        n_bootstrap (1000): the number of resamples
        level (0.95): the confidence level of the percentile intervals
        seed (None): a seed, for reproducible intervals
        batch_size (None): resamples computed at once; memory grows with
            ``batch_size * (num_samples + num_blocks)``, and the default
            keeps a batch near 300 MB (at most 256 resamples)

    Returns:
        a :class:`BootstrapSummary`
    """
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be an integer >= 1; got {n_bootstrap!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95; got {level!r}")
    if records.num_samples < 1:
        raise ValueError("There are no samples to resample")

    thresholds = np.asarray(thresholds, dtype=np.float64)
    if len(thresholds) == 0:
        raise ValueError("There are no thresholds to choose from")
    rng = np.random.default_rng(seed)
    n = records.num_samples
    resampler = Resampler(records, thresholds, objective, float(chosen_threshold))
    if batch_size is None:
        # the weights, the draws and the block counts of one resample
        per = 12 * n + 100 * resampler.matrix.shape[0]
        batch_size = int(max(1, min(256, 3e8 // per)))
    chosen = np.full(n_bootstrap, np.nan)
    scores = np.full(n_bootstrap, np.nan)
    constraint = np.full(n_bootstrap, np.nan)
    done = 0
    while done < n_bootstrap:
        b = min(batch_size, n_bootstrap - done)
        # how many times each image is drawn (n draws with replacement)
        weights = draw_weights(rng, n, b)
        batch = slice(done, done + b)
        chosen[batch], scores[batch], constraint[batch] = resampler.choose_batch(weights)
        done += b

    ok = ~np.isnan(chosen)
    return BootstrapSummary(
        n_bootstrap=int(n_bootstrap),
        seed=seed,
        level=float(level),
        threshold_ci=_interval(chosen, level),
        score_ci=_interval(scores, level),
        constraint_ci=_interval(constraint, level),
        unattainable=float(1 - ok.mean()),
        thresholds=chosen,
        scores=scores,
    )


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval of the non-``NaN`` values."""
    v = values[~np.isnan(values)]
    if v.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1 - level) / 2
    low, high = np.quantile(v, [alpha, 1 - alpha])
    return (float(low), float(high))

