"""App glue for the optimal_confidence plugin: the operator, the curves
panel and ``register``.

Everything here translates ``ctx.params`` into a call of the library in
``optimal_confidence/``; the library does the work and the validation.
"""

from __future__ import annotations

import numpy as np

import fiftyone as fo
import fiftyone.core.utils as fou
import fiftyone.operators as foo
import fiftyone.operators.types as types

from .optimal_confidence.api import (
    compute_optimal_confidence,
    list_optimal_confidence_runs,
    load_optimal_confidence,
    suggest_run_key,
)
from .optimal_confidence.matching import SUPPORTED_LABEL_TYPES
from .optimal_confidence.objectives import Objective
from .optimal_confidence.plots import (
    OPERATING_POINT_ID,
    format_score,
    operating_point,
    plotly_figures,
)
from .optimal_confidence.review import ReviewBand
from .optimal_confidence.sweep import count_at

#: the params the operator reads, with their API defaults
_DEFAULTS = dict(
    iou=0.5,
    classwise=True,
    overwrite=False,
    objective="f1",
    beta=1.0,
    fp_cost=1.0,
    fn_cost=1.0,
    average="micro",
    per_class=False,
    min_support=1,
    max_lost=0.05,
    ci_level=0.95,
)

#: the objective dropdown: value, label, description
_OBJECTIVES = [
    ("f1", "Best F1", "The threshold with the highest F1"),
    ("fbeta", "Best F-beta", "F-beta: beta > 1 favours recall, < 1 precision"),
    ("precision", "Precision target", "The most recall with precision >= target"),
    ("recall", "Recall target", "The most precision with recall >= target"),
    ("cost", "Lowest cost", "The least FP cost x FP + FN cost x FN"),
    (
        "accuracy",
        "Accuracy target (escalation)",
        "The lowest threshold whose kept answers reach the target accuracy",
    ),
]


def _label_fields(view) -> dict[str, type]:
    """Sample and frame fields holding Detections or Polylines, by path,
    found by their document type.
    """
    fields = {
        name: field.document_type
        for name, field in view.get_field_schema(
            embedded_doc_type=SUPPORTED_LABEL_TYPES
        ).items()
    }
    if view._has_frame_fields():
        fields.update(
            {
                f"frames.{name}": field.document_type
                for name, field in view.get_frame_field_schema(
                    embedded_doc_type=SUPPORTED_LABEL_TYPES
                ).items()
            }
        )
    return dict(sorted(fields.items()))


def _is_frames(path: str) -> bool:
    return path.startswith("frames.")


def _dropdown(inputs, name, choices, *, default, required, label, description):
    view = types.DropdownView()
    for choice in choices:
        view.add_choice(choice, label=choice)
    return inputs.enum(
        name,
        view.values(),
        default=default,
        required=required,
        label=label,
        description=description,
        view=view,
    )


def _invalid(prop, message: str) -> None:
    prop.invalid = True
    prop.error_message = message


def _objective_kwargs(params, api_names=False) -> dict:
    """The objective's settings from the form's params; ``api_names`` gives
    the keyword names of compute_optimal_confidence."""
    p = {k: params.get(k) for k in _DEFAULTS}
    name = params.get("objective") or _DEFAULTS["objective"]
    kwargs = dict(
        beta=params.get("beta") or _DEFAULTS["beta"],
        target=params.get("target") if name in ("precision", "recall", "accuracy") else None,
        fp_cost=_DEFAULTS["fp_cost"] if p["fp_cost"] is None else p["fp_cost"],
        fn_cost=_DEFAULTS["fn_cost"] if p["fn_cost"] is None else p["fn_cost"],
        average=params.get("average") or _DEFAULTS["average"],
        per_class=bool(params.get("per_class", _DEFAULTS["per_class"])),
        min_support=params.get("min_support") or _DEFAULTS["min_support"],
    )
    kwargs["objective" if api_names else "name"] = name
    return kwargs


