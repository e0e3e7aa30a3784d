"""A result's threshold checked on other images: the held-out split swept
with the result's own request (:func:`check_on`), for
:meth:`OptimalConfidenceResult.check_on`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..certainty.heldout import HeldOutCheck
from ..curves.objectives import UnattainableTargetError
from ..records.sweeping import sweep_curves
from ..spec.request import RunRequest

if TYPE_CHECKING:  # pragma: no cover
    import fiftyone.core.collections as foc

    from .result import OptimalConfidenceResult

__all__ = ["check_on"]


def check_on(
    result: "OptimalConfidenceResult", samples: "foc.SampleCollection"
) -> HeldOutCheck:
    """Checks the chosen threshold on other images: sweeps ``samples``
    (for example a held-out split, ``dataset.match_tags("val")``) with the
    result's request (the same fields, matching and objective; exact
    thresholds, no per-class thresholds, no intervals, nothing stored), and
    reports the objective at the result's best threshold there next to its
    value on the result's own images.

    For a precision or recall target the score compared is the metric the
    objective maximizes (recall or precision) at the threshold.
    """
    request = RunRequest.of_result(result).replace(
        lower_bound=None, upper_bound=None, num_thresholds=None,
        per_class=False, min_support=1, n_bootstrap=None, seed=None,
    )
    curves = sweep_curves(samples, request, progress=False)
    # the same class as the result's, chosen by its objective without a
    # guarantee (the check compares point estimates)
    other = type(result).of_curves(
        curves, objective=dataclasses.replace(request.objective(), guarantee=None)
    )
    try:
        other_best = (other.best_threshold, other.best_score)
    except UnattainableTargetError:
        other_best = (float("nan"), float("nan"))
    t = result.best_threshold
    tuned, held = result.point(t), other.point(t)
    if result.objective.minimize:
        optimism = held["score"] / max(other.config.num_samples, 1) - tuned[
            "score"
        ] / max(result.config.num_samples, 1)
    else:
        optimism = tuned["score"] - held["score"]
    return HeldOutCheck(
        threshold=t,
        objective=result.objective.label,
        tuned=tuned,
        held_out=held,
        held_out_best_threshold=float(other_best[0]),
        held_out_best_score=float(other_best[1]),
        optimism=float(optimism),
    )
