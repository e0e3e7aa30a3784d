"""The Confidence curves panel: a stored result's curves, a click shows the
predictions kept at that threshold; per-class thresholds, the review band
and intervals. Handlers translate events into library calls; the layout is
in :mod:`.panel_layout`, the texts in :mod:`optimal_confidence.reports`."""

from __future__ import annotations

from typing import Any

import fiftyone.operators as foo
import fiftyone.operators.types as types

from .. import reports
from ..objectives import Objective
from ..plots import OPERATING_POINT_ID, operating_point, plotly_figures
from ..result import OptimalConfidenceResult
from ..runs import list_optimal_confidence_runs, save_run, suggest_run_key
from ..views import review_view
from . import panel_layout as layout
from .panel_state import (
    ALL,
    BAND_DEFAULTS,
    band_from_inputs,
    band_object,
    clicked_threshold,
    counts_at,
    jsonable,
    load_result,
    objective_from_inputs,
    objective_inputs,
    save_view_once,
    threshold_in_view,
    typed_threshold,
    view_name,
)

__all__ = ["ConfidenceCurves"]


def _message(text: str | None, *, at: str | None = None) -> dict[str, Any]:
    """The state of the panel's message: ``text``, shown at the top, or
    under the per-class table (``at="per_class"``) or the review band
    (``at="band"``), where the button that caused it is."""
    return {"message": text, "message_at": at}


def _current(ctx: Any) -> tuple[str, OptimalConfidenceResult] | None:
    """The run the panel shows and its result (chosen again by the
    objective the panel's switch applied, if any), or None without one."""
    run_key = ctx.panel.state.get("controls.run_key")
    if run_key is None:
        return None
    result = load_result(ctx.dataset, run_key)
    choice = ctx.panel.state.get("choice")
    if choice:
        result = result.with_objective(Objective.from_dict(choice))
    return run_key, result