class OptimalConfidence(foo.Operator):
    @property
    def config(self):
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

    def resolve_input(self, ctx):
        inputs = types.Object()
        # After a click in the curves panel the App's view filters the
        # predictions: sweeping it would sweep only the kept ones. Default to
        # the dataset then; the user can still pick the current view
        filtered = any(
            isinstance(stage, fo.core.stages.FilterLabels)
            for stage in getattr(ctx.view, "_stages", [])
        )
        inputs.view_target(
            ctx,
            action_description="Sweep",
            default_target="DATASET" if filtered else None,
            current_view_description=(
                "Sweep the current view. It filters labels: only the "
                "predictions it keeps are swept"
                if filtered
                else None
            ),
        )
        target = ctx.target_view()

        fields = _label_fields(target)
        if not fields:
            prop = inputs.view(
                "no_fields",
                types.Warning(
                    label="No Detections or Polylines fields",
                    description=(
                        "This dataset has no label field of Detections or "
                        "Polylines to sweep; add predictions and ground "
                        "truth first"
                    ),
                ),
            )
            prop.invalid = True
            return types.Property(inputs, view=types.View(label=self.config.label))

        gt_default = next(
            (f for f in ("ground_truth", "frames.ground_truth") if f in fields),
            next(iter(fields)),
        )
        gt_field = ctx.params.get("gt_field") or gt_default
        _dropdown(
            inputs,
            "gt_field",
            list(fields),
            default=gt_default,
            required=False,
            label="Ground truth field",
            description="The field of ground truth objects",
        )

        pred_choices = [
            f
            for f, t in fields.items()
            if t is fields.get(gt_field) and _is_frames(f) == _is_frames(gt_field)
        ]
        pred_default = next(
            (f for f in pred_choices if f != gt_field), pred_choices[0]
        )
        pred_field = ctx.params.get("pred_field") or pred_default
        pred_prop = _dropdown(
            inputs,
            "pred_field",
            pred_choices,
            default=pred_default,
            required=True,
            label="Predictions field",
            description="The field of model predictions, with confidences",
        )
        if pred_field == gt_field:
            _invalid(
                pred_prop,
                f"Predictions and ground truth are both '{gt_field}': pick "
                f"a different field for one of them",
            )
        elif pred_field not in pred_choices:
            _invalid(
                pred_prop,
                f"'{pred_field}' is not a {fields[gt_field].__name__} field "
                f"like '{gt_field}'; choose one of {pred_choices}",
            )
        else:
            self._check_data(ctx, target, pred_field, pred_prop)

        label_type = fields.get(pred_field)
        is_classification = label_type is not None and issubclass(
            label_type, fo.Classification
        )
        if is_classification:
            self._classification_inputs(ctx, inputs, target, gt_field)
        self._thresholds_inputs(ctx, inputs)
        if not is_classification:
            self._matching_inputs(ctx, inputs, pred_field, gt_field)
        self._objective_inputs(ctx, inputs)
        self._extra_inputs(ctx, inputs, is_classification)
        self._run_key_inputs(ctx, inputs)

        return types.Property(inputs, view=types.View(label=self.config.label))

    @staticmethod
    def _check_data(ctx, target, pred_field, pred_prop) -> None:
        """Existence checks that stop at the first hit, so that the form
        stays quick on large datasets (it is resolved on every change)."""
        from fiftyone import ViewField as F

        if len(target.limit(1)) == 0:
            _invalid(pred_prop, "The chosen target has no samples")
            return
        label_type = target._get_label_field_type(pred_field)
        if issubclass(label_type, fo.Classification):
            has_preds = target.exists(pred_field)
        else:
            path = f"{pred_field}.{label_type._LABEL_LIST_FIELD}"
            field = path[len("frames.") :] if _is_frames(path) else path
            expr = F(field).length() > 0
            has_preds = (
                target.match_frames(expr) if _is_frames(path) else target.match(expr)
            )
        if len(has_preds.limit(1)) == 0:
            _invalid(
                pred_prop,
                f"'{pred_field}' has no predictions in the chosen target",
            )
            return
        scored = target.filter_labels(
            pred_field, F("confidence") >= float("-inf"), only_matches=True
        )
        if len(scored.limit(1)) == 0:
            _invalid(
                pred_prop,
                f"None of the predictions in '{pred_field}' has a "
                f"confidence; the sweep needs confidences",
            )

    @staticmethod
    def _classification_inputs(ctx, inputs, target, gt_field) -> None:
        labels = sorted(l for l in target.distinct(f"{gt_field}.label") if l)
        view = types.DropdownView()
        view.add_choice(
            "",
            label="None: multiclass, escalate uncertain answers",
        )
        for label in labels:
            view.add_choice(label, label=label)
        inputs.enum(
            "positive_label",
            view.values(),
            default="",
            required=False,
            label="Positive label",
            description=(
                "For a yes/no question, the positive class: P/R/F1 of "
                "'positive' against the threshold. Empty: answers below the "
                "threshold go to a person (coverage and accuracy)"
            ),
            view=view,
        )

    @staticmethod
    def _thresholds_inputs(ctx, inputs) -> None:
        inputs.view(
            "thresholds_header",
            types.Header(
                label="Thresholds",
                description=(
                    "Leave the bounds empty to use the range of the "
                    "confidences, and the number empty for the exact sweep "
                    "(every distinct confidence)"
                ),
                divider=True,
            ),
        )
        inputs.float(
            "lower_bound",
            label="Lower bound",
            description="The smallest threshold (default: smallest confidence)",
        )
        upper = inputs.float(
            "upper_bound",
            label="Upper bound",
            description="The largest threshold (default: largest confidence)",
        )
        lo, hi = ctx.params.get("lower_bound"), ctx.params.get("upper_bound")
        if lo is not None and hi is not None and not lo < hi:
            _invalid(
                upper,
                f"The upper bound ({hi}) must be above the lower bound ({lo})",
            )
        num = inputs.int(
            "num_thresholds",
            label="Number of thresholds",
            description=(
                "Evenly spaced thresholds between the bounds; empty for the "
                "exact sweep"
            ),
            min=1,
        )
        n = ctx.params.get("num_thresholds")
        if n is not None and n < 1:
            _invalid(num, "The number of thresholds must be at least 1, or empty")

    @staticmethod
    def _matching_inputs(ctx, inputs, pred_field, gt_field) -> None:
        iou = inputs.float(
            "iou",
            default=_DEFAULTS["iou"],
            label="IoU",
            description="The intersection over union a match needs, in (0, 1]",
            min=0,
            max=1,
        )
        value = ctx.params.get("iou", _DEFAULTS["iou"])
        if value is None or not (
            isinstance(value, (int, float)) and 0 < value <= 1
        ):
            _invalid(iou, f"IoU must be in (0, 1]; got {value}")
        inputs.bool(
            "classwise",
            default=_DEFAULTS["classwise"],
            label="Classwise",
            description=(
                "Only match objects with the same label (off: any label can "
                "match, and a match across labels counts as FP and FN)"
            ),
        )
        keys = []
        for key in ctx.dataset.list_evaluations():
            cfg = ctx.dataset.get_evaluation_info(key).config
            if (
                getattr(cfg, "type", None) == "detection"
                and getattr(cfg, "pred_field", None) == pred_field
                and getattr(cfg, "gt_field", None) == gt_field
            ):
                keys.append(key)
        if keys:
            view = types.DropdownView()
            view.add_choice("", label="None: match now")
            for key in keys:
                view.add_choice(key, label=key)
            inputs.enum(
                "eval_key",
                view.values(),
                default="",
                required=False,
                label="Reuse an evaluation",
                description=(
                    "Read the matches of an evaluation you already ran "
                    "instead of matching again (its IoU and classwise "
                    "setting are used)"
                ),
                view=view,
            )

    @staticmethod
    def _objective_inputs(ctx, inputs) -> None:
        inputs.view(
            "objective_header",
            types.Header(
                label="Objective",
                description="What the best threshold is best at",
                divider=True,
            ),
        )
        view = types.DropdownView()
        for value, label, description in _OBJECTIVES:
            view.add_choice(value, label=label, description=description)
        obj_prop = inputs.enum(
            "objective",
            view.values(),
            default=_DEFAULTS["objective"],
            required=False,
            label="Objective",
            view=view,
        )
        p = ctx.params
        name = p.get("objective") or _DEFAULTS["objective"]
        props = {}
        if name == "fbeta":
            props["beta"] = inputs.float(
                "beta", default=_DEFAULTS["beta"], label="Beta",
                description="2 counts recall twice as much as precision",
            )
        if name in ("precision", "recall", "accuracy"):
            props["target"] = inputs.float(
                "target", label="Target", required=True,
                description=f"The least {'precision' if name == 'accuracy' else name} "
                "to reach, in (0, 1], for example 0.95",
            )
        if name == "cost":
            props["fp_cost"] = inputs.float(
                "fp_cost", default=_DEFAULTS["fp_cost"], label="Cost of a false positive"
            )
            props["fn_cost"] = inputs.float(
                "fn_cost", default=_DEFAULTS["fn_cost"], label="Cost of a false negative"
            )
        avg = types.RadioGroup(orientation="horizontal")
        avg.add_choice("micro", label="Pool all classes (micro)")
        avg.add_choice("macro", label="Average per class (macro)")
        props["average"] = inputs.enum(
            "average", avg.values(), default=_DEFAULTS["average"],
            label="Averaging", view=avg,
        )
        props["per_class"] = inputs.bool(
            "per_class", default=_DEFAULTS["per_class"],
            label="A threshold per class",
            description="Also choose each class's own threshold by this objective",
        )
        if p.get("per_class"):
            props["min_support"] = inputs.int(
                "min_support", default=_DEFAULTS["min_support"], min=1,
                label="Minimum support",
                description="Classes with fewer ground truth objects keep the global threshold",
            )
        try:
            objective = Objective(**_objective_kwargs(p))
        except ValueError as e:
            message = str(e)
            field = next(
                (k for k in ("target", "beta", "fp_cost", "fn_cost", "min_support") if k in message),
                None,
            )
            _invalid(props.get(field, obj_prop), message)
            return
        if objective.per_class and not p.get("classwise", _DEFAULTS["classwise"]):
            _invalid(
                props["per_class"],
                "A threshold per class needs Classwise on: with cross-label "
                "matches one class's threshold changes another's matches",
            )

    @staticmethod
    def _extra_inputs(ctx, inputs, is_classification) -> None:
        inputs.view(
            "extras_header",
            types.Header(
                label="How certain, and a review band",
                description="Optional",
                divider=True,
            ),
        )
        boot = inputs.int(
            "n_bootstrap", label="Bootstrap resamples", min=1,
            description=(
                "Resample the images this many times (e.g. 1000) for an "
                "interval of the threshold and the objective; empty: none"
            ),
        )
        inputs.int("seed", label="Seed", description="For reproducible intervals")
        n = ctx.params.get("n_bootstrap")
        if n is not None and n < 1:
            _invalid(boot, "The number of resamples must be at least 1, or empty")
        band = inputs.float(
            "review_precision", label="Review band: precision to accept",
            description=(
                "Accept predictions automatically where their precision "
                "reaches this (e.g. 0.95), review the uncertain ones; empty: "
                "no band"
            ),
        )
        lost = inputs.float(
            "max_lost", default=_DEFAULTS["max_lost"],
            label="Review band: true detections that may be dropped",
            description="The share of true detections the dropped predictions may hold",
        )
        inputs.float("review_cost", label="Review band: cost per review (optional)")
        rp = ctx.params.get("review_precision")
        if rp is not None and not 0 < rp <= 1:
            _invalid(band, f"The precision must be in (0, 1]; got {rp}")
        ml = ctx.params.get("max_lost", _DEFAULTS["max_lost"])
        if ml is not None and not 0 <= ml <= 1:
            _invalid(lost, f"The share must be in [0, 1]; got {ml}")

    @staticmethod
    def _run_key_inputs(ctx, inputs) -> None:
        default = suggest_run_key(ctx.dataset)
        prop = inputs.str(
            "run_key",
            default=default,
            label="Run key",
            description="The result is stored on the dataset under this key",
        )
        inputs.bool(
            "overwrite",
            default=_DEFAULTS["overwrite"],
            label="Overwrite",
            description="Replace an existing run with this key",
        )
        key = ctx.params.get("run_key") or default
        if not key.isidentifier():
            _invalid(
                prop,
                f"'{key}' is not a valid run key: use letters, digits and "
                f"underscores, not starting with a digit",
            )
        elif key in ctx.dataset.list_runs() and not ctx.params.get("overwrite"):
            _invalid(
                prop,
                f"Run '{key}' already exists: choose another key (for "
                f"example '{default}') or tick Overwrite",
            )

    def execute(self, ctx):
        params = ctx.params
        target = ctx.target_view()

        def _progress(pb):
            ctx.set_progress(
                progress=pb.progress,
                label=f"Matching predictions: {pb.iteration}/{pb.total} samples",
            )

        result = compute_optimal_confidence(
            target,
            params["pred_field"],
            params.get("gt_field") or "ground_truth",
            iou=params.get("iou", _DEFAULTS["iou"]),
            classwise=params.get("classwise", _DEFAULTS["classwise"]),
            lower_bound=params.get("lower_bound"),
            upper_bound=params.get("upper_bound"),
            num_thresholds=params.get("num_thresholds"),
            run_key=params.get("run_key") or suggest_run_key(ctx.dataset),
            overwrite=params.get("overwrite", _DEFAULTS["overwrite"]),
            eval_key=params.get("eval_key") or None,
            positive_label=params.get("positive_label") or None,
            n_bootstrap=params.get("n_bootstrap"),
            seed=params.get("seed"),
            progress=fou.report_progress(_progress, dt=1.0),
            **_objective_kwargs(params, api_names=True),
        )
        out = result.metrics()
        # the best point; per-class thresholds and intervals when asked for
        out["summary"] = result.report(num_rows=0)
        out["summary_markdown"] = f"```\n{out['summary']}\n```"
        if params.get("review_precision") is not None:
            try:
                band = result.review_band(
                    params["review_precision"],
                    params.get("max_lost", _DEFAULTS["max_lost"]),
                    review_cost=params.get("review_cost"),
                )
            except ValueError as e:
                out["review_band_summary"] = f"No review band: {e}"
            else:
                out["review_band"] = band.to_dict()
                out["review_band_summary"] = band.summary()
        # Run from the App (immediate): open a panel on the new result (a new
        # one: the App would only bring an open panel to the front, showing
        # its old run). A run started from a panel shows there instead (its
        # on_success); a delegated run has no App to talk to; under
        # execute_operator() in Python the request is only recorded in the
        # returned executor
        if ctx.executor is not None and not ctx.delegated and not ctx.panel_id:
            ctx.ops.open_panel(
                PANEL_NAME,
                layout="horizontal",
                state={"open_run": result.run_key},
            )
        return out

    def resolve_output(self, ctx):
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
        return types.Property(
            outputs, view=types.View(label="Optimal confidence threshold")
        )


