"""The options of a run, declared once.

Every option a sweep takes is one :class:`Option` in :data:`OPTIONS` (the
table is :mod:`optimal_confidence.spec.table`, re-exported here): its
name (the keyword of :func:`~optimal_confidence.compute_optimal_confidence`),
kind, default, valid range or choices, the tasks it applies to, its group,
a one-line help text, its command-line flag and when the operator's form
shows it. Everything that takes options is built from this table:

-   :class:`~optimal_confidence.spec.request.RunRequest` checks values with
    :func:`check_value` and :func:`check_rules` (the API, the command line,
    the operator's ``execute`` and the panel all go through it);
-   the command line's parser (:mod:`optimal_confidence.cli`);
-   the operator's form and the mapping of its params to a request
    (:mod:`optimal_confidence.app.form`).

A check that fails raises :class:`OptionError`, a ``ValueError`` whose
``option`` names the option the message is about, so that a form can put
the message on the right field. The message is the same on every front end.

Pure Python: nothing here imports FiftyOne or numpy.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any, Callable, Iterator, Mapping

from .option_types import OFF, ON, TASKS, Choice, Option, OptionError
from .table import (
    ACTION_OPTIONS, BAND_OPTIONS, GROUPS, NOT_API_OPTIONS, OBJECTIVES, OPTIONS, TARGET_OBJECTIVES,
)
from .speech import FRONT_ENDS, markdown_text
from .speech import speak as _speak


__all__ = [
    "ACTION_OPTIONS",
    "BAND_OPTIONS",
    "NOT_API_OPTIONS",
    "TARGET_OBJECTIVES",
    "OFF",
    "ON",
    "GROUPS",
    "OBJECTIVES",
    "OPTIONS",
    "TASKS",
    "Choice",
    "FRONT_ENDS",
    "Option",
    "OptionError",
    "check_number",
    "check_objective",
    "check_per_class",
    "check_rules",
    "check_task",
    "check_value",
    "defaults",
    "help_text",
    "markdown_text",
    "option",
    "problems",
    "speak",
]

_BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    """The :class:`Option` called ``name``.

    Raises:
        TypeError: for a name that is no option, with the closest one
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), _BY_NAME, n=1, cutoff=0.6)
        if close:
            raise TypeError(f"Unknown option {name!r}; did you mean {close[0]!r}?") from None
        raise TypeError(
            f"Unknown option {name!r}; the options are {', '.join(sorted(_BY_NAME))}"
        ) from None


def speak(text: str, front_end: str) -> str:
    """``text``, written in the API's words, in ``front_end``'s words
    (``"api"``, ``"cli"`` or ``"app"``; see
    :func:`optimal_confidence.spec.speech.speak`)."""
    return _speak(text, front_end, OPTIONS)


def help_text(o: Option, front_end: str) -> str:
    """Option ``o``'s help in ``front_end``'s words (the command line's
    own help where the option has one)."""
    text = o.cli_help if front_end == "cli" and o.cli_help else o.help
    return speak(text, front_end)


