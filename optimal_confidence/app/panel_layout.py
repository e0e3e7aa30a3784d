"""The curves panel's layout: module-level functions that add the panel's
parts to its ``types.Object`` from the panel's state. The texts come from
:mod:`optimal_confidence.outputs.reports`."""

from __future__ import annotations

from typing import Any, Mapping

import fiftyone.operators.types as types

from ..outputs import reports
from ..spec.options import OBJECTIVES
from .panel_state import ALL, BAND_DEFAULTS, deploy_words

#: the plots' height in pixels (the App collapses a plot without one; a bare
#: number would be read as a percentage of the panel). Their width is the
#: panel's: plotly sizes itself to its box and follows it
PLOT_HEIGHT = 360

#: plotly's settings: no zoom on the mouse wheel (it scrolls the panel), no
#: toolbar, and a plot that follows its box's size
PLOT_CONFIG = {"displayModeBar": False, "scrollZoom": False, "responsive": True}


def empty(panel: Any, on_run: Any) -> types.Property:
    """The panel of a dataset without results: what to do."""
    panel.md(
        "### No results yet\n\n"
        "This dataset has no stored result of the "
        "`optimal_confidence` operator. Run it on a predictions field "
        "and its precision, recall and F1 curves show here.",
        name="empty",
    )
    panel.btn(
        "run_operator",
        label="Find the optimal confidence threshold",
        icon="play_arrow",
        variant="contained",
        on_click=on_run,
    )
    return types.Property(
        panel,
        view=types.GridView(orientation="vertical", align_x="center", align_y="center", gap=2),
    )


def broken(panel: Any, state: Mapping[str, Any], on_repair: Any) -> None:
    """Results that cannot be loaded (an interrupted store, a result of an
    older version), and the button that deletes them."""
    found = state.get("broken") or {}
    if not found:
        return
    lines = "\n".join(f"- `{k}`: {why}" for k, why in found.items())
    panel.md(f"**{len(found)} stored result(s) cannot be shown:**\n\n{lines}", name="broken_text")
    panel.btn(
        "repair_runs", label="Delete them (restore an interrupted overwrite)",
        icon="delete", variant="outlined", on_click=on_repair,
    )


