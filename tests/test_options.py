"""The option spec against every front end that takes options: the API's
signature and docstring, the command line's parser, and the mapping of the
operator's params. No database: front ends that need one are in
test_front_ends.py."""

import inspect
import re
import subprocess
import sys

import pytest

from optimal_confidence import compute_optimal_confidence
from optimal_confidence.cli import parser, request_options
from optimal_confidence.spec.objective import Objective
from optimal_confidence.spec.options import (
    NOT_API_OPTIONS,
    GROUPS,
    OFF,
    ON,
    OPTIONS,
    OptionError,
    check_value,
    help_text,
    option,
    problems,
    speak,
)
from optimal_confidence.spec.request import RunRequest

from conftest import ROOT

API = inspect.signature(compute_optimal_confidence).parameters
NOT_OPTIONS = ("samples", "progress")  # the data and a display callback


def prerequisites(o):
    """Values of other options under which ``o`` applies (its first
    ``when`` alternative), with valid values for "given"."""
    if not o.when:
        return {}
    out = {}
    for name, condition in o.when[0].items():
        if condition == ON:
            out[name] = option(name).example()
        elif condition != OFF:
            out[name] = condition[0]
    return out


def hiding(o):
    """Values of other options under which ``o`` does not apply."""
    out = {}
    for alt in o.when:
        for name, condition in alt.items():
            if condition == OFF:
                out[name] = option(name).example()
            elif condition == ON:
                out[name] = None
            else:
                out[name] = next(c.value for c in option(name).choices if c.value not in condition)
    return out


def cli_args(values):
    """Command-line arguments for option values."""
    args = []
    for name, value in values.items():
        o = option(name)
        if o.cli_flag is not None:
            if value == o.cli_flag:
                args.append(o.flag)
        elif isinstance(value, list):
            for item in value:
                args += [o.flag, str(item)]
        else:
            args += [o.flag, str(value)]
    return args


def test_every_api_keyword_is_an_option_with_the_same_default():
    keywords = [k for k in API if k not in NOT_OPTIONS]
    options = [o.name for o in OPTIONS if o.name not in NOT_API_OPTIONS]
    assert sorted(keywords) == sorted(options)
    for name in keywords:
        if name == "pred_field":  # required in the API
            assert API[name].default is inspect.Parameter.empty
            continue
        assert API[name].default == option(name).default, name
    # and the docstring documents each of them
    doc = compute_optimal_confidence.__doc__
    for name in keywords:
        assert f"\n        {name} " in doc or f"\n        {name}:" in doc, name


def test_every_option_is_declared_completely():
    for o in OPTIONS:
        assert o.group in GROUPS, o.name
        assert o.help and o.label, o.name
        assert o.kind in (
            "field", "fields", "float", "int", "bool", "choice", "str", "run_key", "new_key", "eval_key"
        )
        if o.kind == "choice":
            # a choice defaults to one of its values, or to None when None has a meaning
            assert o.default in [c.value for c in o.choices] or (o.default is None and o.nullable), o.name
        # the default passes the option's own check
        assert check_value(o.name, o.default) == o.default, o.name
        for name in (k for alt in o.when for k in alt):
            option(name)  # conditions name real options


def test_request_defaults_are_the_spec_defaults():
    request = RunRequest.build()
    assert dict(request) == {o.name: o.default for o in OPTIONS}
    assert request.objective() == Objective()
    assert request.band() is None


@pytest.mark.parametrize("o", [o for o in OPTIONS if o.kind != "field"], ids=lambda o: o.name)
def test_the_command_line_takes_every_option_with_the_spec_default_and_value(o):
    p = parser()
    flags = {a for action in p._actions for a in action.option_strings}
    assert o.flag in flags
    # not given: the request gets the spec's default (the fields are chosen
    # from the samples, by the form's rule)
    given = request_options(p.parse_args(["--dataset", "d"]))
    assert given == {"gt_field": None}
    assert RunRequest.build(**given)[o.name] == o.default
    # given: the same value as the API's keyword
    values = {**prerequisites(o), o.name: o.example()}
    if o.kind == "bool" and o.example() != o.cli_flag:
        pytest.skip(f"{o.flag} only sets {o.cli_flag}")
    from_cli = RunRequest.build(**request_options(p.parse_args(["--dataset", "d", *cli_args(values)])))
    from_api = RunRequest.build(gt_field=None, **values)
    assert from_cli == from_api


def test_help_groups_follow_the_spec_groups():
    titles = [g.title for g in parser()._action_groups]
    spec = [t.lower() for t in GROUPS.values()]
    assert [t for t in titles if t in spec] == spec
    for group in parser()._action_groups:
        if group.title in spec:
            key = next(k for k, t in GROUPS.items() if t.lower() == group.title)
            assert [a.dest for a in group._group_actions] == [
                o.name for o in OPTIONS if o.group == key
            ]


