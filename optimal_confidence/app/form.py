"""The operator's form, built from the option spec, and the one mapping from
its params to a :class:`~optimal_confidence.spec.request.RunRequest`.

Every option of :data:`~optimal_confidence.spec.options.OPTIONS` that applies
to the chosen fields' task (and, by :attr:`Option.when`, to the other
values) is an input with the spec's type, default, range and help; a value
the spec's checks refuse marks its input invalid with the same message the
API raises, which disables **Execute**. ``execute`` reads the params with
:func:`form_values`, the same function the form uses, so the two cannot
disagree on a default.
"""

from __future__ import annotations

from typing import Any, Mapping

import fiftyone as fo
import fiftyone.operators.types as types
from fiftyone import ViewField as F

from ..records.fields import default_fields, has_confidences, is_frames, label_fields, scored_fields_hint, task_of
from ..spec.options import (
    GROUPS, OFF, ON, OPTIONS, Option, OptionError, check_task, help_text, markdown_text, option,
    problems, speak,
)
from ..spec.request import RunRequest
from ..store.plan import check_run_key
from ..store.runs import suggest_run_key

__all__ = [
    "build_form",
    "check_applies",
    "form_values",
    "request_from_params",
    "task_of_params",
    "with_default_fields",
]

#: option kinds whose form value "" means None (an empty dropdown choice)
_EMPTY_IS_NONE = ("str", "eval_key", "run_key", "choice", "new_key", "fields")

#: the groups with a header, and what it says under the title
_HEADERS = {
    "matching": "How a prediction matches a ground truth object",
    "storage": "The result is stored on the dataset",
}

#: optional options, folded behind a switch until the user asks for them
#: (or until one of them has a value other than its default): the switch's
#: param, label, description and options
_FOLDS = (
    (
        "show_more_matching", "More matching options",
        "The matching engine, instance masks, polylines' boxes, the crowd attribute",
        ("engine", "use_masks", "use_boxes", "iscrowd"),
    ),
    (
        "show_thresholds", "Threshold bounds or a grid",
        "By default every distinct confidence is a threshold (the exact sweep)",
        ("lower_bound", "upper_bound", "num_thresholds"),
    ),
    (
        "show_uncertainty", "Bootstrap intervals",
        "How much the threshold and the objective move when the images are resampled",
        ("n_bootstrap", "seed", "ci_level"),
    ),
    (
        "show_review", "A review band",
        "Accept the confident predictions, drop the doubtful ones, and send the "
        "ones in between to a person",
        ("review_precision", "max_lost", "review_cost"),
    ),
    (
        "show_calibration", "Calibrate the confidences",
        "Fit a map from confidence to the chance of being right, stored with "
        "the run; write calibrated confidences to a new field",
        ("calibrate", "calibrated_field"),
    ),
    (
        "show_deployment", "Evaluate and export the operating point",
        "Store FiftyOne's evaluation at the chosen threshold, write the "
        "threshold(s) to a file for deployment",
        ("evaluate_key", "export_path", "export_format", "export_labels"),
    ),
    (
        "show_after", "After deployment: new images without labels",
        "Estimate the threshold's precision and recall on new images, check for a "
        "shift, and choose the fewest images to label to verify it",
        ("estimate_on", "plan_labels", "label_tag"),
    ),
)
_FOLD_OF = {name: fold for fold in _FOLDS for name in fold[3]}


def form_values(params: Mapping[str, Any], task: str | None) -> dict[str, Any]:
    """Each option's value from the form's params: the param where the
    option applies (its form default when the param is missing, ``None``
    for an empty choice), the spec's default where it does not."""
    values: dict[str, Any] = {}
    for o in OPTIONS:
        if not o.shown(params, task):
            values[o.name] = o.default
            continue
        value = params.get(o.name, o.initial)
        if value in ("", []) and o.kind in _EMPTY_IS_NONE:
            value = None
        values[o.name] = value
    return values


def with_default_fields(params: Mapping[str, Any], target: Any) -> dict[str, Any]:
    """``params`` with the fields not given chosen by
    :func:`~optimal_confidence.records.fields.default_fields` (the form's rule)."""
    params = dict(params)
    if not params.get("pred_field") or not params.get("gt_field"):
        chosen = default_fields(
            target, params.get("gt_field") or None, params.get("pred_field") or None
        )
        params["gt_field"], params["pred_field"] = chosen.gt_field, chosen.pred_field
    return params