# ---------------------------------------------------------------------------
# The curves panel

#: the panel's name; its URI is ``@threshold-lab/optimal_confidence/<name>``
PANEL_NAME = "confidence_curves"

#: the class selector's value for all classes pooled
_ALL = "__all__"

#: plot size in pixels (the App collapses plots without one). The view
#: gets them as CSS strings: the App of FiftyOne 1.22 reads a bare number
#: as a percentage of the panel (capped at 100%), which made each plot's box
#: as tall as the whole panel
_PLOT_WIDTH, _PLOT_HEIGHT = 560, 340

#: a few recently loaded results, keyed by dataset, run key and timestamp,
#: so that clicks do not read the stored result again
_CACHE: dict[tuple, object] = {}
_CACHE_SIZE = 4


def _load_result(dataset, run_key):
    info = dataset.get_run_info(run_key)
    key = (dataset._doc.id, run_key, str(info.timestamp))
    result = _CACHE.get(key)
    if result is None:
        result = load_optimal_confidence(dataset, run_key)
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = result
    return result


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _view_name(pred_field: str, threshold: float) -> str:
    """A saved view's name: the field and the exact threshold."""
    return f"{pred_field}@{float(threshold)!r}"


def _save_view_once(
    dataset,
    name: str,
    view,
    *,
    description: str = (
        "Predictions kept at this confidence threshold (saved from the "
        "confidence curves panel)"
    ),
) -> tuple[str, bool]:
    """Saves ``view`` under ``name``, or under ``name (2)``, ``name (3)``...
    when a different view holds the name (or its slug). Never overwrites.

    Returns:
        ``(name, created)``: ``created`` is False when a saved view of that
        name family already holds exactly this view
    """
    stages = view._serialize(include_uuids=False)
    existing = dataset.list_saved_views()
    slugs = {fou.to_slug(n) for n in existing}
    candidate, i = name, 1
    while candidate in existing or fou.to_slug(candidate) in slugs:
        if candidate in existing:
            saved = dataset.load_saved_view(candidate)
            if saved._serialize(include_uuids=False) == stages:
                return candidate, False
        i += 1
        candidate = f"{name} ({i})"
    dataset.save_view(candidate, view, description=description)
    return candidate, True


