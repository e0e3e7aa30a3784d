"""The empirical risks of Learn-then-Test
(:mod:`optimal_confidence.certainty.guarantee`): one loss per image, in ``[0, 1]``,
and their mean at every candidate threshold from one sort and one
cumulative sum.

-   ``"recall"``: the per-image miss rate ``FN_i(t) / GT_i`` over the
    images with ground truth;
-   ``"precision"``: the per-image false discovery proportion
    ``FP_i(t) / max(kept_i(t), 1)`` over the images with a scored
    prediction;
-   ``"accuracy"``: the error rate of the answers kept (one answer per
    image), a mean over the answers kept at ``t``.

Pure numpy: nothing here imports FiftyOne.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..curves.sweep import MatchRecords, count_at

__all__ = ["Risk", "empirical_risk", "scored_images"]


class Risk(NamedTuple):
    """Empirical risks at candidate thresholds.

    Attributes:
        risk: ``float64`` array of shape ``(num_thresholds,)``: the mean
            loss at each threshold (0 where ``n`` is 0)
        n: ``int64`` array of shape ``(num_thresholds,)``: the number of
            observations behind each mean: images (the same at every
            threshold) or, for ``"accuracy"``, automatic answers
    """

    risk: np.ndarray
    n: np.ndarray


def _sum_ge(values: np.ndarray, weights: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, the sum of the ``weights`` of the ``values >=``
    it (``NaN`` values never count): one sort and a cumulative sum."""
    keep = ~np.isnan(values)
    v, w = values[keep], weights[keep]
    order = np.argsort(v, kind="stable")
    v = v[order]
    suffix = np.concatenate([np.cumsum(w[order][::-1])[::-1], [0.0]])
    return suffix[np.searchsorted(v, thresholds, side="left")]


def _miss_rate(records: MatchRecords, t: np.ndarray) -> Risk:
    """Mean over images with ground truth of ``FN_i(t) / GT_i``: an object
    found at ``t`` lowers its image's miss rate by ``1 / GT_i``."""
    per_image = np.bincount(records.gt_sample, minlength=records.num_samples)
    n = int(np.count_nonzero(per_image))
    if n == 0:
        raise ValueError(
            "No image has ground truth objects, so a miss rate cannot be "
            "certified; check the ground truth field"
        )
    found = _sum_ge(records.gt_conf, 1.0 / per_image[records.gt_sample], t)
    risk = np.clip(1.0 - found / n, 0.0, 1.0)
    return Risk(risk, np.full(len(t), n, dtype=np.int64))


def _fdp_steps(records: MatchRecords) -> tuple[np.ndarray, np.ndarray]:
    """Where and by how much each image's false discovery proportion
    changes as the threshold comes down: one step per distinct confidence
    of the image (tied predictions enter together)."""
    keep = ~np.isnan(records.pred_conf)
    c = records.pred_conf[keep]
    s = records.pred_sample[keep]
    fp = (~records.pred_tp[keep]).astype(np.float64)
    if c.size == 0:
        return c, c
    order = np.lexsort((-c, s))  # by image, then descending confidence
    c, s, fp = c[order], s[order], fp[order]
    pos = np.arange(c.size)
    start = np.maximum.accumulate(np.where(np.r_[True, s[1:] != s[:-1]], pos, 0))
    kept = pos - start + 1
    cum_fp = np.cumsum(fp)
    fp_in = cum_fp - (cum_fp[start] - fp[start])
    # the last of each image's tied predictions: the image's FDP once they are in
    last = np.r_[(s[1:] != s[:-1]) | (c[1:] != c[:-1]), True]
    q = fp_in[last] / kept[last]
    g_s = s[last]
    prev = np.r_[0.0, q[:-1]]
    prev[np.r_[True, g_s[1:] != g_s[:-1]]] = 0.0
    return c[last], q - prev


def scored_images(records: MatchRecords) -> int:
    return int(np.unique(records.pred_sample[~np.isnan(records.pred_conf)]).size)


def _false_discovery(records: MatchRecords, t: np.ndarray) -> Risk:
    """Mean of ``FP_i(t) / max(kept_i(t), 1)`` over the images with a scored
    prediction (the others have nothing to discover at any threshold)."""
    n = scored_images(records)
    if n == 0:
        raise ValueError("There are no predictions with a confidence to certify a threshold on")
    where, step = _fdp_steps(records)
    risk = np.clip(_sum_ge(where, step, t) / n, 0.0, 1.0)
    return Risk(risk, np.full(len(t), n, dtype=np.int64))


def _check_one_answer_per_image(records: MatchRecords) -> None:
    scored = records.pred_sample[~np.isnan(records.pred_conf)]
    most = int(np.bincount(scored).max()) if scored.size else 0
    if most > 1:
        raise ValueError(
            f"objective_name='accuracy' treats each image's answer as one "
            f"independent trial and needs at most one scored prediction per "
            f"image; an image here has {most}. For detections, certify "
            f"objective_name='precision' (the per-image false discovery rate)"
        )


def _error_rate(records: MatchRecords, t: np.ndarray) -> Risk:
    """Errors among the automatic answers (confidence ``>= t``)."""
    _check_one_answer_per_image(records)
    c = count_at(records, t)
    answered, wrong = c.tp + c.fp, c.fp
    risk = np.zeros(len(t))
    np.divide(wrong, answered, out=risk, where=answered > 0)
    return Risk(risk, answered)


def empirical_risk(
    records: MatchRecords, thresholds: Any, objective_name: str
) -> Risk:
    """The empirical risk of ``objective_name`` at each threshold (see the
    module docstring for the losses).

    No ``(images, thresholds)`` matrix is built: each mean is a weighted
    count of the rows with confidence ``>= t`` (an image's false discovery
    proportion only changes at its own confidences, so its changes are
    counted instead), from one sort and one cumulative sum. Memory and time
    grow with ``num_preds + num_gts + num_thresholds``, so 100,000 images
    and 10,000 thresholds need neither chunks nor a coarser grid.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: thresholds, in any order
        objective_name: ``"recall"``, ``"precision"`` or ``"accuracy"``

    Returns:
        a :class:`Risk` aligned with ``thresholds``
    """
    if objective_name not in _LOSSES:
        raise ValueError(
            f"objective_name must be one of {list(_LOSSES)}; got {objective_name!r}"
        )
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    return _LOSSES[objective_name](records, t)


_LOSSES = {"recall": _miss_rate, "precision": _false_discovery, "accuracy": _error_rate}