def _when_text(o: Option) -> str:
    def condition(name: str, c: Any) -> str:
        if c == ON:
            return f"{name} is given"
        if c == OFF:
            return f"{name} is not given"
        return f"{name} is " + " or ".join(repr(v) for v in c)

    return " or ".join(" and ".join(condition(k, c) for k, c in alt.items()) for alt in o.when)


def check_applies(given: Mapping[str, Any], params: Mapping[str, Any], task: str) -> None:
    """Refuses an option that was given but that the run would ignore (a
    keyword of the operator's ``__call__``), saying when it applies.

    Raises:
        OptionError: naming the option
    """
    for name in given:
        o = option(name)
        if task not in o.tasks:
            kinds = " and ".join(sorted(o.tasks))
            raise OptionError(name, f"{name} applies to {kinds} tasks, not to this {task} task")
        if not o.shown(params, task):
            raise OptionError(name, f"{name} does not apply here: it applies when {_when_text(o)}")


def task_of_params(params: Mapping[str, Any], target: Any) -> str:
    """The task of the params' predictions field on ``target``."""
    label_type = fo.Detections
    if params.get("pred_field") and target.get_field(params["pred_field"]) is not None:
        label_type = target._get_label_field_type(params["pred_field"])
    return task_of(label_type, params.get("positive_label") or None)


def request_from_params(params: Mapping[str, Any], target: Any, dataset: Any) -> RunRequest:
    """The request of an operator run: the form's values (fields not given
    chosen by the form's rule), stored under the given run key or a free
    one (the operator always stores its result).

    Raises:
        OptionError: as the API would
    """
    params = with_default_fields(params, target)
    values = form_values(params, task_of_params(params, target))
    values["run_key"] = values["run_key"] or suggest_run_key(dataset)
    return RunRequest.build(**values)


def _invalid(prop: Any, message: str) -> None:
    prop.invalid = True
    prop.error_message = speak(message, "app")


def _description(o: Option) -> str:
    """The option's help in the form's words, shown literally by the App's
    markdown."""
    text = help_text(o, "app")
    text = text[0].upper() + text[1:]
    if o.nullable and o.form_default is None and o.kind not in ("field", "run_key"):
        text += f"; empty: {speak(o.none, 'app')}"
    return markdown_text(text)


def _choices_view(o: Option, task: str | None) -> Any:
    choices = [c for c in o.choices if task is None or task in c.tasks]
    if len(choices) > 3:
        view = types.DropdownView()
    else:
        view = types.RadioGroup(orientation="horizontal")
    for c in choices:
        view.add_choice(c.value, label=c.label, description=c.description or None)
    return view


def _dropdown(inputs: Any, name: str, choices: list[tuple[str, str]], **kwargs: Any) -> Any:
    view = types.DropdownView()
    for value, label in choices:
        view.add_choice(value, label=label)
    return inputs.enum(name, view.values(), view=view, **kwargs)


def _add_input(inputs: Any, o: Option, ctx: Any, target: Any, fields: Mapping[str, Any]) -> Any:
    """The input of option ``o``; None where it has nothing to offer (no
    evaluation to reuse)."""
    common = dict(label=o.label, description=_description(o))
    if o.kind == "float":
        return inputs.float(o.name, default=o.initial, min=o.low, max=o.high, **common)
    if o.kind == "int":
        return inputs.int(o.name, default=o.initial, min=o.low, max=o.high, **common)
    if o.kind == "bool":
        return inputs.bool(o.name, default=o.initial, **common)
    if o.kind == "choice":
        view = _choices_view(o, fields.get("task"))
        return inputs.enum(o.name, view.values(), default=o.default, view=view, **common)
    if o.kind == "eval_key":
        keys = _reusable_evaluations(ctx.dataset, fields["pred_field"], fields["gt_field"])
        if not keys:
            return None
        choices = [("", "None: match now")] + [(k, k) for k in keys]
        return _dropdown(inputs, o.name, choices, default="", required=False, **common)
    if o.kind == "str" and o.name == "positive_label":
        labels = sorted(x for x in target.distinct(f"{fields['gt_field']}.label") if x)
        choices = [("", "None: multiclass, escalate uncertain answers")]
        choices += [(x, x) for x in labels]
        return _dropdown(inputs, o.name, choices, default="", required=False, **common)
    if o.kind == "run_key":
        return inputs.str(o.name, default=suggest_run_key(ctx.dataset), **common)
    if o.kind == "fields":
        return _other_models(inputs, o, target, fields, common)
    return inputs.str(o.name, default=o.default, **common)


