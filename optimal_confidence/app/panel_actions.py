"""What the curves panel's handlers share: the current result, showing a
run, sending its curves, selecting a threshold, saving a view. Functions of
the panel's ``ctx``, so that the panel class keeps only its events."""

from __future__ import annotations

import time
from typing import Any

from ..outputs import reports
from ..run.compare import ModelComparison
from ..spec.objective import Objective
from ..spec.options import speak
from ..plots import comparison_figures, operating_point, plotly_figures, reliability_figure
from ..outputs.reports_certainty import calibrated_calibration, calibration_of
from ..outputs.reports_compare import comparison_markdown
from ..result.result import OptimalConfidenceResult
from ..store.runs import broken_optimal_confidence_runs, compared_runs, list_optimal_confidence_runs
from . import panel_layout as layout
from .panel_state import (
    THRESHOLD_BOX,
    ALL,
    BAND_DEFAULTS,
    band_object,
    counts_at as _counts_at_class,
    jsonable,
    load_result,
    objective_inputs,
    save_view_once,
    threshold_in_view,
)

__all__ = [
    "current",
    "message",
    "save",
    "select",
    "select_best",
    "selected_threshold",
    "send_curves",
    "show_calibration",
    "show_comparison",
    "show_result",
    "show_run",
]


def message(text: str | None, *, at: str | None = None) -> dict[str, Any]:
    """The state of the panel's message: ``text``, shown at the top, or
    under the per-class table (``at="per_class"``), the review band
    (``at="band"``), the objective switch (``at="objective"``) or the
    deploy buttons (``at="deploy"``), where the button that caused it is."""
    return {"message": text, "message_at": at}


def error_message(e: Exception, *, at: str | None = None) -> dict[str, Any]:
    """:func:`message` of an error: its options named by the form's labels
    (the messages name them as the API does)."""
    return message(speak(str(e), "app"), at=at)


def selected_threshold(ctx: Any) -> float | None:
    selected = ctx.panel.state.get("selected")
    return selected["threshold"] if selected else None


def current(ctx: Any) -> tuple[str, OptimalConfidenceResult] | None:
    """The run the panel shows and its result (chosen again by the
    objective the panel's switch applied, if any), or None without one.
    A run deleted meanwhile (another tab, a notebook) is said to be gone
    and the panel moves to the newest run."""
    run_key = ctx.panel.state.get("controls.run_key")
    if run_key is None:
        return None
    try:
        result = load_result(ctx.dataset, run_key)
    except Exception:  # deleted, or no longer loadable: look again
        ctx.dataset.reload()
        if run_key in list_optimal_confidence_runs(ctx.dataset):
            raise
        show_run(ctx, None)
        ctx.panel.state.set(
            message(f"The result '{run_key}' is gone (deleted elsewhere); showing the newest result.")
        )
        return None
    choice = ctx.panel.state.get("choice")
    if choice:
        result = result.with_objective(Objective.from_dict(choice))
    return run_key, result


def show_run(ctx: Any, run_key: str | None, *, runs: list[str] | None = None) -> None:
    """Shows run ``run_key`` (if it is not one of ``runs``: the newest)
    with its stored objective, all classes and no threshold selected."""
    runs = list_optimal_confidence_runs(ctx.dataset) if runs is None else runs
    if run_key not in runs:
        run_key = runs[0] if runs else None
    update = {
        "runs": runs, "open_run": None, "controls.run_key": run_key,
        "controls.class_name": ALL, "selected": None, **cleared_box(ctx), **message(None),
        "choice": None, "band": None, "band_error": None,
        "broken": broken_optimal_confidence_runs(ctx.dataset),
        "dataset_id": str(ctx.dataset._doc.id),
    }
    if not ctx.panel.state.get("band_inputs"):
        update["band_inputs"] = dict(BAND_DEFAULTS)
    if run_key is None:
        ctx.panel.state.set(
            {**update, "info": None, "classes": [], "class_table": [],
             "operating": None, "layouts": {}}
        )
        ctx.panel.data.set({"plots.threshold": [], "plots_pr.pr": []})
        show_comparison(ctx, None)
        show_calibration(ctx, None)
        return
    result = load_result(ctx.dataset, run_key)
    update["objective_inputs"] = objective_inputs(result.objective)
    # the chosen objective and the band belong to the run shown before
    ctx.panel.state.set({"choice": None, "band": None})
    show_result(ctx, result, update)
    show_comparison(ctx, run_key)
    show_calibration(ctx, result)


