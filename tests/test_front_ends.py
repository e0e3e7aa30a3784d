"""Every front end against the same dataset: a bad value of any option is
refused with the same message by the API, the command line, the operator's
form and its ``execute``, and nothing is written; the review band is the
same (priced with the objective's costs) from the API, the command line,
the operator and the panel."""

import json

import pytest

import fiftyone.operators as foo

from optimal_confidence import compute_optimal_confidence
from optimal_confidence.cli import main
from optimal_confidence.spec.options import NOT_API_OPTIONS, OPTIONS, speak

from helpers import make_random_dataset, snapshot
from test_operator import URI, _form
from test_options import cli_args, prerequisites
from test_panel import AppPanel

BAD = [(o, bad) for o in OPTIONS for bad in o.bad_values()]


@pytest.fixture(scope="module")
def ds():
    dataset = make_random_dataset("oc-front-ends", num_samples=20, seed=5)
    yield dataset
    dataset.delete()


def _api_message(ds, values):
    with pytest.raises(ValueError) as e:
        compute_optimal_confidence(ds, "predictions", **values)
    return str(e.value)


@pytest.mark.parametrize(
    "o, bad", BAD, ids=[f"{o.name}={bad!r}" for o, bad in BAD]
)
def test_a_bad_value_gets_the_same_message_everywhere(ds, capsys, o, bad):
    values = {**prerequisites(o), o.name: bad}
    before = snapshot(ds)

    # the API (the review band's options belong to result.review_band, whose
    # keywords are named differently, and the actions' to compare_models,
    # result.evaluate and result.export: the request is their API here)
    if o.name not in NOT_API_OPTIONS:
        message = _api_message(ds, values)
    else:
        from optimal_confidence.spec.request import RunRequest

        with pytest.raises(ValueError) as e:
            RunRequest.build(pred_field="predictions", **values)
        message = str(e.value)
    assert o.name in message

    # the command line: exit 2, the message on one line, nothing on stdout
    code = main(["--dataset", ds.name, *cli_args(values)])
    out, err = capsys.readouterr()
    # in the command line's words: flags, not keywords
    said = speak(message, "cli")
    assert (code, out, err) == (2, "", f"error: {said}\n")
    if "_" in o.name:
        assert o.flag in said and o.name not in said

    # the form: the field is invalid with the message (Execute is disabled)
    props = _form(ds, {"pred_field": "predictions", **values})
    assert props[o.name].invalid
    # in the form's words: labels, not keywords
    assert props[o.name].error_message == speak(message, "app")

    # execute from Python: refused with the message
    with pytest.raises(Exception) as e:
        foo.execute_operator(
            URI, ctx=dict(view=ds.view(), params={"pred_field": "predictions", **values})
        ).raise_exceptions()
    assert speak(message, "app") in str(e.value)  # the form's validation

    assert snapshot(ds) == before


def test_the_review_band_is_priced_with_the_objectives_costs_everywhere(ds, capsys):
    objective = dict(objective="cost", fp_cost=2.0, fn_cost=5.0)
    band_args = dict(review_precision=0.45, max_lost=0.1, review_cost=0.25)
    result = compute_optimal_confidence(ds, "predictions", **objective)
    band = result.review_band(0.45, 0.1, review_cost=0.25)
    # the objective's costs, not 1 and 1
    assert band.cost == 0.25 * band.review + 2 * band.accepted_fp + 5 * band.fn_after_review
    assert band.cost != result.review_band(
        0.45, 0.1, review_cost=0.25, fp_cost=1, fn_cost=1
    ).cost

    code = main(["--dataset", ds.name, "--json", *cli_args({**objective, **band_args})])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["review_band"] == band.to_dict()

    run_key = "oc_band_cost"
    try:
        out = foo.execute_operator(
            URI,
            ctx=dict(
                view=ds.view(),
                params={"pred_field": "predictions", "run_key": run_key, **objective, **band_args},
            ),
        ).result
        assert out["review_band"] == band.to_dict()
        assert out["review_band_summary"] == band.summary()

        panel = AppPanel(ds)
        panel.event("on_load")
        assert panel.state["controls"]["run_key"] == run_key
        panel.state["band_inputs"] = {"precision": 0.45, "max_lost": 0.1, "review_cost": 0.25}
        panel.event("on_click_band")
        shown = {k: v for k, v in panel.state["band"].items() if k != "summary"}
        assert shown == band.to_dict()
        assert panel.state["band"]["summary"] == band.summary()
    finally:
        ds.reload()
        if run_key in ds.list_runs():
            ds.delete_run(run_key)