def _other_models(inputs: Any, o: Option, target: Any, fields: Mapping[str, Any], common: dict) -> Any:
    """A multi-select of the other scored fields of the ground truth's type
    and level, or None when there are none."""
    all_fields = label_fields(target)
    gt, pred = fields["gt_field"], fields["pred_field"]
    kind = all_fields.get(gt)
    others = [
        f for f, t in all_fields.items()
        if t is kind and f not in (gt, pred) and is_frames(f) == is_frames(gt)
        and f in fields["scored"]
    ]
    if not others:
        return None
    view = types.AutocompleteView(allow_user_input=False, allow_duplicates=False)
    for f in others:
        view.add_choice(f, label=f)
    return inputs.list(o.name, types.String(), view=view, **common)


def _reusable_evaluations(dataset: Any, pred_field: str, gt_field: str) -> list[str]:
    """The detection evaluations of these two fields."""
    keys = []
    for key in dataset.list_evaluations():
        cfg = dataset.get_evaluation_info(key).config
        if (
            getattr(cfg, "type", None) == "detection"
            and getattr(cfg, "pred_field", None) == pred_field
            and getattr(cfg, "gt_field", None) == gt_field
        ):
            keys.append(key)
    return keys


# ---------------------------------------------------------------------------
# The form


def _target_input(ctx: Any, inputs: Any) -> Any:
    """The target (dataset, current view, selected samples). After a click
    in the curves panel the App's view filters the predictions: sweeping it
    would sweep only the kept ones, so the dataset is the default then."""
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
    return ctx.target_view()


def _field_inputs(
    ctx: Any, inputs: Any, target: Any, fields: Mapping[str, type]
) -> tuple[str, str, Any, list[str]]:
    """The ground truth and predictions dropdowns (predictions: fields of
    the ground truth's type and level), their defaults by the one rule of
    :func:`~optimal_confidence.records.fields.default_fields`; returns the two
    fields, the predictions' input and the fields with confidences."""
    first = default_fields(target)
    gt_default = first.gt_field or next(iter(fields))
    gt_field = ctx.params.get("gt_field") or gt_default
    o = {x.name: x for x in OPTIONS}
    gt_prop = _dropdown(
        inputs, "gt_field", [(f, f) for f in fields], default=gt_default, required=False,
        label=o["gt_field"].label, description=_description(o["gt_field"]),
    )
    if gt_field not in fields:
        # e.g. the user switched to a view that excludes it
        _invalid(
            gt_prop,
            f"'{gt_field}' is not a label field of the chosen target; choose one of {list(fields)}",
        )
        gt_field = gt_default
    pred_choices = [
        f for f, t in fields.items()
        if t is fields.get(gt_field) and is_frames(f) == is_frames(gt_field)
    ] or list(fields)
    # the rule again only when the user chose another ground truth
    chosen = first if gt_field == first.gt_field else default_fields(target, gt_field)
    pred_default = chosen.pred_field or next(
        (f for f in pred_choices if f != gt_field), pred_choices[0]
    )
    pred_field = ctx.params.get("pred_field") or pred_default
    prop = _dropdown(
        # not required: left out (execute_operator from Python), it is
        # chosen by the same rule as this default
        inputs, "pred_field", [(f, f) for f in pred_choices], default=pred_default,
        required=False, label=o["pred_field"].label,
        description=_description(o["pred_field"]),
    )
    if pred_field != gt_field and pred_field not in pred_choices:
        kind = getattr(fields.get(gt_field), "__name__", "label")
        _invalid(
            prop,
            f"'{pred_field}' is not a {kind} field like '{gt_field}'; choose "
            f"one of {pred_choices}",
        )
    return gt_field, pred_field, prop, chosen.scored


