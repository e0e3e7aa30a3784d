"""Text reports of a result: the table ``report()`` prints, the per-class
table, the intervals and the held-out check in words, the review band's
summary, and the markdown the App's panel shows.

Plain functions of the result's numbers: nothing here imports FiftyOne,
so every text is tested without a database.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .reports_certainty import calibration_text, certainty_metrics, guarantee_lines
from ..curves.sweep import point_metrics

if TYPE_CHECKING:  # pragma: no cover
    from ..certainty.calibration import Calibration
    from ..spec.objective import Objective
    from ..result.result import OptimalConfidenceResult

__all__ = [
    "BAND_WORDS",
    "ci_markdown",
    "class_report",
    "class_rows",
    "class_table_markdown",
    "decimals",
    "format_score",
    "interval_summary",
    "metrics",
    "output_markdown",
    "warnings_of",
    "report",
    "run_info",
    "selection_markdown",
    "summary_markdown",
]


def decimals(values: np.ndarray, least: int = 3, most: int = 10) -> int:
    """The fewest decimals (at least ``least``) that tell ``values`` apart."""
    for d in range(least, most):
        if len(np.unique(np.round(values, d))) == len(np.unique(values)):
            return d
    return most


def format_score(score: float | None, minimize: bool = False) -> str:
    """An objective's value for people: a cost as ``%g``, a rate with
    three decimals; ``NaN`` (a target not reached there) in words."""
    if score is None or not math.isfinite(score):
        return "target not reached"
    return f"{score:g}" if minimize else f"{score:.3f}"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# ---------------------------------------------------------------------------
# The result's own reports (``report()``, ``class_report()``, ...)


def _best_line(result: "OptimalConfidenceResult", d: int) -> str:
    c, o = result.config, result.objective
    mode = "exact" if c.num_thresholds is None else f"{c.num_thresholds}-point grid"
    by = "" if o.name == "f1" and o.average == "micro" else (
        f" by {o.label} = {result.best_score:.4g}"
    )
    return (
        f"Best threshold {result.best_threshold:.{d}f}{by} for "
        f"'{c.pred_field}' against '{c.gt_field}' (IoU {c.iou:g}, "
        f"{'classwise' if c.classwise else 'any class'}, "
        f"{c.num_samples} samples, {result.num_thresholds} thresholds, "
        f"{mode}):"
    )


def report(result: "OptimalConfidenceResult", num_rows: int = 5) -> str:
    """The best point and a table of ``num_rows`` thresholds on each side
    of it (see :meth:`~optimal_confidence.result.OptimalConfidenceResult.report`)."""
    i = result.best_index
    lo = max(0, i - num_rows)
    hi = min(result.num_thresholds, i + num_rows + 1)
    d = decimals(result.thresholds[lo:hi])
    lines = [
        _best_line(result, d),
        f"  F1 {result.best_f1:.4f}  precision {result.best_precision:.4f}  "
        f"recall {result.best_recall:.4f}  "
        f"TP {result.best_tp}  FP {result.best_fp}  FN {result.best_fn}",
        "",
        f"  {'threshold':>10} {'precision':>9} {'recall':>7} {'F1':>7} "
        f"{'TP':>7} {'FP':>7} {'FN':>7}",
    ]
    for k in range(lo, hi):
        mark = "*" if k == i else " "
        lines.append(
            f"{mark} {result.thresholds[k]:>10.{d}f} {result.precision[k]:>9.4f} "
            f"{result.recall[k]:>7.4f} {result.f1[k]:>7.4f} {result.tp[k]:>7d} "
            f"{result.fp[k]:>7d} {result.fn[k]:>7d}"
        )
    if result.objective.per_class:
        lines += ["", class_report(result)]
    if result.uncertainty is not None:
        lines += ["", str(interval_summary(result))]
    certain = guarantee_lines(result)
    if certain:
        lines += [""] + certain
    calibration = calibration_text(result)
    if calibration:
        lines += ["", calibration]
    if result.warnings:
        lines += [""] + [f"Warning: {w}" for w in result.warnings]
    return "\n".join(lines)


#: a threshold in the lowest share of the confidences is at the floor
FLOOR_SHARE = 0.01
#: the objective within this of the best at the lowest confidence (for
#: costs: this share of the lowest cost) means the curve may go on rising
FLOOR_TOLERANCE = 0.01


def _at_floor(result: "OptimalConfidenceResult", lowest: float) -> str | None:
    """Why the chosen threshold looks cut off by a confidence floor, or
    None: it is at or near the lowest confidence, or the objective there is
    as good as the best, so that lower thresholds, never seen, may be
    better."""
    t = result.best_threshold
    if t <= lowest:
        return "at the lowest confidence stored"
    conf = result.records.confidences()
    if t <= float(np.quantile(conf[np.isfinite(conf)], FLOOR_SHARE)):
        return "within the lowest 1% of the confidences"
    if float(np.min(result.thresholds)) > lowest:
        return None  # the sweep's bounds, not the predictions, stop it
    tol = FLOOR_TOLERANCE * (abs(result.best_score) if result.objective.minimize else 1.0)
    lo, _ = result.near_best(tol)
    if lo <= lowest:
        return f"close to the lowest confidence, where the {result.objective.label} is within {tol:.3g} of the best"
    return None


def warnings_of(result: "OptimalConfidenceResult") -> list[str]:
    """What to beware of in a result, in sentences: a threshold at the
    confidence floor the predictions were saved with, and the order
    FiftyOne gives confidences of exactly 0."""
    out = []
    conf = result.records.confidences()
    conf = conf[np.isfinite(conf)]
    where = _at_floor(result, float(conf.min())) if conf.size and result.config.task != "multiclass" else None
    if where is not None:
        t, lowest = result.best_threshold, float(conf.min())
        said = "" if t <= lowest else f" (the lowest confidence stored is {lowest:.4g})"
        out.append(
            f"The chosen threshold {t:.4g} is {where}{said}: the predictions were probably saved above a "
            f"confidence floor, so the curve below {lowest:.4g} is unknown and "
            f"a lower threshold may be better. Run inference again with a "
            f"lower confidence threshold (Ultralytics conf=0.001, FiftyOne "
            f"apply_model(confidence_thresh=None)) and sweep again"
        )
    if (conf == 0).any() and ((conf >= -1) & (conf < 0)).any():
        out.append(
            "Some predictions have confidence exactly 0 and others lie in "
            "[-1, 0): FiftyOne orders a confidence of 0 as if it were -1, so "
            "counts at thresholds <= 0 may differ from filter-and-evaluate. "
            "Counts at thresholds > 0 are exact"
        )
    return out


def metrics(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """The best point as a dict of plain numbers.

    With intervals, ``threshold_ci``, ``score_ci`` and ``ci_level``; with
    per-class thresholds, ``class_thresholds`` holds them and
    ``operating_point`` the totals where each class is kept at its own
    threshold.
    """
    out = {
        "best_threshold": result.best_threshold,
        "best_f1": result.best_f1,
        "precision": result.best_precision,
        "recall": result.best_recall,
        "tp": result.best_tp,
        "fp": result.best_fp,
        "fn": result.best_fn,
        "num_thresholds": result.num_thresholds,
        "run_key": result.run_key,
        "objective": result.objective.label,
        "score": result.best_score,
    }
    u = result.uncertainty
    if u is not None:
        out["threshold_ci"] = list(u.threshold_ci)
        out["score_ci"] = list(u.score_ci)
        out["ci_level"] = u.level
    if result.objective.per_class:
        out["class_thresholds"] = result.class_thresholds
        out["operating_point"] = point_metrics(result.operating_counts())
    return {**out, **certainty_metrics(result)}


def _pair(values: tuple[float, float], fmt: str) -> str:
    lo, hi = values
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "undefined"
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def interval_summary(result: "OptimalConfidenceResult") -> str | None:
    """The bootstrap intervals in one sentence, or None without them."""
    u = result.uncertainty
    if u is None:
        return None
    text = (
        f"{u.level:.0%} bootstrap intervals ({u.n_bootstrap} resamples of "
        f"the images): threshold {_pair(u.threshold_ci, '.4g')}, "
        f"{result.objective.label} at {result.best_threshold:.4g}: "
        f"{_pair(u.score_ci, '.4f')}"
    )
    if u.unattainable:
        text += f" (target unattainable in {u.unattainable:.1%} of resamples)"
    return text


def class_report(result: "OptimalConfidenceResult") -> str:
    """The per-class thresholds as a table, and the totals where each
    class is kept at its own threshold."""
    choices = result.class_choices
    if not choices:
        return "No per-class thresholds (objective.per_class is False)"
    d = decimals(np.array([ch.threshold for ch in choices.values()]))
    width = max(8, *(len(k) for k in choices))
    lines = [
        f"Per-class thresholds by {result.objective.label}:",
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
    m = point_metrics(result.operating_counts())
    lines.append(
        f"  all classes at their thresholds: F1 {m['f1']:.4f}  precision "
        f"{m['precision']:.4f}  recall {m['recall']:.4f}  TP {m['tp']}  "
        f"FP {m['fp']}  FN {m['fn']}"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# What the App's panel shows: ``run_info()`` and ``class_rows()`` are plain
# values for its state; the ``*_markdown`` functions render them


def ci_metric_names(objective: "Objective") -> tuple[str, str | None]:
    """The names of the metrics a bootstrap's ``score_ci`` and
    ``constraint_ci`` are of, e.g. ``("recall", "precision")`` for a
    precision target."""
    if objective.name in ("accuracy", "cost"):
        return objective.name, None
    name = f"F{objective.beta:g}" if objective.metric == "fbeta" else objective.metric
    return name, objective.constrained


def _ci_info(result: "OptimalConfidenceResult") -> dict[str, Any] | None:
    u, o = result.uncertainty, result.objective
    if u is None:
        return None
    metric, constraint = ci_metric_names(o)
    if o.average == "macro" and o.name != "cost":
        metric += " (macro)"
        constraint = constraint and f"{constraint} (macro)"
    return {
        "level": u.level,
        "n_bootstrap": u.n_bootstrap,
        "threshold": list(u.threshold_ci),
        "score": list(u.score_ci),
        "constraint": list(u.constraint_ci),
        "unattainable": u.unattainable,
        "metric": metric,
        "constraint_metric": constraint,
    }


def run_info(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """What the panel's summary shows of a result: its metrics, objective,
    config and intervals (plain values, possibly non-finite)."""
    c, o = result.config, result.objective
    i = result.best_index
    return {
        **result.metrics(),
        "pred_field": c.pred_field,
        "gt_field": c.gt_field,
        "iou": c.iou,
        "classwise": c.classwise,
        "num_samples": c.num_samples,
        "exact": c.num_thresholds is None,
        "task": c.task,
        "positive_label": c.positive_label,
        "objective_name": o.name,
        "minimize": o.minimize,
        "per_class": o.per_class,
        "kept": int(result.tp[i] + result.fp[i]),
        "total": int(result.records.num_preds),
        "coverage": float(result.coverage[i]),
        "ci": _ci_info(result),
        "warnings": list(result.warnings),
        "guarantee": guarantee_lines(result),
    }


def class_rows(result: "OptimalConfidenceResult") -> list[dict[str, Any]]:
    """One row per class of the per-class thresholds."""
    return [
        {
            "class": ch.label,
            "threshold": ch.threshold,
            "support": ch.support,
            "score": ch.score,
            "own": ch.own,
            "note": "" if ch.own else f"global threshold: {ch.reason}",
        }
        for ch in result.class_choices.values()
    ]


def _chosen_text(info: Mapping[str, Any]) -> str:
    if info["objective_name"] == "accuracy":
        return f"as the {info['objective']}"
    return f"by {info['objective']} = {format_score(info['score'], info['minimize'])}"


def summary_markdown(info: Mapping[str, Any]) -> str:
    """The panel's summary of a result (:func:`run_info`)."""
    t = _fmt(info["best_threshold"])
    chosen = _chosen_text(info)
    mode = "exact sweep" if info["exact"] else "grid"
    fields = f"`{info['pred_field']}` vs `{info['gt_field']}`"
    if info["task"] == "multiclass":
        return (
            f"**Answer automatically at confidence >= {t}: accuracy "
            f"{info['precision']:.3f}, {1 - info['coverage']:.1%} escalated** "
            f"({info['total'] - info['kept']} of {info['total']} images to a "
            f"person), chosen {chosen}  \n"
            f"{fields}, multiclass with escalation, {info['num_samples']} "
            f"samples, {info['num_thresholds']} thresholds ({mode})"
        ) + guarantee_markdown(info.get("guarantee")) + warnings_markdown(info.get("warnings"))
    if info["task"] == "binary":
        setting = f"positive label `{info['positive_label']}`"
    else:
        scope = "classwise" if info["classwise"] else "any class"
        setting = f"IoU {info['iou']:g}, {scope}"
    return (
        f"**Best threshold {t}** {chosen}: F1 {info['best_f1']:.3f}, "
        f"precision {info['precision']:.3f}, recall {info['recall']:.3f}, "
        f"TP {info['tp']}, FP {info['fp']}, FN {info['fn']}  \n"
        f"{fields}, {setting}, {info['num_samples']} samples, "
        f"{info['num_thresholds']} thresholds ({mode})"
    ) + guarantee_markdown(info.get("guarantee")) + warnings_markdown(info.get("warnings"))