def show_comparison(ctx: Any, run_key: str | None) -> None:
    """The models run ``run_key`` was compared with (itself included),
    overlaid, and their table; nothing for a run compared with none."""
    keys = compared_runs(ctx.dataset, run_key) if run_key else []
    if len(keys) < 2:
        ctx.panel.state.set("comparison", None)
        ctx.panel.data.set({"compare.threshold": [], "compare.pr": []})
        return
    results = {}
    for k in keys:
        result = load_result(ctx.dataset, k)
        results[result.config.pred_field] = result
    figs = comparison_figures(results, width=None, height=layout.PLOT_HEIGHT)
    ctx.panel.data.set(
        {"compare.threshold": figs["threshold"]["data"], "compare.pr": figs["pr"]["data"]}
    )
    rows = ModelComparison(results).operating_points()
    ctx.panel.state.set(
        "comparison",
        jsonable({
            "runs": keys,
            "markdown": comparison_markdown(rows),
            "layouts": {k: fig["layout"] for k, fig in figs.items()},
        }),
    )


def show_calibration(ctx: Any, result: OptimalConfidenceResult | None) -> None:
    """The result's reliability diagram (with the calibrator stored with
    the run: after it too) and its summary; nothing for confidences
    outside [0, 1]."""
    cal = None if result is None else calibration_of(result)
    if cal is None:
        ctx.panel.state.set("calibration", None)
        ctx.panel.data.set({"calibration.reliability": []})
        return
    after = calibrated_calibration(result)
    fig = reliability_figure(cal, after=after, width=None, height=layout.PLOT_HEIGHT)
    ctx.panel.data.set({"calibration.reliability": fig["data"]})
    ctx.panel.state.set(
        "calibration",
        jsonable({"markdown": reports.calibration_markdown(cal, result.calibrator, after), "layout": fig["layout"]}),
    )


def show_result(ctx: Any, result: OptimalConfidenceResult, update: dict, *, keep_selection: bool = False) -> None:
    """Sends a result's summary, per-class table and curves (the
    threshold selected stays marked with ``keep_selection``)."""
    update = {
        **update,
        "classes": result.classes,
        "info": jsonable(reports.run_info(result)),
        "class_table": jsonable(reports.class_rows(result)) if result.objective.per_class else [],
        "operating": jsonable(operating_point(result)) if result.objective.per_class else None,
    }
    t = selected_threshold(ctx) if keep_selection else None
    send_curves(ctx, result, t, update)


def restore_selection(ctx: Any) -> None:
    """After a reload the App's view may still keep the predictions at
    a threshold the panel selected: select it again."""
    found = current(ctx)
    if found is None or ctx.view is None:
        return
    run_key, result = found
    t = threshold_in_view(ctx.view, result, ctx.dataset.load_run_view(run_key))
    if t is not None:
        ctx.panel.state.set(
            {"selected": counts_at(ctx, result, t), "layouts": layouts(ctx, result, t)}
        )


def figures(ctx: Any, result: OptimalConfidenceResult, selected: float | None) -> dict:
    name = ctx.panel.state.get("controls.class_name") or ALL
    band = ctx.panel.state.get("band")
    return plotly_figures(
        result,
        classes=None if name == ALL else name,
        selected=selected,
        band=band_object(band) if band else None,
        width=None,
        height=layout.PLOT_HEIGHT,
    )


def layouts(ctx: Any, result: OptimalConfidenceResult, selected: float | None) -> dict:
    return {k: fig["layout"] for k, fig in figures(ctx, result, selected).items()}


def send_curves(ctx: Any, result: OptimalConfidenceResult, selected: float | None, update: dict | None = None) -> None:
    figs = figures(ctx, result, selected)
    ctx.panel.data.set(
        {"plots.threshold": figs["threshold"]["data"], "plots_pr.pr": figs["pr"]["data"]}
    )
    ctx.panel.state.set({**(update or {}), "layouts": {k: fig["layout"] for k, fig in figs.items()}})


