"""The Confidence curves panel: a stored result's curves, a click shows the
predictions kept at that threshold; per-class thresholds, the review band
and intervals. Handlers translate events into library calls; the layout is
in :mod:`.panel_layout`, the texts in :mod:`optimal_confidence.outputs.reports`."""

from __future__ import annotations

from typing import Any

import fiftyone.operators as foo
import fiftyone.operators.types as types

from ..outputs import reports
from ..plots import OPERATING_POINT_ID
from ..store.runs import (
    list_optimal_confidence_runs,
    repair_optimal_confidence_runs,
    store_run,
    suggest_run_key,
)
from ..records.views import review_view
from . import panel_actions as actions
from . import panel_after as after
from . import panel_deploy as deploy
from . import panel_layout as layout
from .panel_state import (
    ALL,
    band_from_inputs,
    clicked_threshold,
    jsonable,
    load_result,
    objective_from_inputs,
    objective_inputs,
    typed_threshold,
    view_name,
)

__all__ = ["ConfidenceCurves"]

#: how far the App's box around a panel reaches below the window: its
#: spaces sit 8 px lower than their row, which is as tall as the window's
#: rest (measured in FiftyOne 1.22.1 at 1280x800 and 1920x1000)
SPACES_OFFSET = 8


class ConfidenceCurves(foo.Panel):
    """Precision, recall and F1 against the confidence threshold of a stored
    result (for a multiclass classifier: accuracy and coverage), with the
    point the result's objective chose; a click on a curve shows the
    predictions kept there.

    With per-class thresholds, a table of them and buttons that show or
    save the per-class view; for classwise results, a human-review band
    found from a precision target and a bound on the true positives lost,
    shaded on the plot; with bootstrap intervals, the interval of the
    threshold in words and shaded.

    State: ``controls.run_key`` and ``controls.class_name`` (the selectors),
    ``runs``, ``classes``, ``info`` (the result's best point, objective,
    intervals and config), ``class_table`` (one row per class) and
    ``operating`` (the totals of the per-class thresholds), ``band_inputs``
    (``precision``, ``max_lost``, ``review_cost``), ``band`` (the band
    found, with its ``summary``) or ``band_error``, ``layouts`` (plot
    layouts), ``comparison`` (the runs compared with this one, their table
    and plot layouts; data ``compare.threshold`` and
    ``compare.pr``),
    ``selected`` (the counts at the threshold last clicked),
    ``message`` and ``message_at`` (where it shows). Data: ``plots.threshold``
    and ``plots_pr.pr`` (the traces, from
    :func:`optimal_confidence.plots.plotly_figures`). Opening the panel with
    ``state={"open_run": key}`` shows run ``key``; otherwise it shows the
    newest run.
    """

    @property
    def config(self) -> foo.PanelConfig:
        return foo.PanelConfig(
            name="confidence_curves",  # as fiftyone.yml lists it
            label="Confidence curves",
            icon="/assets/icon.svg",
            help_markdown=(
                "Precision, recall and F1 against the confidence threshold, "
                "from the results of the `optimal_confidence` operator. "
                "Click a point to see the predictions kept at that threshold."
            ),
            surfaces="grid",
            # one panel: a run from the App shows in the open one (the
            # operator tells it which run), and opens one only when none is
            allow_multiple=False,
        )

    @property
    def _operator_uri(self) -> str:
        return f"{self.plugin_name}/optimal_confidence"

    # -- events -------------------------------------------------------------

    def on_load(self, ctx: Any) -> None:
        state = ctx.panel.state
        new_run = state.get("open_run")
        actions.show_run(ctx, new_run or state.get("controls.run_key"))
        if new_run:  # opened by the operator on its new run
            actions.select_best(ctx)
        else:
            actions.restore_selection(ctx)

    def on_show_run(self, ctx: Any) -> None:
        """Shows run ``run_key`` at its best threshold: what the operator
        asks of the open panel after a run from the App."""
        actions.show_run(ctx, ctx.params.get("run_key"))
        actions.select_best(ctx)

    def on_change_threshold(self, ctx: Any) -> None:
        """A threshold typed in the panel: the view and the counts follow,
        as after a click."""
        try:
            t = typed_threshold(ctx.params.get("value"))
        except ValueError as e:
            ctx.panel.state.set(actions.error_message(e))
            return
        if t == actions.selected_threshold(ctx) or actions.is_stale_box(ctx, t):
            return  # the same value again (the box loses focus), or an old one
        actions.select(ctx, t, typed=True)

    def on_click_apply_objective(self, ctx: Any) -> None:
        """Chooses again, by the objective of the switch, from the stored
        curves (no matching runs again)."""
        current = actions.current(ctx)
        if current is None:
            return
        run_key = current[0]
        stored = load_result(ctx.dataset, run_key)
        try:
            objective = objective_from_inputs(stored, ctx.panel.state.get("objective_inputs") or {})
            result = stored.with_objective(objective)
        except ValueError as e:  # also UnattainableTargetError
            ctx.panel.state.set(actions.error_message(e, at="objective"))
            return
        choice = None if objective == stored.objective else objective.to_dict()
        ctx.panel.state.set({"choice": choice, **actions.message(None)})
        actions.show_result(ctx, result, {})
        actions.select_best(ctx)  # the view and the counts at the new choice

    def on_change_objective_input(self, ctx: Any) -> None:
        """The switch's objective changed: show the inputs it needs."""
        ctx.panel.state.set("objective_inputs.objective", ctx.params.get("value") or "f1")

    def on_click_stored_objective(self, ctx: Any) -> None:
        """Back to the objective the run was stored with."""
        current = actions.current(ctx)
        if current is None:
            return
        stored = load_result(ctx.dataset, current[0])
        ctx.panel.state.set(
            {"choice": None, "objective_inputs": objective_inputs(stored.objective), **actions.message(None)}
        )
        actions.show_result(ctx, stored, {}, keep_selection=True)

    def on_click_store_choice(self, ctx: Any) -> None:
        """Stores the result chosen by the switch's objective as a new run
        (never over an existing one), and shows it."""
        current = actions.current(ctx)
        if current is None or not ctx.panel.state.get("choice"):
            return
        run_key, result = current
        key = suggest_run_key(ctx.dataset, f"{run_key}_{result.objective.name}")
        store_run(ctx.dataset.load_run_view(run_key), key, result)
        actions.show_run(ctx, key)
        actions.select_best(ctx)
        ctx.panel.state.set(actions.message(f"Stored as run '{key}' ({result.objective.label})."))

    # No on_change_spaces: with it, the App of FiftyOne 1.22.1 hung as soon
    # as this panel opened (seen in headless Chromium)

    def on_change_dataset(self, ctx: Any) -> None:
        """Another dataset: its newest run. The App also sends this when it
        reloads the same dataset (after a run or a click, measured in
        FiftyOne 1.22.1): then the run shown and its selection stay, only
        the list of runs is refreshed (showing the run again here lost the
        selection a click had just made)."""
        runs = list_optimal_confidence_runs(ctx.dataset)
        state = ctx.panel.state
        if state.get("dataset_id") == str(ctx.dataset._doc.id) and state.get("controls.run_key") in runs:
            state.set("runs", runs)
            return
        actions.show_run(ctx, None, runs=runs)

    def on_change_run(self, ctx: Any) -> None:
        """Another result: shown at its best threshold, as a new run (the
        view of the result shown before would stay filtered otherwise)."""
        actions.show_run(ctx, ctx.params.get("value"))
        actions.select_best(ctx)

    def on_change_class(self, ctx: Any) -> None:
        current = actions.current(ctx)
        if current is None:
            return
        ctx.panel.state.set("controls.class_name", ctx.params.get("value") or ALL)
        t = actions.selected_threshold(ctx)
        update = {} if t is None else {"selected": actions.counts_at(ctx, current[1], t)}
        actions.send_curves(ctx, current[1], t, update)

    def on_click_curve(self, ctx: Any) -> None:
        if ctx.params.get("id") == OPERATING_POINT_ID:
            self.on_click_per_class_view(ctx)
            return
        threshold = clicked_threshold(ctx.params)
        if threshold is not None:
            actions.select(ctx, threshold)

    def on_click_best(self, ctx: Any) -> None:
        actions.select(ctx, None)

    def on_click_reset(self, ctx: Any) -> None:
        current = actions.current(ctx)
        if current is None:
            return
        run_key, result = current
        ctx.ops.set_view(ctx.dataset.load_run_view(run_key))
        ctx.panel.state.set(
            {
                "selected": None, **actions.cleared_box(ctx), **actions.message(None),
                "layouts": actions.layouts(ctx, result, None),
            }
        )

    def on_click_save(self, ctx: Any) -> None:
        current, t = actions.current(ctx), actions.selected_threshold(ctx)
        if current is None or t is None:
            ctx.panel.state.set(
                actions.message("Click a threshold on a curve first, then save its view.")
            )
            return
        run_key, result = current
        view = result.view(ctx.dataset.load_run_view(run_key), t)
        actions.save(ctx, view_name(result.config.pred_field, t), view, at=None)

    def on_click_per_class_view(self, ctx: Any) -> None:
        """Sets the App's view to the run's target with each class's
        predictions kept at its own threshold."""
        actions.show_per_class(ctx)

    def on_click_save_per_class(self, ctx: Any) -> None:
        """Saves the per-class view as ``<pred_field>@per-class`` (or
        ``... (2)`` when that name holds another view)."""
        current = actions.current(ctx)
        if current is None or not current[1].objective.per_class:
            return
        run_key, result = current
        view = result.view(ctx.dataset.load_run_view(run_key))
        description = (
            f"Each class's predictions kept at its own threshold "
            f"({result.objective.label}, run '{run_key}'; saved from the "
            f"confidence curves panel)"
        )
        wanted = f"{result.config.pred_field}@per-class"
        actions.save(ctx, wanted, view, at="per_class", description=description)

    def on_click_band(self, ctx: Any) -> None:
        """Finds the review band for the targets typed in the panel."""
        current = actions.current(ctx)
        if current is None:
            return
        result = current[1]
        band, error = None, None
        try:
            found = band_from_inputs(result, ctx.panel.state.get("band_inputs") or {})
        except ValueError as e:  # also UnattainableTargetError
            error = str(e)
        else:
            band = jsonable({**found.to_dict(), "summary": found.summary()})
        ctx.panel.state.set({"band": band, "band_error": error})
        ctx.panel.state.set("layouts", actions.layouts(ctx, result, actions.selected_threshold(ctx)))

    def on_click_review_view(self, ctx: Any) -> None:
        """Sets the App's view to the images with predictions to review,
        showing only those predictions (``t_low <= confidence < t_high``)."""
        current, band = actions.current(ctx), ctx.panel.state.get("band")
        if current is None or not band:
            return
        run_key, result = current
        target = ctx.dataset.load_run_view(run_key)
        ctx.ops.set_view(review_view(result, target, band["t_low"], band["t_high"]))
        ctx.panel.state.set(
            {
                "selected": None, **actions.cleared_box(ctx),
                **actions.message(reports.review_message(band), at="band"),
            }
        )

    def on_click_evaluate(self, ctx: Any) -> None:
        """FiftyOne's evaluation at the selected threshold (else the chosen
        point), stored under a new key."""
        current = actions.current(ctx)
        if current is not None:
            deploy.evaluate(ctx, *current)

    def on_click_export(self, ctx: Any) -> None:
        """The selected threshold (else the chosen point), written as JSON
        and shown."""
        current = actions.current(ctx)
        if current is not None:
            deploy.export(ctx, *current)

    def on_click_estimate(self, ctx: Any) -> None:
        """The threshold estimated on the current view's images."""
        current = actions.current(ctx)
        if current is not None:
            after.estimate(ctx, *current)

    def on_change_label_budget(self, ctx: Any) -> None:
        value = ctx.params.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 2:
            ctx.panel.state.set("label_budget", int(value))

    def on_click_plan_labels(self, ctx: Any) -> None:
        """The next images of the current view to label, tagged."""
        current = actions.current(ctx)
        if current is not None:
            after.plan_labels(ctx, *current)

    def on_click_repair(self, ctx: Any) -> None:
        """Deletes the results that cannot be loaded (and restores the old
        run of an overwrite that was interrupted)."""
        done = repair_optimal_confidence_runs(ctx.dataset)
        actions.show_run(ctx, ctx.panel.state.get("controls.run_key"))
        what = "; ".join(f"'{k}' {v}" for k, v in done.items()) or "nothing to do"
        ctx.panel.state.set(actions.message(f"Broken results: {what}."))

    def on_click_run(self, ctx: Any) -> None:
        ctx.prompt(self._operator_uri, on_success=self.on_run_success)

    def on_run_success(self, ctx: Any) -> None:
        result = ctx.params.get("result")
        key = result.get("run_key") if isinstance(result, dict) else None
        runs = list_optimal_confidence_runs(ctx.dataset)
        if key in runs:
            actions.show_run(ctx, key, runs=runs)
            actions.select_best(ctx)
            return
        # a delegated run: its result appears once it has run
        actions.show_run(ctx, ctx.panel.state.get("controls.run_key"), runs=runs)
        ctx.panel.state.set(
            actions.message(
                "The sweep was scheduled; its result appears here once it "
                "has run (`fiftyone delegated launch`)."
            )
        )

    # -- layout -------------------------------------------------------------

    def render(self, ctx: Any) -> types.Property:
        panel = types.Object()
        state = ctx.panel.state
        if not state.get("runs"):
            layout.broken(panel, state, self.on_click_repair)
            return layout.empty(panel, self.on_click_run)
        handlers = {
            "run": self.on_change_run, "class": self.on_change_class,
            "new": self.on_click_run, "best": self.on_click_best,
            "save": self.on_click_save, "reset": self.on_click_reset,
            "per_class_view": self.on_click_per_class_view,
            "save_per_class": self.on_click_save_per_class,
            "band": self.on_click_band, "review_view": self.on_click_review_view,
            "threshold": self.on_change_threshold,
            "objective_input": self.on_change_objective_input,
            "apply_objective": self.on_click_apply_objective,
            "stored_objective": self.on_click_stored_objective,
            "store_choice": self.on_click_store_choice,
            "evaluate": self.on_click_evaluate, "export": self.on_click_export,
            "estimate": self.on_click_estimate, "plan_labels": self.on_click_plan_labels,
            "label_budget": self.on_change_label_budget,
        }
        # the selectors, the summary and the curves first: the first plot
        # in sight on a laptop's screen; the selection and the deploy
        # buttons under the threshold plot, where a click shows its counts
        layout.controls(panel, state, handlers)
        layout.broken(panel, state, self.on_click_repair)
        layout.summary(panel, state)
        layout.plots(panel, state, handlers, self.on_click_curve)
        layout.objective_switch(panel, state, handlers)
        layout.comparison(panel, state)
        info = state.get("info")
        if info and state.get("class_table"):
            layout.per_class(panel, state, handlers)
        if info:
            layout.band(panel, state, handlers)
            layout.calibration(panel, state)
            if info["task"] == "detection":
                layout.after(panel, state, handlers)
        # stretched: the column (and the plots in it) as wide as the panel
        # pad_x (the App's name; "padding" it ignores): the content off the
        # panel's edges, clear of its scroll bar. The panel scrolls in its
        # own box, ending in the window: the App's box around it reaches
        # SPACES_OFFSET px below the window (measured, FiftyOne 1.22.1)
        fit = {"height": f"calc(100% - {SPACES_OFFSET}px)", "overflowY": "auto"}
        return types.Property(
            panel,
            view=types.GridView(
                orientation="vertical", gap=2, pad_x=2, align_x="stretch",
                componentsProps={"container": {"sx": fit}},
            ),
        )