def guarantee_markdown(lines: Sequence[str] | None) -> str:
    """The guarantee under a summary: its sentence, the point estimate,
    and each class's as a list ("" without one)."""
    if not lines:
        return ""
    head = [line for line in lines if not line.startswith("  ")]
    classes = [f"- {line.strip()}" for line in lines if line.startswith("  ")]
    return "\n\n**Guarantee:** " + " ".join(head) + ("\n\n" + "\n".join(classes) if classes else "")


def calibration_markdown(cal: "Calibration", calibrator: Any = None, after: "Calibration | None" = None) -> str:
    """The panel's words on calibration: the ECE and its largest gap; with
    a calibrator stored, what it does on the predictions it was fitted on."""
    text = f"**Calibration:** {cal.summary()}."
    if calibrator is not None and after is not None:
        text += (
            f"  \n{calibrator.summary()}: ECE {after.ece:.3f} on the predictions it was "
            f"fitted on (an optimistic view; measure it on other images)."
        )
    return text


def warnings_markdown(warnings: Sequence[str] | None) -> str:
    """Warnings as quoted paragraphs under a summary ("" without any)."""
    return "".join(f"\n\n> **Warning:** {w}" for w in warnings or [])


def _interval(pair: Sequence[float | None] | None, minimize: bool = False) -> str:
    if pair is None or any(x is None for x in pair):
        return "[undefined]"
    lo, hi = pair
    if minimize:
        return f"[{lo:g}, {hi:g}]"
    return f"[{lo:.3f}, {hi:.3f}]"