def _message(text: str | None, *, at: str | None = None) -> dict:
    """The state of the panel's message: ``text``, shown at the top, or
    under the per-class table (``at="per_class"``) or the review band
    (``at="band"``), where the button that caused it is."""
    return {"message": text, "message_at": at}


def _save_message(wanted: str, name: str, created: bool) -> str:
    if not created:
        return f"This view is already saved as '{name}'; nothing changed."
    if name != wanted:
        return (
            f"Saved view '{name}' ('{wanted}' already holds a different "
            f"view and was left as it was)."
        )
    return f"Saved view '{name}'."


def _jsonable(value):
    """``value`` with every non-finite float as None: the App parses panel
    state as strict JSON, where ``NaN`` is an error."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


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
    ``message`` and ``message_at`` (where it shows). Data: ``plots.threshold`` and ``plots.pr`` (the traces,
    from :func:`optimal_confidence.plots.plotly_figures`). Opening the
    panel with ``state={"open_run": key}`` shows run ``key``; otherwise it
    shows the newest run.
    """

    @property
    def config(self):
        return foo.PanelConfig(
            name="confidence_curves",  # = PANEL_NAME, as fiftyone.yml lists it
            label="Confidence curves",
            icon="/assets/icon.svg",
            help_markdown=(
                "Precision, recall and F1 against the confidence threshold, "
                "from the results of the `optimal_confidence` operator. "
                "Click a point to see the predictions kept at that threshold."
            ),
            surfaces="grid",
            # each run from the App opens its own panel (results side by
            # side); with False the App would bring an open one to the front
            allow_multiple=True,
        )

    @property
    def _operator_uri(self) -> str:
        return f"{self.plugin_name}/optimal_confidence"

    # -- events -------------------------------------------------------------

    def on_load(self, ctx):
        state = ctx.panel.state
        wanted = state.get("open_run") or state.get("controls.run_key")
        self._show_run(ctx, wanted, runs=list_optimal_confidence_runs(ctx.dataset))

    # No on_change_spaces: with it, the App of FiftyOne 1.22.1 hung as soon
    # as this panel opened (seen in headless Chromium)

    def on_change_dataset(self, ctx):
        self._show_run(ctx, None, runs=list_optimal_confidence_runs(ctx.dataset))

    def on_change_run(self, ctx):
        runs = list_optimal_confidence_runs(ctx.dataset)
        self._show_run(ctx, ctx.params.get("value"), runs=runs)

    def on_change_class(self, ctx):
        run_key = ctx.panel.state.get("controls.run_key")
        if run_key is None:
            return
        ctx.panel.state.set("controls.class_name", ctx.params.get("value") or _ALL)
        result = _load_result(ctx.dataset, run_key)
        selected = ctx.panel.state.get("selected")
        t = selected["threshold"] if selected else None
        update = {}
        if t is not None:
            update["selected"] = self._counts_at(ctx, result, t)
        self._send_curves(ctx, result, t, update)

    def on_click_curve(self, ctx):
        if ctx.params.get("id") == OPERATING_POINT_ID:
            self.on_click_per_class_view(ctx)
            return
        threshold = _clicked_threshold(ctx.params)
        if threshold is not None:
            self._select(ctx, threshold)

    def on_click_best(self, ctx):
        self._select(ctx, None)

    def on_click_reset(self, ctx):
        run_key = ctx.panel.state.get("controls.run_key")
        if run_key is None:
            return
        result = _load_result(ctx.dataset, run_key)
        ctx.ops.set_view(ctx.dataset.load_run_view(run_key))
        ctx.panel.state.set(
            {
                "selected": None,
                **_message(None),
                "layouts": self._layouts(ctx, result, None),
            }
        )

    def on_click_save(self, ctx):
        run_key = ctx.panel.state.get("controls.run_key")
        selected = ctx.panel.state.get("selected")
        if run_key is None or not selected:
            ctx.panel.state.set(
                _message("Click a threshold on a curve first, then save its view.")
            )
            return
        result = _load_result(ctx.dataset, run_key)
        t = selected["threshold"]
        view = result.view(ctx.dataset.load_run_view(run_key), t)
        wanted = _view_name(result.config.pred_field, t)
        name, created = _save_view_once(ctx.dataset, wanted, view)
        message = _save_message(wanted, name, created)
        ctx.panel.state.set(_message(message))
        ctx.ops.notify(message, variant="success" if created else "info")

    def on_click_per_class_view(self, ctx):
        """Sets the App's view to the run's target with each class's
        predictions kept at its own threshold."""
        run_key = ctx.panel.state.get("controls.run_key")
        if run_key is None:
            return
        result = _load_result(ctx.dataset, run_key)
        if not result.objective.per_class:
            return
        ctx.ops.set_view(result.view(ctx.dataset.load_run_view(run_key)))
        op = operating_point(result)
        ctx.panel.state.set(
            {
                "selected": None,
                **_message(
                    f"Showing each class at its own threshold: "
                    f"{op['tp'] + op['fp']} of {result.records.num_preds} "
                    f"predictions kept.",
                    at="per_class",
                ),
                "layouts": self._layouts(ctx, result, None),
            }
        )

    def on_click_save_per_class(self, ctx):
        """Saves the per-class view as ``<pred_field>@per-class`` (or
        ``... (2)`` when that name holds another view)."""
        run_key = ctx.panel.state.get("controls.run_key")
        if run_key is None:
            return
        result = _load_result(ctx.dataset, run_key)
        if not result.objective.per_class:
            return
        view = result.view(ctx.dataset.load_run_view(run_key))
        wanted = f"{result.config.pred_field}@per-class"
        name, created = _save_view_once(
            ctx.dataset,
            wanted,
            view,
            description=(
                f"Each class's predictions kept at its own threshold "
                f"({result.objective.label}, run '{run_key}'; saved from the "
                f"confidence curves panel)"
            ),
        )
        message = _save_message(wanted, name, created)
        ctx.panel.state.set(_message(message, at="per_class"))
        ctx.ops.notify(message, variant="success" if created else "info")

    def on_click_band(self, ctx):
        """Finds the review band for the targets typed in the panel."""
        run_key = ctx.panel.state.get("controls.run_key")
        if run_key is None:
            return
        result = _load_result(ctx.dataset, run_key)
        inputs = {**_BAND_DEFAULTS, **(ctx.panel.state.get("band_inputs") or {})}
        band, error = None, None
        try:
            found = result.review_band(
                _band_number(inputs, "precision"),
                _band_number(inputs, "max_lost"),
                review_cost=_band_number(inputs, "review_cost", optional=True),
            )
        except ValueError as e:  # also UnattainableTargetError
            error = str(e)
        else:
            band = _jsonable({**found.to_dict(), "summary": found.summary()})
        ctx.panel.state.set({"band": band, "band_error": error})
        selected = ctx.panel.state.get("selected")
        t = selected["threshold"] if selected else None
        ctx.panel.state.set("layouts", self._layouts(ctx, result, t))

    def on_click_review_view(self, ctx):
        """Sets the App's view to the images with predictions to review,
        showing only those predictions (``t_low <= confidence < t_high``)."""
        run_key = ctx.panel.state.get("controls.run_key")
        band = ctx.panel.state.get("band")
        if run_key is None or not band:
            return
        result = _load_result(ctx.dataset, run_key)
        target = ctx.dataset.load_run_view(run_key)
        ctx.ops.set_view(_review_view(result, target, band["t_low"], band["t_high"]))
        ctx.panel.state.set(
            {
                "selected": None,
                **_message(
                    f"Showing the {band['review']} predictions to review on "
                    f"{band['review_images']} images (confidence in "
                    f"[{_fmt(band['t_low'])}, {_fmt(band['t_high'])})).",
                    at="band",
                ),
            }
        )

    def on_click_run(self, ctx):
        ctx.prompt(self._operator_uri, on_success=self.on_run_success)

    def on_run_success(self, ctx):
        result = ctx.params.get("result")
        key = result.get("run_key") if isinstance(result, dict) else None
        runs = list_optimal_confidence_runs(ctx.dataset)
        if key in runs:
            self._show_run(ctx, key, runs=runs)
        else:
            # a delegated run: its result appears once it has run
            self._show_run(ctx, ctx.panel.state.get("controls.run_key"), runs=runs)
            ctx.panel.state.set(
                _message(
                    "The sweep was scheduled; its result appears here once it "
                    "has run (`fiftyone delegated launch`)."
                )
            )

    # -- helpers ------------------------------------------------------------

    def _show_run(self, ctx, run_key, *, runs):
        """Shows run ``run_key`` (if it is not one of ``runs``: the newest)
        with all classes and no threshold selected."""
        if run_key not in runs:
            run_key = runs[0] if runs else None
        update = {
            "runs": runs,
            "open_run": None,
            "controls.run_key": run_key,
            "controls.class_name": _ALL,
            "selected": None,
            **_message(None),
            "info": None,
            "classes": [],
            "class_table": [],
            "operating": None,
            "band": None,
            "band_error": None,
            "layouts": {},
        }
        if not ctx.panel.state.get("band_inputs"):
            update["band_inputs"] = dict(_BAND_DEFAULTS)
        if run_key is None:
            ctx.panel.state.set(update)
            ctx.panel.data.set({"plots.threshold": [], "plots.pr": []})
            return
        result = _load_result(ctx.dataset, run_key)
        update["classes"] = result.classes
        update["info"] = _jsonable(_run_info(result))
        if result.objective.per_class:
            update["class_table"] = _jsonable(_class_rows(result))
            update["operating"] = _jsonable(operating_point(result))
        self._send_curves(ctx, result, None, update)

    def _figures(self, ctx, result, selected):
        name = ctx.panel.state.get("controls.class_name") or _ALL
        band = ctx.panel.state.get("band")
        return plotly_figures(
            result,
            classes=None if name == _ALL else name,
            selected=selected,
            band=_band_object(band) if band else None,
            width=_PLOT_WIDTH,
            height=_PLOT_HEIGHT,
        )

    def _layouts(self, ctx, result, selected):
        figs = self._figures(ctx, result, selected)
        return {k: fig["layout"] for k, fig in figs.items()}

    def _send_curves(self, ctx, result, selected, update=None):
        figs = self._figures(ctx, result, selected)
        ctx.panel.data.set(
            {
                "plots.threshold": figs["threshold"]["data"],
                "plots.pr": figs["pr"]["data"],
            }
        )
        layouts = {k: fig["layout"] for k, fig in figs.items()}
        ctx.panel.state.set({**(update or {}), "layouts": layouts})

    def _select(self, ctx, threshold):
        """Sets the App's view to the run's target with the predictions kept
        at ``threshold`` (default: the best one) and shows their counts."""
        run_key = ctx.panel.state.get("controls.run_key")
        if run_key is None:
            return
        result = _load_result(ctx.dataset, run_key)
        if threshold is None:
            threshold = result.best_threshold
        target = ctx.dataset.load_run_view(run_key)
        ctx.ops.set_view(result.view(target, threshold))
        ctx.panel.state.set(
            {
                "selected": self._counts_at(ctx, result, threshold),
                **_message(None),
                "layouts": self._layouts(ctx, result, threshold),
            }
        )

    def _counts_at(self, ctx, result, threshold) -> dict:
        """The counts at ``threshold`` of the classes shown, exact at any
        threshold (also between the swept ones)."""
        name = ctx.panel.state.get("controls.class_name") or _ALL
        if name == _ALL:
            counts = result.counts_at(threshold)
        else:
            counts = count_at(
                result.records.restrict_to_class(name), np.array([threshold])
            )
        tp, fp, fn = (int(x[0]) for x in counts)
        return {
            "task": result.config.task,
            "threshold": float(threshold),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
            # NaN (no confidence) is never kept
            "kept": int((result.records.pred_conf >= threshold).sum()),
            "total": int(result.records.num_preds),
            "scope": "all classes" if name == _ALL else name,
        }

    # -- layout -------------------------------------------------------------

    def render(self, ctx):
        panel = types.Object()
        state = ctx.panel.state
        runs = state.get("runs") or []

        if not runs:
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
                on_click=self.on_click_run,
            )
            return types.Property(
                panel,
                view=types.GridView(
                    orientation="vertical", align_x="center", align_y="center", gap=2
                ),
            )

        controls = panel.h_stack("controls", align_y="center", gap=2)
        run_choices = types.DropdownView(label="Result")
        for key in runs:
            run_choices.add_choice(key, label=key)
        controls.enum(
            "run_key",
            run_choices.values(),
            label="Result",
            view=run_choices,
            on_change=self.on_change_run,
        )
        class_choices = types.DropdownView(label="Classes")
        class_choices.add_choice(_ALL, label="All classes")
        for name in state.get("classes") or []:
            class_choices.add_choice(name, label=name)
        controls.enum(
            "class_name",
            class_choices.values(),
            default=_ALL,
            label="Classes",
            view=class_choices,
            on_change=self.on_change_class,
        )
        controls.btn(
            "run_operator",
            label="New sweep",
            icon="add",
            variant="outlined",
            on_click=self.on_click_run,
        )

        info = state.get("info")
        if info:
            panel.md(_summary_markdown(info), name="summary")
            if info.get("ci"):
                panel.md(_ci_markdown(info), name="ci_text")

        panel.md(_selection_markdown(state.get("selected")), name="selection")
        actions = panel.h_stack("actions", gap=2, align_x="left")
        actions.btn(
            "show_best",
            label="Show the best threshold",
            icon="star",
            variant="outlined",
            on_click=self.on_click_best,
        )
        actions.btn(
            "save_view",
            label="Save this view",
            icon="bookmark_add",
            variant="outlined",
            disabled=not state.get("selected"),
            on_click=self.on_click_save,
        )
        actions.btn(
            "reset_view",
            label="Show all predictions",
            icon="restart_alt",
            variant="outlined",
            on_click=self.on_click_reset,
        )
        message = state.get("message")
        if message and not state.get("message_at"):
            panel.md(message, name="message_text")

        layouts = state.get("layouts") or {}
        # one above the other: side by side they overflow a half-width panel
        plots = panel.v_stack("plots", gap=1, align_x="left")
        for name in ("threshold", "pr"):
            plots.plot(
                name,
                layout=layouts.get(name, {}),
                config={"displayModeBar": False},
                on_click=self.on_click_curve,
                width=f"{_PLOT_WIDTH}px",
                height=f"{_PLOT_HEIGHT}px",
            )

        if info and state.get("class_table"):
            self._render_per_class(panel, state)
        if info:
            self._render_band(panel, state, info)

        return types.Property(
            panel, view=types.GridView(orientation="vertical", gap=2, padding=2)
        )

    def _render_per_class(self, panel, state) -> None:
        # a markdown table: it renders in the App as it reads here, and the
        # rows are plain state (``class_table``) for anything else
        panel.md(
            _class_table_markdown(
                state.get("class_table"),
                state.get("operating"),
                state.get("info.minimize"),
            ),
            name="class_table_text",
        )
        row = panel.h_stack("per_class_actions", gap=2, align_x="left")
        row.btn(
            "per_class_view",
            label="Show the per-class view",
            icon="tune",
            variant="outlined",
            on_click=self.on_click_per_class_view,
        )
        row.btn(
            "save_per_class",
            label="Save the per-class view",
            icon="bookmark_add",
            variant="outlined",
            on_click=self.on_click_save_per_class,
        )
        if state.get("message") and state.get("message_at") == "per_class":
            panel.md(state.get("message"), name="per_class_message")

    def _render_band(self, panel, state, info) -> None:
        words = _BAND_WORDS[info["task"]]
        if not info["classwise"]:
            panel.md(
                "**Review band**: needs a classwise result (with matches "
                "across labels, reviewing one prediction changes others' "
                "matches).",
                name="band_header",
            )
            return
        panel.md(
            f"**Review band**: accept {words['items']} at or above a high "
            f"threshold, drop those below a low one, and send the ones in "
            f"between to a person.",
            name="band_header",
        )
        row = panel.h_stack("band_inputs", gap=2, align_y="center")
        row.float(
            "precision",
            default=_BAND_DEFAULTS["precision"],
            label=words["precision"],
            min=0,
            max=1,
        )
        row.float(
            "max_lost",
            default=_BAND_DEFAULTS["max_lost"],
            label=words["max_lost"],
            min=0,
            max=1,
        )
        row.float("review_cost", label="Cost per review (optional)", min=0)
        row.btn(
            "find_band",
            label="Find the band",
            icon="tune",
            variant="contained",
            on_click=self.on_click_band,
        )
        band = state.get("band")
        error = state.get("band_error")
        if error:
            panel.md(f"_No band:_ {error}", name="band_text")
        elif band:
            panel.md(band["summary"], name="band_text")
        if band:
            panel.btn(
                "review_view",
                label=f"Show the {band['review']} predictions to review",
                icon="visibility",
                variant="outlined",
                disabled=not band["review"],
                on_click=self.on_click_review_view,
            )
        if state.get("message") and state.get("message_at") == "band":
            panel.md(state.get("message"), name="band_message")


