"""The ``optimal_confidence`` operator: its form is built from the option
spec (:mod:`.form`), ``execute`` turns the params into a request and runs
the library's pipeline, and the output shows the chosen point."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fiftyone as fo
import fiftyone.core.utils as fou
import fiftyone.operators as foo
import fiftyone.operators.types as types

from ..run.jobs import check, execute
from ..run.pipeline import Outcome
from ..outputs.reports import output_markdown
from ..outputs.reports_compare import comparison_markdown
from ..result.result import OptimalConfidenceResult
from ..result.stored import load_optimal_confidence
from .queued import QueuedRun
from .form import build_form, check_applies, request_from_params, task_of_params, with_default_fields

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
    if result.warnings:
        out["warnings"] = list(result.warnings)
    out.update(outcome.done())
    if "comparison" in out:
        out["comparison_markdown"] = comparison_markdown(out["comparison"])
    return out


def open_panel_ids(spaces: Any, name: str) -> list[str]:
    """The ids of the open panels called ``name`` in the App's spaces
    layout (``ctx.spaces``), in layout order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if getattr(node, "type", None) == name:
            found.append(node.component_id)
        for child in getattr(node, "children", None) or []:
            walk(child)

    if spaces is not None:
        walk(spaces)
    return found


def execute_now(uri: str, ctx: dict[str, Any], **kwargs: Any) -> Any:
    """``foo.execute_operator`` that returns its ``ExecutionResult`` also
    inside a running event loop (Jupyter), where ``execute_operator`` only
    returns a task: the operation then runs to completion on a worker
    thread, which has no loop of its own."""
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:
        return foo.execute_operator(uri, ctx, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(foo.execute_operator, uri, ctx, **kwargs).result()


def call_params(
    samples: Any, pred_field: str | None, gt_field: str | None, options: dict[str, Any]
) -> dict[str, Any]:
    """The operator's params for a Python call: the fields (those not given
    chosen by the form's rule), the options (each one checked to apply),
    and the target: the view or dataset given.

    Raises:
        TypeError: for a keyword that is no option
        OptionError: for an option the run would ignore
    """
    params = with_default_fields({"pred_field": pred_field, "gt_field": gt_field}, samples)
    params.update(options)
    check_applies(options, params, task_of_params(params, samples))
    is_view = isinstance(samples, fo.DatasetView)
    params["view_target"] = "CURRENT_VIEW" if is_view else "DATASET"
    return params


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

    def __call__(
        self,
        sample_collection: Any,
        pred_field: str | None = None,
        gt_field: str | None = None,
        *,
        delegate: bool = False,
        delegation_target: str | None = None,
        **options: Any,
    ) -> OptimalConfidenceResult | QueuedRun:
        """Runs the operator from Python, as Voxel51's plugins do, with the
        same options and defaults as its form.

        Example usage::

            import fiftyone.operators as foo

            op = foo.get_operator("@threshold-lab/optimal_confidence/optimal_confidence")
            result = op(dataset, "predictions", "ground_truth")
            result = op(dataset.match_tags("val"), objective="precision", target=0.9)
            queued = op(dataset, delegate=True)  # for `fiftyone delegated launch`

        Args:
            sample_collection: a dataset or view; a view's samples are swept
            pred_field (None): the predictions field; by default the form's
                choice (``predictions`` when it has confidences, else the
                newest field whose labels carry confidences)
            gt_field (None): the ground truth field; by default the form's
                choice (``ground_truth``, else a field without confidences)
            delegate (False): whether to queue a delegated operation
                instead of running now
            delegation_target (None): an orchestrator for the delegated
                operation
            **options: any option of
                :data:`optimal_confidence.spec.options.OPTIONS` (``iou``,
                ``objective``, ``target``, ``per_class``, ``n_bootstrap``,
                ``review_precision``, ``run_key``, ...), as
                ``compute_optimal_confidence`` takes them. The run is
                stored under ``run_key``, or a free key

        Returns:
            the :class:`~optimal_confidence.result.OptimalConfidenceResult`,
            also inside Jupyter (no ``await`` needed); with ``delegate``, a
            :class:`~optimal_confidence.app.queued.QueuedRun`: its ``state``,
            and its ``result()`` once a worker has run it

        Raises:
            TypeError: for a keyword that is no option
            ValueError: (the option spec's ``OptionError``) for a bad value,
                an option that does not apply, or a write the write plan
                refuses (``export_path`` is a file name in the dataset's
                export folder, as in the App); nothing is written or queued
        """
        params = call_params(sample_collection, pred_field, gt_field, options)
        # every bad value and every write the plan refuses raise here, as
        # OptionError (a ValueError), before anything runs or is queued
        dataset = sample_collection._root_dataset
        check(sample_collection, request_from_params(params, sample_collection, dataset), confine=True)
        if isinstance(sample_collection, fo.DatasetView):
            ctx = dict(view=sample_collection)
        else:
            ctx = dict(dataset=sample_collection)
        if delegate:
            out = execute_now(
                self.uri, ctx, params=params, request_delegation=True,
                delegation_target=delegation_target,
            )
            return QueuedRun(str(out.result["id"]), dataset.name)
        out = execute_now(self.uri, ctx, params=params)
        return load_optimal_confidence(sample_collection, out.result["run_key"])

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

        outcome = execute(
            target, request, progress=fou.report_progress(_progress, dt=1.0),
            strict_band=False, confine=True,
        )
        # Run from the App (immediate): show the new result in the curves
        # panel. A run started from a panel shows there instead (its
        # on_success); a delegated run has no App to talk to; under
        # execute_operator() in Python the requests are only recorded
        if ctx.executor is not None and not ctx.delegated and not ctx.panel_id:
            self._show_in_panel(ctx, outcome.result.run_key)
        return operator_output(outcome)

    def _show_in_panel(self, ctx: Any, run_key: str) -> None:
        """Shows ``run_key`` in the open Confidence curves panel, or opens
        one on it when none is open (the App of FiftyOne 1.22 only brings an
        open panel to the front when asked to open it again)."""
        open_ids = open_panel_ids(ctx.spaces, PANEL_NAME)
        if not open_ids:
            ctx.ops.open_panel(PANEL_NAME, layout="horizontal", state={"open_run": run_key})
            return
        ctx.trigger(
            f"{self.plugin_name}/{PANEL_NAME}",
            params={"__method__": "on_show_run", "panel_id": open_ids[0], "run_key": run_key},
        )
        ctx.ops.open_panel(PANEL_NAME)  # to the front

    def resolve_output(self, ctx: Any) -> types.Property:
        outputs = types.Object()
        # the returned dict keeps every number exact; the dialog shows them
        # rounded, in markdown that wraps inside it
        if ctx.results:
            outputs.md(output_markdown(ctx.results), name="overview")
        return types.Property(outputs, view=types.View(label="Optimal confidence threshold"))