def ci_markdown(info: Mapping[str, Any]) -> str:
    """The bootstrap intervals in words: "95% interval of the threshold
    [a, b]; F1 at t: [c, d]"."""
    ci = info["ci"]
    lo, hi = ci["threshold"]
    threshold = (
        "undefined (no resample reached the target)"
        if lo is None
        else f"[{_fmt(lo)}, {_fmt(hi)}]"
    )
    text = (
        f"{ci['level']:.0%} interval of the threshold {threshold}; "
        f"{ci['metric']} at {_fmt(info['best_threshold'])}: "
        f"{_interval(ci['score'], info['minimize'])}"
    )
    if ci.get("constraint_metric"):
        text += f"; {ci['constraint_metric']} there: {_interval(ci['constraint'])}"
    if ci["unattainable"]:
        text += (
            f"; the target was out of reach in {ci['unattainable']:.0%} of "
            f"the resamples"
        )
    return text + f" ({ci['n_bootstrap']} bootstrap resamples of the images)"


def selection_markdown(selected: Mapping[str, Any] | None) -> str:
    """The counts at the threshold last clicked in the panel."""
    if not selected:
        return (
            "_Click a point on a curve to show the predictions kept at that "
            "threshold._"
        )
    s = selected
    everything = s["scope"] == "all classes"
    if s.get("task") == "multiclass":
        return (
            f"**At threshold {_fmt(s['threshold'])}** ({s['scope']}): "
            f"accuracy {s['precision']:.3f}, {s['tp']} right and {s['fp']} "
            f"wrong automatic answers; {s['kept']} of {s['total']} images "
            f"answered automatically{'' if everything else ' (all classes)'}, "
            f"{s['total'] - s['kept']} escalated"
        )
    return (
        f"**At threshold {_fmt(s['threshold'])}** ({s['scope']}): precision "
        f"{s['precision']:.3f}, recall {s['recall']:.3f}, F1 {s['f1']:.3f}, "
        f"TP {s['tp']}, FP {s['fp']}, FN {s['fn']}; {s['kept']} of "
        f"{s['total']} predictions kept{'' if everything else ' (all classes)'}"
    )


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def class_table_markdown(
    rows: Sequence[Mapping[str, Any]],
    operating: Mapping[str, Any] | None,
    minimize: bool | None,
) -> str:
    """The per-class thresholds (:func:`class_rows`) as a markdown table,
    and the totals with every class at its own threshold."""
    lines = [
        "**Per-class thresholds**",
        "",
        "| class | threshold | support | score | note |",
        "| :-- | --: | --: | --: | :-- |",
    ]
    for r in rows:
        score = "-" if r["score"] is None else format_score(r["score"], bool(minimize))
        lines.append(
            f"| {_md_cell(r['class'])} | {_fmt(r['threshold'])} | "
            f"{r['support']} | {score} | {_md_cell(r['note'])} |"
        )
    if operating:
        o = operating
        lines += [
            "",
            f"All classes at their thresholds: precision {o['precision']:.3f}, "
            f"recall {o['recall']:.3f}, F1 {o['f1']:.3f}, TP {o['tp']}, "
            f"FP {o['fp']}, FN {o['fn']}",
        ]
    return "\n".join(lines)