def _clicked_threshold(params) -> float | None:
    """The threshold of a clicked point: every trace carries its thresholds
    in ``ids``; the threshold plot's ``x`` is the threshold too."""
    point_id = params.get("id")
    if point_id is not None:
        try:
            return float(point_id)
        except (TypeError, ValueError):
            pass
    path = params.get("path") or ""
    x = params.get("x")
    if path.endswith("threshold") and isinstance(x, (int, float)):
        return float(x)
    return None


def _summary_markdown(info) -> str:
    t = _fmt(info["best_threshold"])
    if info["objective_name"] == "accuracy":
        chosen = f"as the {info['objective']}"
    else:
        chosen = (
            f"by {info['objective']} = "
            f"{format_score(info['score'], info['minimize'])}"
        )
    mode = "exact sweep" if info["exact"] else "grid"
    fields = f"`{info['pred_field']}` vs `{info['gt_field']}`"
    if info["task"] == "multiclass":
        return (
            f"**Answer automatically at confidence >= {t}: accuracy "
            f"{info['precision']:.3f}, {info['escalated']:.1%} escalated** "
            f"({info['total'] - info['kept']} of {info['total']} images to a "
            f"person), chosen {chosen}  \n"
            f"{fields}, multiclass with escalation, {info['num_samples']} "
            f"samples, {info['num_thresholds']} thresholds ({mode})"
        )
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
    )


