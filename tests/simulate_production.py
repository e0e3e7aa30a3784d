"""A simulated detector after deployment, where the truth is known: labeled
images, new images like them, and new images that have shifted.

Each image has Poisson objects of three classes (a class mix); each object
is found, with a class's own chance, by one prediction whose confidence is
drawn from Beta(``tp``); each image also has Poisson false alarms with
Beta(``fp``) confidences. True and false positives are separable to a
degree set by the two Betas (:func:`auc`: about 0.8 by default, as real
detectors' are); the confidences are not probabilities.

Shifts of the new images: ``overconfident`` pushes every confidence up
(``logit(c) + overconfident``) while the truth stays; ``mix`` changes the
class mix. No FiftyOne: it builds :class:`MatchRecords` and
:class:`Predictions` directly.
"""

from __future__ import annotations

import numpy as np

from optimal_confidence.certainty.unlabeled import Predictions
from optimal_confidence.curves.sweep import MatchRecords

CLASSES = ("car", "person", "bicycle")

#: (name, tp Beta, fp Beta): how separable true and false positives are
DETECTORS = {
    "auc 0.8": ((3.0, 1.6), (1.6, 2.4)),
    "auc 0.95": ((5.0, 1.6), (1.6, 3.5)),
}


def simulate(
    num_images: int,
    rng: np.random.Generator,
    *,
    detector: str = "auc 0.8",
    mix: tuple[float, ...] = (0.6, 0.3, 0.1),
    objects: float = 4.0,
    found: tuple[float, ...] = (0.9, 0.8, 0.7),
    false_alarms: tuple[float, ...] = (1.0, 0.8, 0.6),
    overconfident: float = 0.0,
    clutter: float = 0.8,
) -> MatchRecords:
    """The match records of a simulated detector on ``num_images`` images.

    Scenes differ: each image's busyness is Gamma(``clutter``) around 1, and
    both its objects and its false alarms are Poisson around its busyness
    times their rates, so that, as in real streams, many images are empty
    or nearly so and a few are crowded (``clutter=None``: every image alike).
    """
    tp_beta, fp_beta = DETECTORS[detector]
    busy = rng.gamma(clutter, 1 / clutter, num_images) if clutter else np.ones(num_images)
    n_obj = rng.poisson(objects * busy)
    gs = np.repeat(np.arange(num_images), n_obj)
    gk = rng.choice(len(CLASSES), size=gs.size, p=np.asarray(mix) / sum(mix))
    hit = rng.random(gs.size) < np.asarray(found)[gk]
    gc = np.where(hit, rng.beta(*tp_beta, gs.size), np.nan)
    # false alarms: per image, each class at its own rate, scaled by the mix
    rates = np.asarray(false_alarms) * np.asarray(mix) / (sum(mix) / len(mix))
    n_fp = rng.poisson(rates.sum() * busy)
    fs = np.repeat(np.arange(num_images), n_fp)
    fk = rng.choice(len(CLASSES), size=fs.size, p=rates / rates.sum())
    fc = rng.beta(*fp_beta, fs.size)
    if overconfident:
        gc, fc = _push(gc, overconfident), _push(fc, overconfident)
    return MatchRecords(
        classes=CLASSES,
        pred_conf=np.r_[gc[hit], fc],
        pred_tp=np.r_[np.ones(hit.sum(), bool), np.zeros(fs.size, bool)],
        pred_class=np.r_[gk[hit], fk].astype(np.int64),
        pred_sample=np.r_[gs[hit], fs].astype(np.int64),
        gt_conf=gc,
        gt_class=gk.astype(np.int64),
        gt_sample=gs.astype(np.int64),
        num_samples=num_images,
    )


def _push(conf: np.ndarray, by: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        z = np.log(conf) - np.log1p(-conf) + by
    return 1 / (1 + np.exp(-z))


def unlabeled(records: MatchRecords) -> Predictions:
    """The predictions of simulated images, their truth hidden."""
    return Predictions.of_records(records)


def truth(
    records: MatchRecords, threshold: float, class_thresholds: dict | None = None
) -> dict[str, float]:
    """The true precision, recall and F1 at a threshold."""
    kept = Predictions.of_records(records).kept(threshold, class_thresholds)
    tp = float(records.pred_tp[kept].sum())
    k = float(kept.sum())
    g = float(records.num_gts)
    return {
        "precision": tp / k if k else float("nan"),
        "recall": tp / g if g else float("nan"),
        "f1": 2 * tp / (k + g) if k + g else float("nan"),
        "tp": tp, "kept": k, "gt": g,
    }


def per_image(records: MatchRecords, threshold: float) -> dict[str, np.ndarray]:
    """Per image: TP and kept predictions at the threshold, and ground truth
    objects (what labeling an image reveals)."""
    n = records.num_samples
    kept = Predictions.of_records(records).kept(threshold)
    return {
        "tp": np.bincount(records.pred_sample[kept & records.pred_tp], minlength=n).astype(float),
        "kept": np.bincount(records.pred_sample[kept], minlength=n).astype(float),
        "gt": np.bincount(records.gt_sample, minlength=n).astype(float),
    }


def auc(records: MatchRecords) -> float:
    """The chance that a true positive's confidence is above a false
    positive's (ties count half)."""
    tp = records.pred_conf[records.pred_tp]
    fp = records.pred_conf[~records.pred_tp]
    order = np.argsort(np.r_[tp, fp], kind="stable")
    ranks = np.empty(order.size)
    ranks[order] = np.arange(1, order.size + 1)
    return float((ranks[: tp.size].sum() - tp.size * (tp.size + 1) / 2) / (tp.size * fp.size))
