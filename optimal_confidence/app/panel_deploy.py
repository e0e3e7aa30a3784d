"""The curves panel's deployment buttons: FiftyOne's evaluation at the
selected threshold (none selected: the chosen point), and the same
threshold exported for deployment. Functions of the panel's ``ctx``, like :mod:`.panel_actions`."""

from __future__ import annotations

from typing import Any

import json

import fiftyone as fo

from ..outputs import reports
from ..result.result import OptimalConfidenceResult
from ..store.files import confined_path, dataset_folder, file_write, free_file_name, text_writer, write_file
from ..store.plan import suggest_eval_key
from .panel_actions import error_message, message, selected_threshold
from .panel_state import selection_config

__all__ = ["evaluate", "export", "export_dir"]


def evaluate(ctx: Any, run_key: str, result: OptimalConfidenceResult) -> None:
    """Stores FiftyOne's evaluation of the predictions kept at the selected
    threshold (none selected: the chosen point, each class at its own
    threshold with a per-class objective) under a new key, never over an
    existing one, and says where to see it."""
    t = selected_threshold(ctx)
    key = suggest_eval_key(ctx.dataset, f"{run_key}_eval")
    result.evaluate(ctx.dataset.load_run_view(run_key), key, threshold=t)
    where = reports.point_words(result, t)
    ctx.dataset.reload()
    sums = ctx.dataset.aggregate([fo.Sum(f"{key}_{k}") for k in ("tp", "fp", "fn")])
    tp, fp, fn = (int(x) for x in sums)
    text = (
        f"Stored FiftyOne's evaluation `{key}` of {where}: TP {tp}, FP {fp}, FN {fn}. "
        f"Open the Model Evaluation panel for its confusion matrix and per-class "
        f"metrics, or load it with `dataset.load_evaluation_results('{key}')`."
    )
    ctx.panel.state.set(message(text, at="deploy"))
    ctx.ops.notify(f"Stored evaluation '{key}'", variant="success")


def export_dir(dataset: Any) -> str:
    """Where the App writes a dataset's exported operating points: the
    dataset's folder (a safe name) under the export folder
    (``$OPTIMAL_CONFIDENCE_EXPORT_DIR``, else
    ``<fo.config.default_dataset_dir>/optimal_confidence``)."""
    return dataset_folder(dataset.name)


def export(ctx: Any, run_key: str, result: OptimalConfidenceResult) -> None:
    """Writes the selected threshold (none selected: the chosen point, each
    class at its own threshold with a per-class objective) as a JSON
    deployment config (:func:`~.panel_state.selection_config`) to a new file
    in :func:`export_dir` (never over a file) and shows it, to copy into
    deployment code."""
    t = selected_threshold(ctx)
    folder = export_dir(ctx.dataset)
    base = run_key if t is None else f"{run_key}_t{t:.4g}"
    text = json.dumps(selection_config(result, t), indent=2) + "\n"
    try:
        path = confined_path(ctx.dataset.name, free_file_name(folder, base, ".json"))
        write_file(file_write(path, option="export", root=folder), text_writer(text))
    except ValueError as e:
        ctx.panel.state.set(error_message(e, at="deploy"))
        return
    except OSError as e:
        ctx.panel.state.set(message(f"Cannot write {path}: {e.strerror or e}", at="deploy"))
        return
    what = (
        reports.point_words(result, None) if t is None
        else f"threshold {reports.threshold_text(t)} (selected; every class kept at it)"
    )
    text = (
        f"**Exported {what}** to `{path}`; filter a model's output with "
        f"`optimal_confidence.apply_thresholds(detections, '{path}')`:\n\n"
        f"```json\n{text.rstrip()}\n```"
    )
    ctx.panel.state.set(message(text, at="deploy"))
    ctx.ops.notify(f"Exported to {path}", variant="success")
