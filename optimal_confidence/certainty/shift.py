"""When an estimate on unlabeled images cannot be trusted: the new images'
predictions compared with the labeled images' (:func:`check_shift`).

An estimate (:mod:`.unlabeled`) holds while the relation of confidence to
correctness it learned on the labeled images holds on the new ones. That
relation cannot be seen without labels, but its usual breakers can:

-   **confidences that moved**, class by class (a model that became more
    or less sure of itself, new conditions): a two-sample Kolmogorov-Smirnov
    test per class with enough predictions on both sides;
-   **predictions per image that changed** (more clutter, other scenes, a
    different confidence floor): the same test on the per-image counts;
-   **confidences the calibrator never saw**: the share of new confidences
    outside each class's range on the labeled images.

The tests are corrected for their number (Bonferroni: the check fires at
most ``alpha`` of the time when nothing shifted). A change of the class
mix alone is reported (chi-square) but does not make the estimate fail:
the estimate is made class by class.

Pure numpy and scipy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..curves.sweep import MatchRecords
from .unlabeled import Predictions

__all__ = ["Shift", "ShiftTest", "check_shift"]


@dataclass(frozen=True)
class ShiftTest:
    """One comparison of the new images with the labeled ones.

    Attributes:
        what: what was compared, in words
        statistic: the test's statistic
        p_value: its p-value (before the correction for the number of tests)
        sizes: how many values on each side (labeled, new)
        counts: whether it decides (class mix: reported only)
    """

    what: str
    statistic: float
    p_value: float
    sizes: tuple[int, int]
    counts: bool = True


@dataclass(frozen=True)
class Shift:
    """The comparison of the new images with the labeled ones (see the
    module): whether the estimate holds, and why not.

    Attributes:
        holds: whether no test fired and few confidences lie outside what
            the calibrator saw
        tests: the :class:`ShiftTest` s made
        alpha: the check's false alarm rate when nothing shifted
        outside: per class, the share of new confidences outside the
            labeled images' range of that class
        outside_share: the same over all new predictions
        max_outside: the share of :attr:`outside_share` above which the
            estimate does not hold
    """

    holds: bool
    tests: list[ShiftTest]
    alpha: float
    outside: dict[str, float]
    outside_share: float
    max_outside: float

    @property
    def fired(self) -> list[ShiftTest]:
        """The deciding tests that fired (after the correction)."""
        m = max(1, sum(t.counts for t in self.tests))
        return [t for t in self.tests if t.counts and t.p_value < self.alpha / m]

    def summary(self) -> str:
        """Whether the estimate holds, why not, and what to do, in words."""
        if self.holds:
            mix = [t for t in self.tests if not t.counts and t.p_value < self.alpha]
            note = f" The class mix differs (p = {mix[0].p_value:.2g}); the estimate is made per class." if mix else ""
            return (
                f"No sign of a shift: {len(self.tests)} comparisons of the new images' "
                f"predictions with the labeled images' found none (false alarm rate "
                f"{self.alpha:g}), and {100 * self.outside_share:.1f}% of the new "
                f"confidences lie outside what the calibrator saw.{note}"
            )
        why = [f"{t.what} differ (p = {t.p_value:.2g})" for t in self.fired]
        if self.outside_share > self.max_outside:
            why.append(
                f"{100 * self.outside_share:.1f}% of the new confidences lie outside what "
                f"the calibrator saw"
            )
        return (
            "The estimate may not hold: " + "; ".join(why) + ". Label a few of the new "
            "images and verify: plan = oc.plan_labels(result, samples, 100); "
            "plan.tag(samples); after labeling, oc.verify(result, samples, plan=plan)."
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["summary"] = self.summary()
        return out


def _ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from scipy.stats import ks_2samp

    r = ks_2samp(a, b, method="asymp")
    return float(r.statistic), float(r.pvalue)


def _class_mix(lab: np.ndarray, new: np.ndarray, k: int) -> ShiftTest | None:
    from scipy.stats import chi2_contingency

    table = np.array([np.bincount(lab[lab >= 0], minlength=k), np.bincount(new[new >= 0], minlength=k)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    stat, p, _, _ = chi2_contingency(table)
    return ShiftTest("the class mix", float(stat), float(p), tuple(int(x) for x in table.sum(axis=1)), counts=False)


def check_shift(
    records: MatchRecords,
    preds: Predictions,
    *,
    alpha: float = 0.05,
    max_outside: float = 0.05,
    min_count: int = 20,
) -> Shift:
    """Compares the new images' predictions with the labeled images' (see
    the module).

    Args:
        records: the labeled images' match records
        preds: the new images' predictions
        alpha (0.05): the check's false alarm rate when nothing shifted
        max_outside (0.05): the largest share of new confidences outside
            what the calibrator saw for the estimate to hold
        min_count (20): the fewest predictions a class needs on both sides
            to be compared
    """
    labeled = Predictions.of_records(records)
    names = list(preds.classes)
    lab_cls = labeled.class_index(names)
    tests = []
    outside, n_out, n_all = {}, 0, 0
    for k, name in enumerate(names):
        a = labeled.conf[(lab_cls == k) & np.isfinite(labeled.conf)]
        b = preds.conf[(preds.cls == k) & np.isfinite(preds.conf)]
        if b.size == 0:
            continue
        if a.size:
            out = int(((b < a.min()) | (b > a.max())).sum())
        else:
            out = b.size  # a class the labeled images never predicted
        outside[name] = out / b.size
        n_out, n_all = n_out + out, n_all + b.size
        if a.size >= min_count and b.size >= min_count:
            stat, p = _ks(a, b)
            tests.append(ShiftTest(f"confidences of '{name}'", stat, p, (a.size, b.size)))
    per_lab = np.bincount(labeled.sample, minlength=labeled.num_samples)
    per_new = np.bincount(preds.sample, minlength=preds.num_samples)
    if per_lab.size >= min_count and per_new.size >= min_count:
        stat, p = _ks(per_lab, per_new)
        tests.append(ShiftTest("predictions per image", stat, p, (per_lab.size, per_new.size)))
    mix = _class_mix(lab_cls, preds.cls, len(names))
    if mix is not None:
        tests.append(mix)
    share = n_out / n_all if n_all else 0.0
    shift = Shift(False, tests, float(alpha), outside, share, float(max_outside))
    holds = not shift.fired and share <= max_outside
    return Shift(holds, tests, float(alpha), outside, share, float(max_outside))