#: how the review band reads for each task
BAND_WORDS = {
    "detection": {
        "items": "predictions",
        "precision": "Precision of the accepted set",
        "max_lost": "Max share of true detections lost",
    },
    "binary": {
        "items": "positive answers",
        "precision": "Precision of the accepted set",
        "max_lost": "Max share of true positives lost",
    },
    "multiclass": {
        "items": "answers",
        "precision": "Accuracy of the accepted answers",
        "max_lost": "Max share of right answers lost",
    },
}


def threshold_text(t: float) -> str:
    """A threshold to read and to deploy: seven significant digits (two
    confidences closer than that are rare; the returned numbers are
    exact)."""
    return f"{t:.7g}"


def point_words(result: "OptimalConfidenceResult", threshold: float | None) -> str:
    """Which predictions an action takes, in words: those kept at
    ``threshold``, or at the result's chosen point."""
    if threshold is not None:
        return f"the predictions kept at threshold {threshold_text(threshold)}"
    if result.objective.per_class:
        return f"the chosen point (each class at its own threshold, {result.objective.label})"
    return f"the chosen point (threshold {threshold_text(result.best_threshold)}, {result.objective.label})"


def output_markdown(out: Mapping[str, Any]) -> str:
    """What the operator's output shows of its returned dict
    (:meth:`~optimal_confidence.result.OptimalConfidenceResult.metrics`
    and the review band): rates rounded for reading, in lines that wrap."""
    lines = [
        f"**Best threshold: {threshold_text(out['best_threshold'])}** "
        f"({out['objective']} = {format_score(out['score'], out['objective'].startswith('cost'))})",
        "",
        f"F1 {out['best_f1']:.3f} · precision {out['precision']:.3f} · recall "
        f"{out['recall']:.3f} · TP {out['tp']} · FP {out['fp']} · FN {out['fn']} · "
        f"{out['num_thresholds']} thresholds",
        "",
        f"Stored as run: `{out['run_key']}`",
    ]
    if out.get("threshold_ci"):
        lo, hi = out["threshold_ci"]
        s_lo, s_hi = out["score_ci"]
        lines += [
            "",
            f"{out['ci_level']:.0%} interval of the threshold "
            f"{_interval((lo, hi))}; of the objective there {_interval((s_lo, s_hi))}",
        ]
    if out.get("class_thresholds"):
        lines += ["", "| class | threshold |", "| :-- | --: |"]
        lines += [
            f"| {_md_cell(k)} | {threshold_text(t)} |" for k, t in out["class_thresholds"].items()
        ]
        o = out["operating_point"]
        lines += [
            "",
            f"All classes at their thresholds: F1 {o['f1']:.3f} · precision "
            f"{o['precision']:.3f} · recall {o['recall']:.3f} · TP {o['tp']} · "
            f"FP {o['fp']} · FN {o['fn']}",
        ]
    if out.get("guarantee"):
        lines += ["", f"**Guarantee:** {out['guarantee']['summary']}"]
        if out.get("point_estimate") is not None:
            lines.append(f"(the point estimate, without a guarantee: {threshold_text(out['point_estimate'])})")
    if out.get("ece") is not None:
        at = "" if out.get("laece") is None else f", LaECE {out['laece']:.3f} at the threshold"
        lines += ["", f"Calibration: ECE {out['ece']:.3f}{at}"]
    if out.get("review_band_summary"):
        lines += ["", f"**Review band:** {out['review_band_summary']}"]
    if out.get("warnings"):
        lines.append(warnings_markdown(out["warnings"]))
    if out.get("comparison_markdown"):
        lines += ["", out["comparison_markdown"]]
    if out.get("exported"):
        lines += ["", f"Operating point exported to `{out['exported']}`"]
    if out.get("evaluation"):
        lines += ["", f"FiftyOne evaluation at the chosen threshold stored as `{out['evaluation']}`"]
    if out.get("calibrated_field"):
        lines += ["", f"Calibrated confidences written to the new field `{out['calibrated_field']}`"]
    if out.get("estimate"):
        est = out["estimate"]
        lines += ["", f"**On the new images:** {est['summary']}", "", f"**Shift check:** {est['shift']}"]
    if out.get("label_plan"):
        plan = out["label_plan"]
        lines += ["", f"**Label plan:** {plan['summary']}; tagged `{plan['tag']}`"]
    return "\n".join(lines)


def band_header_markdown(task: str, classwise: bool) -> str:
    """The review band's header in the panel."""
    if not classwise:
        return (
            "**Review band**: needs a classwise result (with matches "
            "across labels, reviewing one prediction changes others' "
            "matches)."
        )
    return (
        f"**Review band**: accept {BAND_WORDS[task]['items']} at or above a "
        f"high threshold, drop those below a low one, and send the ones in "
        f"between to a person."
    )


def review_message(band: Mapping[str, Any]) -> str:
    """What the panel says when it shows the predictions to review."""
    return (
        f"Showing the {band['review']} predictions to review on "
        f"{band['review_images']} images (confidence in "
        f"[{_fmt(band['t_low'])}, {_fmt(band['t_high'])}))."
    )


def save_message(wanted: str, name: str, created: bool) -> str:
    """What the panel says after saving a view as ``wanted`` (saved as
    ``name``, or already there)."""
    if not created:
        return f"This view is already saved as '{name}'; nothing changed."
    if name != wanted:
        return (
            f"Saved view '{name}' ('{wanted}' already holds a different "
            f"view and was left as it was)."
        )
    return f"Saved view '{name}'."