def data_problem(target: Any, pred_field: str) -> str | None:
    """Why ``target`` has nothing to sweep in ``pred_field``, or None.
    Existence checks that stop at the first hit, so that the form stays
    quick on large datasets (it is resolved on every change)."""
    if len(target.limit(1)) == 0:
        return "The chosen target has no samples"
    label_type = target._get_label_field_type(pred_field)
    if issubclass(label_type, fo.Classification):
        has_preds = target.exists(pred_field)
    else:
        path = f"{pred_field}.{label_type._LABEL_LIST_FIELD}"
        expr = F(path[len("frames."):] if is_frames(path) else path).length() > 0
        has_preds = target.match_frames(expr) if is_frames(path) else target.match(expr)
    if len(has_preds.limit(1)) == 0:
        return f"'{pred_field}' has no predictions in the chosen target"
    if not has_confidences(target, pred_field):
        return (
            f"None of the predictions in '{pred_field}' has a confidence; the "
            f"sweep needs confidences. {scored_fields_hint(target, pred_field)}"
        )
    return None


def _errors(ctx: Any, values: Mapping[str, Any], task: str) -> dict[str, str]:
    """The first problem of each option: the spec's checks, the choices
    that fit the task, then the run key against the dataset."""
    errors: dict[str, str] = {}
    for e in problems(values):
        errors.setdefault(e.option, str(e))
    try:
        check_task(values, task)
    except OptionError as e:
        errors.setdefault(e.option, str(e))
    key = values.get("run_key") or suggest_run_key(ctx.dataset)
    if "run_key" not in errors:
        try:
            check_run_key(ctx.dataset, key, bool(values.get("overwrite")))
        except OptionError as e:
            errors["run_key"] = str(e)
    return errors


def _no_fields(inputs: Any) -> None:
    prop = inputs.view(
        "no_fields",
        types.Warning(
            label="No Detections, Polylines or Classification fields",
            description=(
                "This dataset has no label field to sweep; add predictions "
                "and ground truth first"
            ),
        ),
    )
    prop.invalid = True


def build_form(ctx: Any, inputs: Any) -> None:
    """The operator's form: the target, the fields, then each group of
    options that applies, with the spec's checks on every value."""
    target = _target_input(ctx, inputs)
    fields = label_fields(target)
    if not fields:
        _no_fields(inputs)
        return
    gt_field, pred_field, pred_prop, scored = _field_inputs(ctx, inputs, target, fields)
    label_type = fields.get(pred_field, fields[gt_field])
    task = task_of(label_type, ctx.params.get("positive_label") or None)
    values = form_values({**ctx.params, "pred_field": pred_field, "gt_field": gt_field}, task)
    errors = _errors(ctx, values, task)
    if "pred_field" in errors:
        _invalid(pred_prop, errors["pred_field"])
    elif not pred_prop.invalid:
        problem = data_problem(target, pred_field)
        if problem:
            _invalid(pred_prop, problem)
    chosen = {"pred_field": pred_field, "gt_field": gt_field, "scored": scored, "task": task}
    shown = [o for o in OPTIONS if o.kind != "field" and o.shown(values, task)]
    opened: set[str] = set()
    for o in shown:
        fold = _FOLD_OF.get(o.name)
        if o.group in _HEADERS and not any(x.group == o.group for x in shown[: shown.index(o)]):
            inputs.view(
                f"{o.group}_header",
                types.Header(label=GROUPS[o.group], description=_HEADERS[o.group], divider=True),
            )
        if fold is not None and fold[0] not in opened:
            opened.add(fold[0])
            if not _fold_switch(inputs, ctx.params, fold, values, errors):
                continue
        elif fold is not None and not _is_open(ctx.params, fold, values, errors):
            continue
        prop = _add_input(inputs, o, ctx, target, chosen)
        if prop is not None and o.name in errors:
            _invalid(prop, errors[o.name])


def _is_open(params: Mapping[str, Any], fold: tuple, values: Mapping[str, Any], errors: Mapping[str, str]) -> bool:
    """A fold is open when switched on, or when one of its options has a
    value other than its default or a problem (so nothing set is hidden)."""
    if params.get(fold[0]):
        return True
    return any(
        values.get(name) != option(name).initial or name in errors for name in fold[3]
    )


def _fold_switch(
    inputs: Any, params: Mapping[str, Any], fold: tuple, values: Mapping[str, Any], errors: Mapping[str, str]
) -> bool:
    """The fold's switch; returns whether the fold is open."""
    is_open = _is_open(params, fold, values, errors)
    inputs.bool(
        fold[0], default=is_open, label=fold[1], description=fold[2], view=types.SwitchView()
    )
    return is_open