def _interval(pair, minimize: bool = False) -> str:
    if pair is None or any(x is None for x in pair):
        return "[undefined]"
    if minimize:
        return f"[{pair[0]:g}, {pair[1]:g}]"
    return f"[{pair[0]:.3f}, {pair[1]:.3f}]"


def _ci_markdown(info) -> str:
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


def _selection_markdown(selected) -> str:
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


#: the metric an objective's bootstrap ``score_ci`` is of, and for a target
#: objective the metric its ``constraint_ci`` is of
_CI_METRICS = {
    "f1": ("F1", None),
    "precision": ("recall", "precision"),
    "recall": ("precision", "recall"),
    "accuracy": ("accuracy", None),
    "cost": ("cost", None),
}


def _run_info(result) -> dict:
    """What the summary shows of a result: its metrics, objective, config
    and intervals (plain values, possibly non-finite: see ``_jsonable``)."""
    c, o = result.config, result.objective
    i = result.best_index
    kept = int(result.tp[i] + result.fp[i])
    info = {
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
        "kept": kept,
        "total": int(result.records.num_preds),
        "coverage": float(result.coverage[i]),
        "escalated": 1.0 - float(result.coverage[i]),
        "ci": None,
    }
    u = result.uncertainty
    if u is not None:
        metric, constraint = _CI_METRICS.get(o.name, (f"F{o.beta:g}", None))
        if o.average == "macro" and o.name != "cost":
            metric += " (macro)"
            constraint = constraint and f"{constraint} (macro)"
        info["ci"] = {
            "level": u.level,
            "n_bootstrap": u.n_bootstrap,
            "threshold": list(u.threshold_ci),
            "score": list(u.score_ci),
            "constraint": list(u.constraint_ci),
            "unattainable": u.unattainable,
            "metric": metric,
            "constraint_metric": constraint,
        }
    return info