def controls(panel: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """The result and class selectors, and "New sweep"."""
    row = panel.h_stack("controls", align_y="center", gap=2)
    runs = types.DropdownView(label="Result")
    for key in state.get("runs") or []:
        runs.add_choice(key, label=key)
    row.enum("run_key", runs.values(), label="Result", view=runs, on_change=handlers["run"])
    classes = types.DropdownView(label="Classes")
    classes.add_choice(ALL, label="All classes")
    for name in state.get("classes") or []:
        classes.add_choice(name, label=name)
    row.enum(
        "class_name", classes.values(), default=ALL, label="Classes", view=classes,
        on_change=handlers["class"],
    )
    row.btn(
        "run_operator", label="New sweep", icon="add", variant="outlined",
        on_click=handlers["new"],
    )


def summary(panel: Any, state: Mapping[str, Any]) -> None:
    """The result's summary and intervals, and the panel's message."""
    info = state.get("info")
    if info:
        panel.md(reports.summary_markdown(info), name="summary")
        if info.get("ci"):
            panel.md(reports.ci_markdown(info), name="ci_text")
    if state.get("message") and not state.get("message_at"):
        panel.md(state.get("message"), name="message_text")


def objective_switch(panel: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """Choose again by another objective from the stored curves, and store
    that choice as a new run."""
    inputs = state.get("objective_inputs") or {}
    name = inputs.get("objective") or "f1"
    box = panel.v_stack("objective_inputs", gap=1, align_x="left")
    view = types.DropdownView(label="Choose by")
    for c in OBJECTIVES:
        view.add_choice(c.value, label=c.label, description=c.description)
    box.enum(
        "objective", view.values(), default=name, label="Choose by", view=view,
        on_change=handlers["objective_input"],
    )
    if name in ("precision", "recall", "accuracy"):
        box.float("target", label="Target", description="For example 0.9", min=0, max=1)
    if name == "fbeta":
        box.float("beta", label="Beta", min=0)
    if name == "cost":
        box.float("fp_cost", label="Cost of a false positive", min=0)
        box.float("fn_cost", label="Cost of a false negative", min=0)
    row = panel.h_stack("objective_actions", gap=2, align_x="left")
    row.btn(
        "apply_objective", label="Choose again", icon="refresh", variant="outlined",
        on_click=handlers["apply_objective"],
    )
    if state.get("choice"):
        row.btn(
            "store_choice", label="Store as a new run", icon="save", variant="outlined",
            on_click=handlers["store_choice"],
        )
        row.btn(
            "stored_objective", label="Back to the stored objective", icon="undo",
            variant="outlined", on_click=handlers["stored_objective"],
        )
    _message(panel, state, "objective")


def _plot(stack: Any, name: str, layout: Mapping[str, Any], on_click: Any = None) -> None:
    stack.plot(
        name, layout=layout, config=PLOT_CONFIG, on_click=on_click,
        width="100%", height=f"{PLOT_HEIGHT}px",
    )


def plots(panel: Any, state: Mapping[str, Any], handlers: Mapping[str, Any], on_click: Any) -> None:
    """The two plots, one above the other, as wide as the panel, and
    between them what a click selects: its counts, the threshold box, the
    view buttons and the deploy buttons, with what they did, in sight under
    the curves. Each plot in a stack of its own (data ``plots.threshold``
    and ``plots_pr.pr``): an input inside a stack that holds panel data
    fought with that data in the App (the box flipped between two values,
    seen in Chromium)."""
    layouts = state.get("layouts") or {}
    # stretched (not aligned left), so that a plot's box is the panel's width
    stack = panel.v_stack("plots", gap=1, align_x="stretch")
    _plot(stack, "threshold", layouts.get("threshold", {}), on_click)
    selection(panel, state, handlers)
    stack = panel.v_stack("plots_pr", gap=1, align_x="stretch")
    _plot(stack, "pr", layouts.get("pr", {}), on_click)


def selection(stack: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """The selected threshold's counts, the box to type one, the view
    buttons and the deploy buttons (:func:`deploy`)."""
    selected = state.get("selected")
    stack.md(reports.selection_markdown(selected), name="selection")
    stack.float(
        "threshold_input",  # THRESHOLD_BOX
        label="Threshold",
        description="Type a threshold: the view and the counts follow, as after a click",
        default=selected["threshold"] if selected else None,
        on_change=handlers["threshold"],
    )
    actions = stack.h_stack("actions", gap=2, align_x="left")
    actions.btn(
        "show_best", label="Show the best threshold", icon="star", variant="outlined",
        on_click=handlers["best"],
    )
    actions.btn(
        "save_view", label="Save this view", icon="bookmark_add", variant="outlined",
        disabled=not selected, on_click=handlers["save"],
    )
    actions.btn(
        "reset_view", label="Show all predictions", icon="restart_alt",
        variant="outlined", on_click=handlers["reset"],
    )
    if state.get("info"):
        deploy(stack, state, handlers)


def per_class(panel: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """The per-class table (markdown: it renders as it reads here) and the
    buttons of the per-class view."""
    panel.md(
        reports.class_table_markdown(
            state.get("class_table"), state.get("operating"), state.get("info.minimize")
        ),
        name="class_table_text",
    )
    row = panel.h_stack("per_class_actions", gap=2, align_x="left")
    row.btn(
        "per_class_view", label="Show the per-class view", icon="tune",
        variant="outlined", on_click=handlers["per_class_view"],
    )
    row.btn(
        "save_per_class", label="Save the per-class view", icon="bookmark_add",
        variant="outlined", on_click=handlers["save_per_class"],
    )
    _message(panel, state, "per_class")


def band(panel: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """The review band: its inputs, what was found, and the button that
    shows the predictions to review."""
    info = state.get("info")
    panel.md(reports.band_header_markdown(info["task"], info["classwise"]), name="band_header")
    if not info["classwise"]:
        return
    words = reports.BAND_WORDS[info["task"]]
    # one input a line and the button under them: nothing is clipped in a
    # narrow panel
    box = panel.v_stack("band_inputs", gap=1, align_x="left")
    box.float("precision", default=BAND_DEFAULTS["precision"], label=words["precision"], min=0, max=1)
    box.float("max_lost", default=BAND_DEFAULTS["max_lost"], label=words["max_lost"], min=0, max=1)
    box.float("review_cost", label="Cost per review (optional)", min=0)
    panel.btn(
        "find_band", label="Find the band", icon="tune", variant="contained",
        on_click=handlers["band"],
    )
    found, error = state.get("band"), state.get("band_error")
    if error:
        panel.md(f"_No band:_ {error}", name="band_text")
    elif found:
        panel.md(found["summary"], name="band_text")
    if found:
        panel.btn(
            "review_view", label=f"Show the {found['review']} predictions to review",
            icon="visibility", variant="outlined", disabled=not found["review"],
            on_click=handlers["review_view"],
        )
    _message(panel, state, "band")


def comparison(panel: Any, state: Mapping[str, Any]) -> None:
    """The models the run was compared with: their table and their curves
    overlaid (nothing for a run compared with none)."""
    found = state.get("comparison")
    if not found:
        return
    panel.md(found["markdown"], name="comparison_text")
    # the data of plot "threshold" in stack "compare" is "compare.threshold"
    stack = panel.v_stack("compare", gap=1, align_x="stretch")
    for name in ("threshold", "pr"):
        stack.plot(
            name,
            layout=(found.get("layouts") or {}).get(name, {}),
            config=PLOT_CONFIG,
            width="100%",
            height=f"{PLOT_HEIGHT}px",
        )


def deploy(stack: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """FiftyOne's evaluation and the export for deployment, both of the
    selected threshold (none selected: the chosen point), named on the
    buttons; what they did shows right under them."""
    info, selected = state.get("info"), state.get("selected")
    words = deploy_words(info, selected)
    row = stack.h_stack("deploy_actions", gap=2, align_x="left")
    if info["task"] == "detection":
        row.btn(
            "evaluate", label=f"Evaluate at {words}", icon="fact_check",
            variant="outlined", on_click=handlers["evaluate"],
        )
    row.btn(
        "export", label=f"Export {words}", icon="file_download",
        variant="outlined", on_click=handlers["export"],
    )
    if selected and info.get("per_class"):
        stack.md(
            "_The selected threshold overrides the per-class thresholds: Evaluate and "
            "Export keep every class at it. \"Show the per-class view\" (under the "
            "per-class table) selects the per-class thresholds again._",
            name="deploy_note",
        )
    _message(stack, state, "deploy")


def after(panel: Any, state: Mapping[str, Any], handlers: Mapping[str, Any]) -> None:
    """After deployment: the threshold on the current view's images as if
    unlabeled, and the next images to label."""
    panel.md(
        "**After deployment**: the images of the App's current view, taken as new "
        "images without labels",
        name="after_header",
    )
    row = panel.h_stack("after_actions", gap=2, align_x="left")
    row.btn(
        "estimate", label="Estimate on the current view", icon="insights",
        variant="outlined", on_click=handlers["estimate"],
    )
    row.int(
        "label_budget", label="Images to label", default=int(state.get("label_budget") or 50),
        min=2, on_change=handlers["label_budget"],
    )
    row.btn(
        "plan_labels", label="Tag the next images to label", icon="label",
        variant="outlined", on_click=handlers["plan_labels"],
    )
    _message(panel, state, "after")


def calibration(panel: Any, state: Mapping[str, Any]) -> None:
    """The reliability diagram: how often the predictions of each
    confidence are right, against the diagonal."""
    found = state.get("calibration")
    if not found:
        return
    panel.md(found["markdown"], name="calibration_text")
    # the data of plot "reliability" in stack "calibration" is "calibration.reliability"
    stack = panel.v_stack("calibration", gap=1, align_x="stretch")
    stack.plot(
        "reliability", layout=found.get("layout") or {}, config=PLOT_CONFIG,
        width="100%", height=f"{PLOT_HEIGHT}px",
    )


def _message(panel: Any, state: Mapping[str, Any], at: str) -> None:
    """The panel's last message (:func:`~.panel_actions.message`), where it was
    said: under the section ``at``."""
    if state.get("message") and state.get("message_at") == at:
        panel.md(state.get("message"), name=f"{at}_message")
