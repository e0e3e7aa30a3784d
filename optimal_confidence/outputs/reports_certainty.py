"""What a result says about how far its numbers can be trusted beyond the
images swept: its guarantee (Learn-then-Test) beside the point estimate,
and how calibrated its confidences are. Texts and plain dicts for
:mod:`optimal_confidence.outputs.reports`, the operator, the command line and the
panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..certainty.guarantee import Guarantee
from ..certainty import certified

if TYPE_CHECKING:  # pragma: no cover
    from ..certainty.calibration import Calibration
    from ..result.result import OptimalConfidenceResult

__all__ = [
    "calibrated_calibration",
    "calibration_table",
    "calibration_of",
    "calibration_text",
    "certainty_metrics",
    "guarantee_lines",
    "point_estimate",
]


def point_estimate(result: "OptimalConfidenceResult") -> float | None:
    """The threshold the objective chooses without its guarantee (the best
    on these images), or None: no guarantee, or no threshold reaches the
    target on these images; see :func:`optimal_confidence.certainty.certified.point_estimate`."""
    return certified.point_estimate(result)


def guarantee_lines(result: "OptimalConfidenceResult") -> list[str]:
    """The guarantee in words, the point estimate beside it, and each
    class's guarantee (or why it has none); ``[]`` without a guarantee."""
    g = result.guarantee
    if g is None:
        return []
    lines = [g.summary() + "."]
    t = point_estimate(result)
    if t is not None:
        lines.append(
            f"The point estimate (the best threshold on these images, with no "
            f"guarantee) is {t:.4g}; the certified threshold is {g.threshold:.4g}."
        )
    for label, found in result.class_guarantees.items():
        text = found.summary() if isinstance(found, Guarantee) else f"no guarantee: {found}"
        lines.append(f"  {label}: {text}")
    return lines


def calibration_of(result: "OptimalConfidenceResult", num_bins: int = 10) -> "Calibration | None":
    """The result's reliability diagram, or None for confidences outside
    [0, 1] (scores and logits have no calibration to measure)."""
    try:
        return result.calibration(num_bins)
    except ValueError:
        return None


def calibrated_calibration(result: "OptimalConfidenceResult", num_bins: int = 10) -> "Calibration | None":
    """The reliability diagram of the calibrated confidences of the same
    predictions (the ones the calibrator was fitted on: an optimistic
    view), or None without a calibrator."""
    if result.calibrator is None:
        return None
    from ..certainty.calibration import calibration, calibrated_records

    return calibration(calibrated_records(result.records, result.calibrator), num_bins=num_bins)


def calibration_text(result: "OptimalConfidenceResult") -> str | None:
    """One line on calibration: the ECE and where it is worst; with a
    calibrator, what was fitted. None for confidences outside [0, 1]."""
    cal = calibration_of(result)
    if cal is None:
        return None
    text = f"Calibration: {cal.summary()}."
    if result.calibrator is not None:
        after = calibrated_calibration(result)
        text += (
            f" {result.calibrator.summary()}; ECE {after.ece:.3f} on the predictions it "
            f"was fitted on (measure it on other images)."
        )
    return text


def certainty_metrics(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """The guarantee and calibration as plain values, for the operator's
    result and ``--json``: ``guarantee`` (its dict and ``summary``),
    ``point_estimate``, ``class_guarantees``, ``ece`` (over all the
    predictions), ``laece`` (of those kept at the threshold; None when
    undefined); each only when the result has it."""
    out: dict[str, Any] = {}
    g = result.guarantee
    if g is not None:
        out["guarantee"] = {**g.to_dict(), "summary": g.summary()}
        out["point_estimate"] = point_estimate(result)
    if result.class_guarantees:
        out["class_guarantees"] = {
            k: v.to_dict() if isinstance(v, Guarantee) else {"reason": v}
            for k, v in result.class_guarantees.items()
        }
    cal = calibration_of(result)
    if cal is not None:
        out["ece"] = cal.ece
        if cal.laece is not None:
            out["laece"] = cal.laece.to_dict()["value"]
    return out


def calibration_table(cal: "Calibration") -> str:
    """The reliability diagram as a table: one row per bin."""
    lines = [
        "Reliability (a prediction is right when it is a true positive):",
        f"  {'confidence':<12} {'predictions':>11} {'mean conf':>9} {'right':>7} {'gap':>7}",
    ]
    for b in range(cal.num_bins):
        lo, hi = cal.bin_edges[b], cal.bin_edges[b + 1]
        rng = f"[{lo:.2f}, {hi:.2f}{']' if b == cal.num_bins - 1 else ')'}"
        if cal.count[b] == 0:
            lines.append(f"  {rng:<12} {0:>11} {'-':>9} {'-':>7} {'-':>7}")
            continue
        m, p = cal.mean_confidence[b], cal.precision[b]
        lines.append(f"  {rng:<12} {cal.count[b]:>11,} {m:>9.3f} {p:>7.3f} {m - p:>+7.3f}")
    lines.append(f"  ECE {cal.ece:.4f} over {cal.num_predictions:,} predictions")
    if cal.laece is not None:
        lines.append(f"  {cal.laece.summary()}")
    return "\n".join(lines)

