"""App glue for the optimal_confidence plugin: operators and ``register``.

Everything here translates ``ctx.params`` into a call of the library in
``optimal_confidence/``; the library does the work and the validation.
"""

from __future__ import annotations


import fiftyone as fo
import fiftyone.core.utils as fou
import fiftyone.operators as foo
import fiftyone.operators.types as types

from .optimal_confidence.api import (
    compute_optimal_confidence,
    suggest_run_key,
)
from .optimal_confidence.matching import SUPPORTED_LABEL_TYPES

#: the params the operator reads, with their API defaults
_DEFAULTS = dict(iou=0.5, classwise=True, overwrite=False)


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


class OptimalConfidence(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="optimal_confidence",
            label="Find the optimal confidence threshold",
            description=(
                "Sweep the confidence threshold of a prediction field and "
                "find the one with the best F1"
            ),
            icon="/assets/icon.svg",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx)
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
        gt_prop = _dropdown(
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

        self._thresholds_inputs(ctx, inputs)
        self._matching_inputs(ctx, inputs)
        self._run_key_inputs(ctx, inputs)

        return types.Property(inputs, view=types.View(label=self.config.label))

    @staticmethod
    def _check_data(ctx, target, pred_field, pred_prop) -> None:
        if len(target) == 0:
            _invalid(pred_prop, "The chosen target has no samples")
            return
        label_type = target._get_label_field_type(pred_field)
        path = f"{pred_field}.{label_type._LABEL_LIST_FIELD}"
        num_preds, num_scored = target.aggregate(
            [fo.Count(path), fo.Count(f"{path}.confidence")]
        )
        if num_preds == 0:
            _invalid(
                pred_prop,
                f"'{pred_field}' has no predictions in the chosen target",
            )
        elif num_scored == 0:
            _invalid(
                pred_prop,
                f"None of the {num_preds} predictions in '{pred_field}' has "
                f"a confidence; the sweep needs confidences",
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
    def _matching_inputs(ctx, inputs) -> None:
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
            progress=fou.report_progress(_progress, dt=1.0),
        )
        return result.metrics()

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
        return types.Property(
            outputs, view=types.View(label="Optimal confidence threshold")
        )


def register(p):
    p.register(OptimalConfidence)