def test_help_runs_in_a_fresh_process():
    proc = subprocess.run(
        [sys.executable, "-m", "optimal_confidence", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for o in OPTIONS:
        assert o.flag in proc.stdout


@pytest.mark.parametrize("o", [o for o in OPTIONS if o.kind != "field"], ids=lambda o: o.name)
def test_the_operators_params_map_to_the_same_request(o):
    from optimal_confidence.app.form import form_values

    task = next(iter(o.tasks - {"binary"}), "binary") if o.name != "positive_label" else "binary"
    # no params: the spec's defaults, but for the form's shown defaults,
    # which resolve to the same sweep (IoU 0.5, classwise)
    values = form_values({"pred_field": "p"}, task)
    for name, value in values.items():
        expected = option(name).initial if option(name).shown({}, task) else option(name).default
        if name == "pred_field":
            expected = "p"
        assert value == expected, name
    # an option that applies: its param; one that does not: its default
    given = {**prerequisites(o), o.name: o.example()}
    assert form_values({"pred_field": "p", **given}, task)[o.name] == o.example()
    if o.when:
        hidden = form_values({"pred_field": "p", **hiding(o), o.name: o.example()}, task)
        assert hidden[o.name] == o.default


@pytest.mark.parametrize(
    "o, bad",
    [(o, bad) for o in OPTIONS for bad in o.bad_values()],
    ids=lambda x: x.name if hasattr(x, "name") else repr(x),
)
def test_a_bad_value_is_refused_by_the_request_naming_its_option(o, bad):
    with pytest.raises(OptionError) as e:
        RunRequest.build(**{**prerequisites(o), o.name: bad})
    assert e.value.option == o.name
    assert str(e.value).startswith(o.name) or repr(bad) in str(e.value)
    # the form collects the same message for the same field
    found = {p.option: str(p) for p in problems({**prerequisites(o), o.name: bad})}
    assert found[o.name] == str(e.value)


@pytest.mark.parametrize(
    "values, name, fragment",
    [
        (dict(pred_field="a", gt_field="a"), "pred_field", "both 'a'"),
        (dict(lower_bound=0.7, upper_bound=0.2), "upper_bound", "must be below upper_bound (0.2)"),
        (dict(objective="precision"), "target", "needs a target"),
        (dict(objective="f1", target=0.5), "target", "only applies"),
        (dict(objective="cost", fp_cost=0, fn_cost=0), "fp_cost", "cannot both be 0"),
        (dict(per_class=True, classwise=False), "per_class", "classwise=False"),
    ],
)
def test_rules_between_options_name_the_option_to_change(values, name, fragment):
    with pytest.raises(OptionError) as e:
        RunRequest.build(**values)
    assert e.value.option == name and fragment in str(e.value)


def test_objective_checks_are_the_spec_checks():
    with pytest.raises(OptionError) as e:
        Objective("fbeta", beta=0)
    assert str(e.value) == str(pytest.raises(OptionError, check_value, "beta", 0).value)
    # values are stored normalized
    assert Objective(beta=2).beta == 2.0 and type(Objective(beta=2).beta) is float


def test_unknown_options_are_a_type_error_with_the_names():
    with pytest.raises(TypeError, match="Unknown option 'iuo'"):
        RunRequest.build(iuo=0.5)


@pytest.mark.parametrize(
    "typo, meant",
    [("n_bootstap", "n_bootstrap"), ("iuo", "iou"), ("perclass", "per_class"), ("runkey", "run_key"),
     ("gt", None)],
)
def test_a_misspelled_option_names_the_closest_one(typo, meant):
    with pytest.raises(TypeError) as e:
        RunRequest.build(**{typo: 1})
    if meant:
        assert str(e.value) == f"Unknown option {typo!r}; did you mean {meant!r}?"
    else:  # nothing close: every name, not a guess
        assert "did you mean" not in str(e.value) and "average, beta, calibrate," in str(e.value)


_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


@pytest.mark.parametrize("o", OPTIONS, ids=lambda o: o.name)
def test_each_front_end_speaks_its_own_language(o):
    """The App's help has no flags, no keywords, no markup; the command
    line's no keywords nor ``name=value``; the API's is the spec's."""
    names = {x.name for x in OPTIONS}
    app, cli = help_text(o, "app"), help_text(o, "cli")
    assert "--" not in app and "<" not in app and "*" not in app
    assert not set(_SNAKE.findall(app)) & names, app
    assert not set(_SNAKE.findall(cli)) & names, cli
    assert not re.search(r"\b\w+=\S", cli), cli
    assert help_text(o, "api") == o.help


@pytest.mark.parametrize(
    "message, cli, app",
    [
        ("Run 'r' exists; pass overwrite=True to replace it",
         "Run 'r' exists; pass --overwrite to replace it",
         "Run 'r' exists; turn on \u201cOverwrite\u201d to replace it"),
        ("objective 'precision' needs a target, for example target=0.95",
         "objective 'precision' needs a target, for example --target 0.95",
         "objective 'precision' needs a target, for example \u201cTarget\u201d: 0.95"),
        ("per_class=True cannot go with classwise=False: x",
         "--per-class cannot go with --any-class: x",
         "\u201cA threshold per class\u201d: on cannot go with \u201cClasswise\u201d: off: x"),
        # names of datasets, runs and files are never words of a front end
        ("the labels file /d/run_key/l.txt of dataset 'per_class'; pass run_key='x y'",
         "the labels file /d/run_key/l.txt of dataset 'per_class'; pass --save-run 'x y'",
         "the labels file /d/run_key/l.txt of dataset 'per_class'; set \u201cRun key\u201d to x y"),
        ("name a new evaluate_key, e.g. 'ev2' (not evaluate_keys)",
         "name a new --evaluate-key, e.g. 'ev2' (not evaluate_keys)",
         "name a new \u201cEvaluate at the chosen threshold\u201d, e.g. 'ev2' (not evaluate_keys)"),
    ],
)
def test_messages_are_said_in_each_front_ends_words(message, cli, app):
    assert speak(message, "cli") == cli
    assert speak(message, "app") == app
    assert speak(message, "api") == message


def test_request_of_a_band_uses_the_spec_names():
    r = RunRequest.build(review_precision=0.9, review_cost=0.2)
    assert r.band() == {"precision": 0.9, "max_lost": 0.05, "review_cost": 0.2}
    assert "review_precision" not in r.api_kwargs()
