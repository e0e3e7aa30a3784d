"""The texts of a comparison of models (:mod:`optimal_confidence.run.compare`):
the command line's table and the markdown of the panel and the operator.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .reports import _md_cell, threshold_text

__all__ = ["comparison_markdown", "comparison_report"]


def _threshold(row: Mapping[str, Any]) -> str:
    """The threshold a model ships at: one, or its classes' own."""
    return "per class" if row.get("class_thresholds") else threshold_text(row["threshold"])


def _at_text(at: Mapping[str, Any] | None, metric: str) -> str:
    if at is None:
        return "not reached"
    return f"{at[metric]:.3f} at t = {threshold_text(at['threshold'])}"


def comparison_report(rows: Sequence[Mapping[str, Any]]) -> str:
    """Models compared (``ModelComparison.operating_points``): each at its
    own threshold, then all at the reference's precision and recall."""
    width = max(5, *(len(r["model"]) for r in rows))
    p, r = rows[0]["at_precision"], rows[0]["at_recall"]
    lines = [
        f"  {'model':<{width}} {'threshold':>10} {'precision':>9} {'recall':>7} {'F1':>7} "
        f"{'TP':>6} {'FP':>6} {'FN':>6}",
    ]
    for row in rows:
        lines.append(
            f"  {row['model']:<{width}} {_threshold(row):>10} "
            f"{row['precision']:>9.4f} {row['recall']:>7.4f} {row['f1']:>7.4f} "
            f"{row['tp']:>6d} {row['fp']:>6d} {row['fn']:>6d}"
        )
    if p is not None:
        lines += ["", f"At precision >= {p['target']:.4f} (the first model's), recall:"]
        lines += [f"  {row['model']:<{width}} {_at_text(row['at_precision'], 'recall')}" for row in rows]
    if r is not None:
        lines += ["", f"At recall >= {r['target']:.4f} (the first model's), precision:"]
        lines += [f"  {row['model']:<{width}} {_at_text(row['at_recall'], 'precision')}" for row in rows]
    return "\n".join(lines)


def comparison_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The comparison's table in markdown, for the panel and the operator."""
    p, r = rows[0]["at_precision"], rows[0]["at_recall"]
    head = "| model | threshold | precision | recall | F1 | TP | FP | FN |"
    lines = ["**Models compared**", "", head, "| :-- | --: | --: | --: | --: | --: | --: | --: |"]
    for row in rows:
        lines.append(
            f"| {_md_cell(row['model'])} | {_threshold(row)} | "
            f"{row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
            f"{row['tp']} | {row['fp']} | {row['fn']} |"
        )
    if p is not None and r is not None:
        lines += [
            "",
            f"At the first model's precision {p['target']:.3f}, recall: "
            + "; ".join(f"{row['model']} {_at_text(row['at_precision'], 'recall')}" for row in rows),
            "",
            f"At its recall {r['target']:.3f}, precision: "
            + "; ".join(f"{row['model']} {_at_text(row['at_recall'], 'precision')}" for row in rows),
        ]
    return "\n".join(lines)