def counts_at(ctx: Any, result: OptimalConfidenceResult, threshold: float) -> dict:
    return _counts_at_class(result, threshold, ctx.panel.state.get("controls.class_name") or ALL)


def select(ctx: Any, threshold: float | None, *, typed: bool = False) -> None:
    """Sets the App's view to the run's target with the predictions kept
    at ``threshold`` (default: the best one) and shows their counts.
    ``typed``: the threshold comes from the box."""
    found = current(ctx)
    if found is None:
        return
    run_key, result = found
    t = result.best_threshold if threshold is None else threshold
    ctx.ops.set_view(result.view(ctx.dataset.load_run_view(run_key), t))
    before = ctx.panel.state.get("box_shown")
    ctx.panel.state.set(
        {
            "selected": counts_at(ctx, result, t),
            THRESHOLD_BOX: t,  # the box shows the threshold selected
            "box_shown": t,
            # the App's box may send the value it showed before again once
            # it is no longer the selection (FiftyOne 1.22.1 keeps the
            # input's own value): that value is not a new choice
            "stale_box": _stale_after(ctx, before, t, typed),
            **message(None),
            "layouts": layouts(ctx, result, t),
        }
    )


def _stale_after(ctx: Any, before: float | None, t: float, typed: bool) -> list | None:
    """The box's stale value once ``t`` is selected: the value it showed
    (or the one a cleared box showed), unless ``t`` was typed there."""
    if typed:
        return None
    if before is None:  # cleared just before (a new run shown): keep that one
        return ctx.panel.state.get("stale_box")
    return None if before == t else [before, time.time()]


#: how long after a selection the box's old value is taken for the App's echo
STALE_SECONDS = 3.0


def cleared_box(ctx: Any) -> dict[str, Any]:
    """The state of an empty threshold box (no single threshold selected):
    the value it showed is stale from now on (see :func:`select`)."""
    before = ctx.panel.state.get("box_shown")
    return {
        THRESHOLD_BOX: None, "box_shown": None,
        "stale_box": None if before is None else [before, time.time()],
    }


def is_stale_box(ctx: Any, value: float) -> bool:
    """Whether ``value`` from the threshold box is the value it showed
    before another selection replaced it, sent again within
    :data:`STALE_SECONDS` (see :func:`select`); forgotten once seen."""
    stale = ctx.panel.state.get("stale_box")
    if value is None or not stale or value != stale[0]:
        return False
    ctx.panel.state.set("stale_box", None)
    # the App sends it within a moment; typed later, it is a choice
    return time.time() - stale[1] < STALE_SECONDS


def show_per_class(ctx: Any) -> None:
    """Sets the App's view to the run's target with each class's
    predictions kept at its own threshold, and says so under the per-class
    table (no single threshold selected)."""
    found = current(ctx)
    if found is None or not found[1].objective.per_class:
        return
    run_key, result = found
    ctx.ops.set_view(result.view(ctx.dataset.load_run_view(run_key)))
    op = operating_point(result)
    text = (
        f"Showing each class at its own threshold: {op['tp'] + op['fp']} of "
        f"{result.records.num_preds} predictions kept."
    )
    ctx.panel.state.set(
        {
            "selected": None, **cleared_box(ctx),
            **message(text, at="per_class"),
            "layouts": layouts(ctx, result, None),
        }
    )


def select_best(ctx: Any) -> None:
    """Selects the shown result's choice, as after a new run: the App's
    view keeps the predictions at the best threshold (with a per-class
    objective: each class at its own, no single threshold selected), the
    box and the counts show it, and Export and Evaluate take it. What a
    new run does, so that nothing of the run shown before (its selection,
    its view) stays."""
    found = current(ctx)
    if found is None:
        return
    if found[1].objective.per_class:
        show_per_class(ctx)
    else:
        select(ctx, None)


def save(ctx: Any, wanted: str, view: Any, *, at: str | None, **kwargs: Any) -> None:
    """Saves ``view`` (never over another view) and says so where the
    button is."""
    name, created = save_view_once(ctx.dataset, wanted, view, **kwargs)
    text = reports.save_message(wanted, name, created)
    ctx.panel.state.set(message(text, at=at))
    ctx.ops.notify(text, variant="success" if created else "info")