def defaults() -> dict[str, Any]:
    """Every option's default."""
    return {o.name: o.default for o in OPTIONS}


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _choices_text(o: Option) -> str:
    values = [repr(c.value) for c in o.choices]
    if len(values) > 3:
        return "one of " + ", ".join(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


def _none_text(o: Option) -> str:
    return f", or None ({o.none})" if o.nullable else ""


def check_value(name: str, value: Any) -> Any:
    """Checks one option's value on its own and returns it normalized (a
    float for ``"float"`` options, an int for ``"int"``, a bool for
    ``"bool"``).

    Raises:
        OptionError: naming the option, the value and what is accepted
    """
    o = option(name)
    if value is None:
        if o.nullable or o.default is None:
            return None
        raise OptionError(name, f"{name} must be given; None is not a value of it")
    checker = _CHECKERS[o.kind]
    return checker(o, value)


def _check_float(o: Option, value: Any) -> float:
    if not _is_real(value):
        raise OptionError(o.name, f"{o.name} must be a number{_none_text(o)}; got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise OptionError(o.name, f"{o.name} must be finite; got {x}")
    if not o.in_range(x):
        raise OptionError(o.name, f"{o.name} must be {o.range_text()}; got {value!r}{_limit(o)}")
    return x


def _check_int(o: Option, value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise OptionError(o.name, f"{o.name} must be an integer{_none_text(o)}; got {value!r}")
    if not o.in_range(int(value)):
        raise OptionError(
            o.name,
            f"{o.name} must be {o.range_text()}{_none_text(o)}; got {value!r}{_limit(o)}",
        )
    return int(value)


def _limit(o: Option) -> str:
    return f" ({o.limit})" if o.limit else ""


def _check_bool(o: Option, value: Any) -> bool:
    # True, False, 0, 1 and numpy's bools
    if isinstance(value, (bool, numbers.Integral)) or type(value).__name__ in ("bool", "bool_"):
        if value in (0, 1):
            return bool(value)
    raise OptionError(o.name, f"{o.name} must be True or False; got {value!r}")


def _check_choice(o: Option, value: Any) -> str:
    if value not in [c.value for c in o.choices]:
        raise OptionError(o.name, f"{o.name} must be {_choices_text(o)}; got {value!r}")
    return value


def _check_str(o: Option, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(o.name, f"{o.name} must be a non-empty string; got {value!r}")
    return value


def _check_field(o: Option, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(o.name, f"{o.name} must be a field name; got {value!r}")
    return value


def _check_fields(o: Option, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise OptionError(o.name, f"{o.name} must be a list of field names; got {value!r}")
    if not all(isinstance(v, str) and v for v in value):
        raise OptionError(o.name, f"{o.name} must be a list of field names; got {value!r}")
    if len(set(value)) != len(value):
        raise OptionError(o.name, f"{o.name} names a field twice: {list(value)}")
    return list(value)


def _check_new_key(o: Option, value: Any) -> str:
    field = o.metavar == "FIELD"  # a new field's name, not a key
    if not isinstance(value, str) or not value.isidentifier() or (field and value.startswith("_")):
        raise OptionError(
            o.name,
            f"{o.name} must be a valid identifier (letters, digits and "
            f"underscores, not starting with a digit{' or an underscore' if field else ''}), "
            f"e.g. {'predictions_calibrated' if field else 'deployed'!r}; got {value!r}",
        )
    return value


def _check_run_key(o: Option, value: Any) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise OptionError(
            o.name,
            f"Invalid run key {value!r}: not a valid run key; run_key must be "
            f"a Python identifier (letters, digits and underscores, not "
            f"starting with a digit), for example 'optimal_confidence'",
        )
    return value


_CHECKERS: dict[str, Callable[[Option, Any], Any]] = {
    "float": _check_float,
    "int": _check_int,
    "bool": _check_bool,
    "choice": _check_choice,
    "str": _check_str,
    "field": _check_field,
    "eval_key": _check_str,
    "run_key": _check_run_key,
    "fields": _check_fields,
    "new_key": _check_new_key,
}


def check_number(name: str, value: Any) -> float:
    """A finite number, for arguments that are not options (a threshold to
    show, a band's ``t_low``); the message names ``name``."""
    if not _is_real(value):
        raise OptionError(name, f"{name} must be a number; got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise OptionError(name, f"{name} must be finite; got {x}")
    return x


def check_objective(values: Mapping[str, Any]) -> None:
    """The rules between the objective's options: a target objective needs
    a ``target`` and no other takes one; costs cannot both be 0; a
    ``guarantee`` certifies a pooled target.

    ``values`` holds ``objective``, ``target``, ``fp_cost`` and ``fn_cost``,
    each already checked on its own.
    """
    name = values.get("objective", "f1")
    target = values.get("target")
    if name in TARGET_OBJECTIVES and target is None:
        raise OptionError(
            "target",
            f"objective '{name}' needs a target: the least {name} to reach, "
            f"for example target=0.95",
        )
    if name not in TARGET_OBJECTIVES and target is not None:
        raise OptionError(
            "target",
            f"target only applies to the 'precision', 'recall' and "
            f"'accuracy' objectives, not '{name}'",
        )
    if name == "cost" and values.get("fp_cost") == 0 and values.get("fn_cost") == 0:
        raise OptionError("fp_cost", "fp_cost and fn_cost cannot both be 0")
    if values.get("guarantee") is not None:
        if name not in TARGET_OBJECTIVES:
            raise OptionError(
                "guarantee",
                f"guarantee certifies a target: it applies to the 'precision', "
                f"'recall' and 'accuracy' objectives, not '{name}'",
            )
        if values.get("average") == "macro":
            raise OptionError(
                "guarantee",
                "guarantee certifies the pooled (micro) target; use "
                "average='micro', or per_class=True for a guarantee per class",
            )


def check_task(values: Mapping[str, Any], task: str) -> None:
    """Refuses a choice that does not apply to ``task`` (the accuracy
    target of a detector is its precision target under another name).

    Raises:
        OptionError: naming the option and what to choose instead
    """
    for name, value in values.items():
        o = _BY_NAME.get(name)
        if o is None or o.kind != "choice" or value is None:
            continue
        c = next((c for c in o.choices if c.value == value), None)
        if c is not None and task not in c.tasks:
            kinds = " and ".join(sorted(c.tasks))
            raise OptionError(
                name,
                f"{name} '{value}' applies to {kinds} tasks, not to this {task} "
                f"task; use {c.instead}",
            )


def _check_fields_differ(values: Mapping[str, Any]) -> None:
    pred, gt = values.get("pred_field"), values.get("gt_field")
    if pred is not None and pred == gt:
        raise OptionError(
            "pred_field",
            f"pred_field and gt_field are both '{pred}'; pass the field of "
            f"model predictions and the field of ground truth",
        )
    out = values.get("calibrated_field")
    if out is not None and out in (pred, gt, *(values.get("compare_with") or [])):
        raise OptionError(
            "calibrated_field",
            f"calibrated_field '{out}' is a field this run reads; name a new field, "
            f"e.g. '{pred or 'predictions'}_calibrated'",
        )
    if out is not None and values.get("calibrate") is None:
        raise OptionError(
            "calibrated_field",
            "calibrated_field needs calibrate='isotonic' or calibrate='sigmoid'",
        )
    others = values.get("compare_with") or []
    twice = [f for f in others if f in (pred, gt)]
    if twice:
        raise OptionError(
            "compare_with",
            f"compare_with names '{twice[0]}', which is already the "
            f"{'predictions' if twice[0] == pred else 'ground truth'} field; "
            f"list the other models' fields",
        )


def _check_bounds(values: Mapping[str, Any]) -> None:
    lo, hi = values.get("lower_bound"), values.get("upper_bound")
    if lo is not None and hi is not None and not lo < hi:
        raise OptionError(
            "upper_bound",
            f"lower_bound ({lo}) must be below upper_bound ({hi}): the upper "
            f"bound must be above the lower bound",
        )


def check_per_class(values: Mapping[str, Any]) -> None:
    if values.get("per_class") and values.get("classwise") is False:
        raise OptionError(
            "per_class",
            "per_class=True cannot go with classwise=False: when objects "
            "of different labels can match, "
            "one class's threshold changes another class's matches",
        )


#: the rules between options, in the order they are checked
_RULES: tuple[Callable[[Mapping[str, Any]], None], ...] = (
    _check_fields_differ,
    _check_bounds,
    check_objective,
    check_per_class,
)


def check_rules(values: Mapping[str, Any]) -> None:
    """Checks the rules between options (``values`` already checked one by
    one).

    Raises:
        OptionError: for the first rule broken
    """
    for rule in _RULES:
        rule(values)


def problems(values: Mapping[str, Any]) -> Iterator[OptionError]:
    """Every problem of ``values``: each option's own check, then the rules
    between the options that passed. For forms, which mark every field."""
    checked: dict[str, Any] = {}
    bad: set[str] = set()
    for name, value in values.items():
        try:
            checked[name] = check_value(name, value)
        except OptionError as e:
            bad.add(name)
            yield e
    for rule in _RULES:
        try:
            rule(checked)
        except OptionError as e:
            if e.option not in bad:
                yield e