def _selected(ctx: Any) -> float | None:
    selected = ctx.panel.state.get("selected")
    return selected["threshold"] if selected else None


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
    layouts), ``selected`` (the counts at the threshold last clicked),
    ``message`` and ``message_at`` (where it shows). Data: ``plots.threshold``
    and ``plots.pr`` (the traces, from
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
        wanted = state.get("open_run") or state.get("controls.run_key")
        self._show_run(ctx, wanted)
        self._restore_selection(ctx)

    def on_show_run(self, ctx: Any) -> None:
        """Shows run ``run_key``: what the operator asks of the open panel
        after a run from the App."""
        self._show_run(ctx, ctx.params.get("run_key"))

    def on_change_threshold(self, ctx: Any) -> None:
        """A threshold typed in the panel: the view and the counts follow,
        as after a click."""
        try:
            t = typed_threshold(ctx.params.get("value"))
        except ValueError as e:
            ctx.panel.state.set(_message(str(e)))
            return
        self._select(ctx, t)

    def on_click_apply_objective(self, ctx: Any) -> None:
        """Chooses again, by the objective of the switch, from the stored
        curves (no matching runs again)."""
        current = _current(ctx)
        if current is None:
            return
        run_key = current[0]
        stored = load_result(ctx.dataset, run_key)
        try:
            objective = objective_from_inputs(stored, ctx.panel.state.get("objective_inputs") or {})
            result = stored.with_objective(objective)
        except ValueError as e:  # also UnattainableTargetError
            ctx.panel.state.set(_message(str(e), at="objective"))
            return
        choice = None if objective == stored.objective else objective.to_dict()
        ctx.panel.state.set({"choice": choice, **_message(None)})
        self._show_result(ctx, result, {})
        self._select(ctx, None)  # the view and the counts at the new choice

    def on_change_objective_input(self, ctx: Any) -> None:
        """The switch's objective changed: show the inputs it needs."""
        ctx.panel.state.set("objective_inputs.objective", ctx.params.get("value") or "f1")

    def on_click_stored_objective(self, ctx: Any) -> None:
        """Back to the objective the run was stored with."""
        current = _current(ctx)
        if current is None:
            return
        stored = load_result(ctx.dataset, current[0])
        ctx.panel.state.set(
            {"choice": None, "objective_inputs": objective_inputs(stored.objective), **_message(None)}
        )
        self._show_result(ctx, stored, {}, keep_selection=True)

    def on_click_store_choice(self, ctx: Any) -> None:
        """Stores the result chosen by the switch's objective as a new run
        (never over an existing one), and shows it."""
        current = _current(ctx)
        if current is None or not ctx.panel.state.get("choice"):
            return
        run_key, result = current
        key = suggest_run_key(ctx.dataset, f"{run_key}_{result.objective.name}")
        save_run(ctx.dataset.load_run_view(run_key), key, result, overwrite=False)
        self._show_run(ctx, key)
        ctx.panel.state.set(_message(f"Stored as run '{key}' ({result.objective.label})."))

    # No on_change_spaces: with it, the App of FiftyOne 1.22.1 hung as soon
    # as this panel opened (seen in headless Chromium)

    def on_change_dataset(self, ctx: Any) -> None:
        self._show_run(ctx, None)

    def on_change_run(self, ctx: Any) -> None:
        self._show_run(ctx, ctx.params.get("value"))

    def on_change_class(self, ctx: Any) -> None:
        current = _current(ctx)
        if current is None:
            return
        ctx.panel.state.set("controls.class_name", ctx.params.get("value") or ALL)
        t = _selected(ctx)
        update = {} if t is None else {"selected": self._counts_at(ctx, current[1], t)}
        self._send_curves(ctx, current[1], t, update)

    def on_click_curve(self, ctx: Any) -> None:
        if ctx.params.get("id") == OPERATING_POINT_ID:
            self.on_click_per_class_view(ctx)
            return
        threshold = clicked_threshold(ctx.params)
        if threshold is not None:
            self._select(ctx, threshold)

    def on_click_best(self, ctx: Any) -> None:
        self._select(ctx, None)

    def on_click_reset(self, ctx: Any) -> None:
        current = _current(ctx)
        if current is None:
            return
        run_key, result = current
        ctx.ops.set_view(ctx.dataset.load_run_view(run_key))
        ctx.panel.state.set(
            {"selected": None, **_message(None), "layouts": self._layouts(ctx, result, None)}
        )

    def on_click_save(self, ctx: Any) -> None:
        current, t = _current(ctx), _selected(ctx)
        if current is None or t is None:
            ctx.panel.state.set(
                _message("Click a threshold on a curve first, then save its view.")
            )
            return
        run_key, result = current
        view = result.view(ctx.dataset.load_run_view(run_key), t)
        self._save(ctx, view_name(result.config.pred_field, t), view, at=None)

    def on_click_per_class_view(self, ctx: Any) -> None:
        """Sets the App's view to the run's target with each class's
        predictions kept at its own threshold."""
        current = _current(ctx)
        if current is None or not current[1].objective.per_class:
            return
        run_key, result = current
        ctx.ops.set_view(result.view(ctx.dataset.load_run_view(run_key)))
        op = operating_point(result)
        text = (
            f"Showing each class at its own threshold: {op['tp'] + op['fp']} of "
            f"{result.records.num_preds} predictions kept."
        )
        ctx.panel.state.set(
            {
                "selected": None,
                **_message(text, at="per_class"),
                "layouts": self._layouts(ctx, result, None),
            }
        )

    def on_click_save_per_class(self, ctx: Any) -> None:
        """Saves the per-class view as ``<pred_field>@per-class`` (or
        ``... (2)`` when that name holds another view)."""
        current = _current(ctx)
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
        self._save(ctx, wanted, view, at="per_class", description=description)

    def on_click_band(self, ctx: Any) -> None:
        """Finds the review band for the targets typed in the panel."""
        current = _current(ctx)
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
        ctx.panel.state.set("layouts", self._layouts(ctx, result, _selected(ctx)))

    def on_click_review_view(self, ctx: Any) -> None:
        """Sets the App's view to the images with predictions to review,
        showing only those predictions (``t_low <= confidence < t_high``)."""
        current, band = _current(ctx), ctx.panel.state.get("band")
        if current is None or not band:
            return
        run_key, result = current
        target = ctx.dataset.load_run_view(run_key)
        ctx.ops.set_view(review_view(result, target, band["t_low"], band["t_high"]))
        ctx.panel.state.set(
            {"selected": None, **_message(reports.review_message(band), at="band")}
        )

    def on_click_run(self, ctx: Any) -> None:
        ctx.prompt(self._operator_uri, on_success=self.on_run_success)

    def on_run_success(self, ctx: Any) -> None:
        result = ctx.params.get("result")
        key = result.get("run_key") if isinstance(result, dict) else None
        runs = list_optimal_confidence_runs(ctx.dataset)
        if key in runs:
            self._show_run(ctx, key, runs=runs)
            return
        # a delegated run: its result appears once it has run
        self._show_run(ctx, ctx.panel.state.get("controls.run_key"), runs=runs)
        ctx.panel.state.set(
            _message(
                "The sweep was scheduled; its result appears here once it "
                "has run (`fiftyone delegated launch`)."
            )
        )

    # -- helpers ------------------------------------------------------------

    def _show_run(self, ctx: Any, run_key: str | None, *, runs: list[str] | None = None) -> None:
        """Shows run ``run_key`` (if it is not one of ``runs``: the newest)
        with its stored objective, all classes and no threshold selected."""
        runs = list_optimal_confidence_runs(ctx.dataset) if runs is None else runs
        if run_key not in runs:
            run_key = runs[0] if runs else None
        update = {
            "runs": runs, "open_run": None, "controls.run_key": run_key,
            "controls.class_name": ALL, "selected": None, **_message(None),
            "choice": None, "band": None, "band_error": None,
        }
        if not ctx.panel.state.get("band_inputs"):
            update["band_inputs"] = dict(BAND_DEFAULTS)
        if run_key is None:
            ctx.panel.state.set(
                {**update, "info": None, "classes": [], "class_table": [],
                 "operating": None, "layouts": {}}
            )
            ctx.panel.data.set({"plots.threshold": [], "plots.pr": []})
            return
        result = load_result(ctx.dataset, run_key)
        update["objective_inputs"] = objective_inputs(result.objective)
        # the chosen objective and the band belong to the run shown before
        ctx.panel.state.set({"choice": None, "band": None})
        self._show_result(ctx, result, update)

    def _show_result(self, ctx: Any, result: OptimalConfidenceResult, update: dict, *, keep_selection: bool = False) -> None:
        """Sends a result's summary, per-class table and curves (the
        threshold selected stays marked with ``keep_selection``)."""
        update = {
            **update,
            "classes": result.classes,
            "info": jsonable(reports.run_info(result)),
            "class_table": jsonable(reports.class_rows(result)) if result.objective.per_class else [],
            "operating": jsonable(operating_point(result)) if result.objective.per_class else None,
        }
        t = _selected(ctx) if keep_selection else None
        self._send_curves(ctx, result, t, update)

    def _restore_selection(self, ctx: Any) -> None:
        """After a reload the App's view may still keep the predictions at
        a threshold the panel selected: select it again."""
        current = _current(ctx)
        if current is None or ctx.view is None:
            return
        run_key, result = current
        t = threshold_in_view(ctx.view, result, ctx.dataset.load_run_view(run_key))
        if t is not None:
            ctx.panel.state.set(
                {"selected": self._counts_at(ctx, result, t), "layouts": self._layouts(ctx, result, t)}
            )

    def _figures(self, ctx: Any, result: OptimalConfidenceResult, selected: float | None) -> dict:
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

    def _layouts(self, ctx: Any, result: OptimalConfidenceResult, selected: float | None) -> dict:
        return {k: fig["layout"] for k, fig in self._figures(ctx, result, selected).items()}

    def _send_curves(self, ctx: Any, result: OptimalConfidenceResult, selected: float | None, update: dict | None = None) -> None:
        figs = self._figures(ctx, result, selected)
        ctx.panel.data.set(
            {"plots.threshold": figs["threshold"]["data"], "plots.pr": figs["pr"]["data"]}
        )
        layouts = {k: fig["layout"] for k, fig in figs.items()}
        ctx.panel.state.set({**(update or {}), "layouts": layouts})

    def _counts_at(self, ctx: Any, result: OptimalConfidenceResult, threshold: float) -> dict:
        return counts_at(result, threshold, ctx.panel.state.get("controls.class_name") or ALL)

    def _select(self, ctx: Any, threshold: float | None) -> None:
        """Sets the App's view to the run's target with the predictions kept
        at ``threshold`` (default: the best one) and shows their counts."""
        current = _current(ctx)
        if current is None:
            return
        run_key, result = current
        t = result.best_threshold if threshold is None else threshold
        ctx.ops.set_view(result.view(ctx.dataset.load_run_view(run_key), t))
        ctx.panel.state.set(
            {
                "selected": self._counts_at(ctx, result, t),
                "threshold_input": t,  # the box shows the threshold selected
                **_message(None),
                "layouts": self._layouts(ctx, result, t),
            }
        )

    def _save(self, ctx: Any, wanted: str, view: Any, *, at: str | None, **kwargs: Any) -> None:
        """Saves ``view`` (never over another view) and says so where the
        button is."""
        name, created = save_view_once(ctx.dataset, wanted, view, **kwargs)
        message = reports.save_message(wanted, name, created)
        ctx.panel.state.set(_message(message, at=at))
        ctx.ops.notify(message, variant="success" if created else "info")

    # -- layout -------------------------------------------------------------

    def render(self, ctx: Any) -> types.Property:
        panel = types.Object()
        state = ctx.panel.state
        if not state.get("runs"):
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
        }
        layout.controls(panel, state, handlers)
        layout.summary(panel, state, handlers)
        layout.objective_switch(panel, state, handlers)
        layout.plots(panel, state, self.on_click_curve)
        info = state.get("info")
        if info and state.get("class_table"):
            layout.per_class(panel, state, handlers)
        if info:
            layout.band(panel, state, handlers)
        # stretched: the column (and the plots in it) as wide as the panel
        return types.Property(
            panel, view=types.GridView(orientation="vertical", gap=2, padding=2, align_x="stretch")
        )