def _class_rows(result) -> list[dict]:
    """One row per class of :attr:`OptimalConfidenceResult.class_choices`."""
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


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _class_table_markdown(rows, operating, minimize) -> str:
    lines = [
        "**Per-class thresholds**",
        "",
        "| class | threshold | support | score | note |",
        "| :-- | --: | --: | --: | :-- |",
    ]
    for r in rows:
        score = "-" if r["score"] is None else format_score(r["score"], minimize)
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


#: the review band's inputs before the user types any
_BAND_DEFAULTS = {"precision": 0.9, "max_lost": 0.05, "review_cost": None}

#: how the band's inputs read for each task
_BAND_WORDS = {
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


def _band_number(inputs, name, *, optional=False):
    value = inputs.get(name)
    if value is None or value == "":
        if optional:
            return None
        raise ValueError(f"Enter a value for '{name}'")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{name}' must be a number; got {value!r}") from None


def _band_object(band: dict) -> ReviewBand:
    """A :class:`ReviewBand` from its state (``to_dict()`` and a summary)."""
    names = set(ReviewBand.__dataclass_fields__)
    return ReviewBand(**{k: v for k, v in band.items() if k in names})


def _review_view(result, target, t_low: float, t_high: float):
    """The samples of ``target`` with predictions to review, showing only
    those: the band ``t_low <= score < t_high`` on the score the result
    swept (the confidence; for a binary task the positive score, one minus
    the confidence of a negative answer)."""
    from fiftyone import ViewField as F

    c = result.config
    score = F("confidence")
    if c.task == "binary":
        score = (F("label") == c.positive_label).if_else(score, 1 - score)
    return target.filter_labels(
        c.pred_field, (score >= t_low) & (score < t_high), only_matches=True
    )


def register(p):
    p.register(OptimalConfidence)
    p.register(ConfidenceCurves)
