"""The ``optimal_confidence`` operator: its form is built from the option
spec (:mod:`.form`), ``execute`` turns the params into a request and runs
the library's pipeline, and the output shows the chosen point."""

from __future__ import annotations

from typing import Any

import fiftyone.core.utils as fou
import fiftyone.operators as foo
import fiftyone.operators.types as types

from ..pipeline import Outcome, run
from .form import build_form, request_from_params

__all__ = ["OptimalConfidence", "operator_output"]

#: the curves panel's name (``fiftyone.yml`` lists it)
PANEL_NAME = "confidence_curves"


def operator_output(outcome: Outcome) -> dict[str, Any]:
    """What the operator returns: the result's metrics (plain numbers), the
    summary in text and markdown, and the review band asked for."""
    result = outcome.result
    out = result.metrics()
    out["summary"] = result.report(num_rows=0)
    out["summary_markdown"] = f"```\n{out['summary']}\n```"
    if outcome.band is not None:
        out["review_band"] = outcome.band.to_dict()
        out["review_band_summary"] = outcome.band.summary()
    elif outcome.band_error is not None:
        out["review_band_summary"] = f"No review band: {outcome.band_error}"
    return out


class OptimalConfidence(foo.Operator):
    @property
    def config(self) -> foo.OperatorConfig:
        return foo.OperatorConfig(
            name="optimal_confidence",
            label="Find the optimal confidence threshold",
            description=(
                "Sweep the confidence threshold of a prediction field and "
                "find the best one: F1, a precision or recall target, costs, "
                "per class, with a review band and intervals"
            ),
            icon="/assets/icon.svg",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx: Any) -> types.Property:
        inputs = types.Object()
        build_form(ctx, inputs)
        return types.Property(inputs, view=types.View(label=self.config.label))

    def execute(self, ctx: Any) -> dict[str, Any]:
        target = ctx.target_view()
        request = request_from_params(ctx.params, target, ctx.dataset)

        def _progress(pb: Any) -> None:
            ctx.set_progress(
                progress=pb.progress,
                label=f"Matching predictions: {pb.iteration}/{pb.total} samples",
            )

        outcome = run(
            target, request, progress=fou.report_progress(_progress, dt=1.0),
            strict_band=False,
        )
        # Run from the App (immediate): open a panel on the new result (a new
        # one: the App would only bring an open panel to the front, showing
        # its old run). A run started from a panel shows there instead (its
        # on_success); a delegated run has no App to talk to; under
        # execute_operator() in Python the request is only recorded in the
        # returned executor
        if ctx.executor is not None and not ctx.delegated and not ctx.panel_id:
            ctx.ops.open_panel(
                PANEL_NAME, layout="horizontal", state={"open_run": outcome.result.run_key}
            )
        return operator_output(outcome)

    def resolve_output(self, ctx: Any) -> types.Property:
        outputs = types.Object()
        outputs.float("best_threshold", label="Best threshold")
        outputs.float("best_f1", label="F1")
        outputs.float("precision", label="Precision")
        outputs.float("recall", label="Recall")
        outputs.int("tp", label="True positives")
        outputs.int("fp", label="False positives")
        outputs.int("fn", label="False negatives")
        outputs.int("num_thresholds", label="Thresholds evaluated")
        outputs.str("run_key", label="Stored as run")
        outputs.str("objective", label="Objective")
        outputs.float("score", label="Objective value")
        # a fenced block renders as plain preformatted text (CodeView would
        # load an editor from a CDN)
        outputs.str("summary_markdown", label="Summary", view=types.MarkdownView())
        if ctx.results and ctx.results.get("review_band_summary"):
            outputs.str("review_band_summary", label="Review band", view=types.MarkdownView())
        return types.Property(outputs, view=types.View(label="Optimal confidence threshold"))
