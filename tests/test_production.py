"""After deployment (issue 20): estimates on new images without labels, the
shift check, label plans and verification. Small versions of
``tests/benchmarks/bench_production.py`` (simulations with known truth),
then the same through FiftyOne, the write plan and the command line.
"""

import json

import numpy as np
import pytest

import optimal_confidence as oc
from optimal_confidence.__main__ import main
from optimal_confidence.certainty.labeling import (
    LabelPlan,
    image_model,
    plan_labels,
    uniform_ratio,
    verify_counts,
)
from optimal_confidence.certainty.shift import check_shift
from optimal_confidence.certainty.unlabeled import Predictions, atc_precision, estimate, fit_outcome_model
from optimal_confidence.curves.sweep import MatchRecords

from simulate_production import per_image, simulate, truth, unlabeled

T = 0.5


# ---------------------------------------------------------------------------
# The methods, on simulated detectors


def test_atc_against_a_hand_computation():
    # labeled, kept at 0.5: confidences 0.9 0.8 0.7 0.6, right, right, wrong, wrong
    records = MatchRecords(
        classes=("car",),
        pred_conf=np.array([0.9, 0.8, 0.7, 0.6, 0.3]), pred_tp=np.array([1, 1, 0, 0, 1], bool),
        pred_class=np.zeros(5, np.int64), pred_sample=np.arange(5),
        gt_conf=np.array([0.9, 0.8, 0.3]), gt_class=np.zeros(3, np.int64), gt_sample=np.array([0, 1, 4]),
        num_samples=5,
    )
    # precision 0.5: tau is the median of the kept confidences, 0.75; on the
    # new images two of the four kept predictions are above it
    new = Predictions(("car",), np.array([0.95, 0.72, 0.55, 0.8, 0.2]), np.zeros(5, np.int64), np.arange(5), 5)
    assert atc_precision(records, new, T) == pytest.approx(0.5)


def test_the_estimate_is_close_to_the_truth_and_its_intervals_cover():
    rng = np.random.default_rng(3)
    err, covered = {m: [] for m in ("precision", "recall", "f1")}, {m: [] for m in ("precision", "recall", "f1")}
    for d in range(30):
        lab, new = simulate(400, rng), simulate(400, rng)
        e = estimate(lab, unlabeled(new), T, n_bootstrap=40, seed=d)
        tr = truth(new, T)
        for m in err:
            err[m].append(getattr(e, m) - tr[m])
            lo, hi = getattr(e, m + "_ci")
            covered[m].append(lo <= tr[m] <= hi)
    for m in err:
        assert abs(np.mean(err[m])) < 0.012, (m, np.mean(err[m]))  # no bias beyond noise
        assert np.median(np.abs(err[m])) < 0.03, m
        assert np.mean(covered[m]) >= 0.8, (m, np.mean(covered[m]))


def test_the_shift_check_fires_under_over_confidence_and_rarely_without():
    rng = np.random.default_rng(4)
    calm = [not check_shift(simulate(400, rng), unlabeled(simulate(400, rng))).holds for _ in range(40)]
    moved = [
        not check_shift(simulate(400, rng), unlabeled(simulate(400, rng, overconfident=0.7))).holds
        for _ in range(20)
    ]
    assert np.mean(calm) <= 0.15 and np.mean(moved) >= 0.9, (np.mean(calm), np.mean(moved))
    shift = check_shift(simulate(400, rng), unlabeled(simulate(400, rng, overconfident=1.0)))
    assert not shift.holds and "confidences of 'car' differ" in shift.summary()
    assert "oc.plan_labels" in shift.summary()


@pytest.mark.parametrize("wrong", [False, True])
def test_verification_is_unbiased_and_covers_even_with_a_wrong_model(wrong):
    """Prediction-powered: the labels correct the model, so a model fitted on
    over-confident images (wrong on these) still gives the truth on average."""
    rng = np.random.default_rng(5)
    lab = simulate(800, rng, overconfident=-1.5 if wrong else 0.0)
    model = fit_outcome_model(lab)
    errors, covered = [], []
    for _ in range(150):
        new = simulate(3000, rng)
        preds, tr, pi = unlabeled(new), truth(new, T), per_image(new, T)
        plan = plan_labels(lab, preds, 150, T, seed=int(rng.integers(2**31)), model=model)
        v = verify_counts(image_model(model, preds, T), plan.draws, plan.probabilities,
                          pi["tp"][plan.draws], pi["gt"][plan.draws])
        for m in ("precision", "recall"):
            errors.append(getattr(v, m) - tr[m])
            lo, hi = getattr(v, m + "_ci")
            covered.append(lo <= tr[m] <= hi)
    assert abs(np.mean(errors)) < 0.006, np.mean(errors)
    assert 0.9 <= np.mean(covered) <= 0.99, np.mean(covered)


def test_a_plan_narrows_the_interval_uniform_sampling_gives():
    rng = np.random.default_rng(6)
    lab = simulate(800, rng, detector="auc 0.95")
    model = fit_outcome_model(lab)
    planned, uniform = [], []
    for _ in range(40):
        new = simulate(5000, rng, detector="auc 0.95")
        preds, pi = unlabeled(new), per_image(new, T)
        plan = plan_labels(lab, preds, 100, T, seed=int(rng.integers(2**31)), model=model)
        v = verify_counts(image_model(model, preds, T), plan.draws, plan.probabilities,
                          pi["tp"][plan.draws], pi["gt"][plan.draws])
        planned.append(v.precision_ci[1] - v.precision_ci[0])
        s = rng.choice(new.num_samples, 100, replace=False)
        lo, hi = uniform_ratio(pi["tp"][s], pi["kept"][s], pi["gt"][s], new.num_samples)["precision"][1]
        uniform.append(hi - lo)
    saving = (np.mean(uniform) / np.mean(planned)) ** 2
    assert saving > 1.5, saving
    assert plan.expected_width < plan.uniform_width and plan.savings > 1.5
    assert LabelPlan.from_dict(json.loads(json.dumps(plan.to_dict()))).draws.tolist() == plan.draws.tolist()


def test_bad_arguments_are_refused():
    rng = np.random.default_rng(7)
    lab, new = simulate(100, rng), unlabeled(simulate(100, rng))
    for kwargs, match in (
        (dict(threshold=float("nan")), "threshold"),
        (dict(level=1.5), "level"),
        (dict(n_bootstrap=3), "n_bootstrap"),
    ):
        args = dict(threshold=T, level=0.95, n_bootstrap=50) | kwargs
        with pytest.raises(ValueError, match=match):
            estimate(lab, new, args.pop("threshold"), **args)
    with pytest.raises(ValueError, match="budget"):
        plan_labels(lab, new, 1, T)
    with pytest.raises(ValueError, match="metric"):
        plan_labels(lab, new, 10, T, metric="accuracy")


# ---------------------------------------------------------------------------
# Through FiftyOne


@pytest.fixture
def splits(demo_dataset):
    train, val = demo_dataset.match_tags("train"), demo_dataset.match_tags("val")
    yield train, val
    demo_dataset.untag_samples("label_next")


def test_estimate_plan_tag_and_verify_on_the_demo(splits):
    train, val = splits
    result = oc.compute_optimal_confidence(train, "predictions", progress=False)
    truth_here = oc.compute_optimal_confidence(val, "predictions", progress=False).point(result.best_threshold)
    est = result.estimate(val, seed=0)
    assert est.precision_ci[0] - 0.05 <= truth_here["precision"] <= est.precision_ci[1] + 0.05
    conf = [c for c in val.values("predictions.detections.confidence", unwind=True) if c is not None]
    assert est.tp + est.fp == pytest.approx(sum(c >= result.best_threshold for c in conf))
    assert est.shift is not None and isinstance(est.shift.holds, bool)
    assert "unlabeled images" in est.report()
    plan = oc.plan_labels(result, val, 20, seed=0)
    assert plan.tag(val, "label_next") == len(plan.indices)
    assert sorted(val.match_tags("label_next").values("id")) == sorted(plan.sample_ids)
    with pytest.raises(ValueError, match="already have the tag"):
        oc.plan_labels(result, val, 20, seed=1).tag(val, "label_next")
    again = oc.plan_labels(result, val, 20, seed=1)
    again.tag(val, "label_next", overwrite=True)  # ours: moved
    assert sorted(val.match_tags("label_next").values("id")) == sorted(again.sample_ids)
    # the val images are labeled: verify with the plan's draws
    v = oc.verify(result, val, plan=again.to_dict())
    assert v.n_labeled == len(again.indices)
    assert v.precision_ci[0] <= truth_here["precision"] <= v.precision_ci[1]
    # without a plan, every labeled image counts, as a uniform sample
    u = result.verify(val)
    assert u.n_labeled == len(val) and abs(u.precision - truth_here["precision"]) < 0.02


def test_a_users_tag_is_never_moved(splits, demo_dataset):
    train, val = splits
    result = oc.compute_optimal_confidence(train, "predictions", progress=False)
    demo_dataset.select(val.values("id")[:3]).tag_samples("label_next")  # the user's own
    plan = oc.plan_labels(result, val, 10, seed=0)
    for overwrite in (False, True):
        with pytest.raises(ValueError, match="not tagged by this package"):
            plan.tag(val, "label_next", overwrite=overwrite)
    assert len(val.match_tags("label_next")) == 3


def test_estimates_need_the_same_predictions_field(splits, demo_dataset):
    train, val = splits
    result = oc.compute_optimal_confidence(train, "predictions", progress=False)
    with pytest.raises(ValueError, match="need the same field"):
        result.estimate(val.exclude_fields("predictions"))
    with pytest.raises(ValueError, match="no new images"):
        result.estimate(val.limit(0))


def test_the_command_line_estimates_plans_and_verifies(splits, tmp_path, capsys):
    plan_file = tmp_path / "plan.json"
    base = ["--dataset", "oc-demo-200", "--pred", "predictions", "--tag", "train", "--estimate-on", "val"]
    assert main(base + ["--plan-labels", "15", "--plan-file", str(plan_file)]) == 0
    out = capsys.readouterr().out
    assert "On the new images 'val'" in out and "Label plan: Label these" in out
    assert json.loads(plan_file.read_text())["budget"] == 15
    assert main(base + ["--verify", "--plan-file", str(plan_file), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["verification"]["n_draws"] == 15 and "estimate" in printed
    assert main(["--dataset", "oc-demo-200", "--verify"]) == 2
    assert "goes with --estimate-on" in capsys.readouterr().err


def test_the_operator_estimates_and_plans_on_new_images(splits, demo_dataset):
    import fiftyone.operators as foo

    from test_operator import URI

    train, val = splits
    params = dict(
        pred_field="predictions", gt_field="ground_truth", show_after=True,
        estimate_on="val", plan_labels=12, label_tag="label_next", run_key="op_after",
    )
    try:
        out = foo.execute_operator(URI, ctx=dict(view=train, params=params)).result
        assert out["estimate"]["precision_ci"][0] <= out["estimate"]["precision"] <= out["estimate"]["precision_ci"][1]
        from optimal_confidence.outputs.reports import output_markdown

        shown = output_markdown(out)  # what the operator's output shows
        assert "**On the new images:**" in shown and "**Shift check:**" in shown and "**Label plan:**" in shown
        tagged = sorted(demo_dataset.match_tags("label_next").values("id"))
        assert tagged == sorted(out["label_plan"]["sample_ids"]) and len(tagged) <= 12
        assert set(tagged) <= set(val.values("id"))
        # a name that is neither a saved view nor a tag: refused before anything is written
        with pytest.raises(Exception, match="no saved view 'nowhere' and no sample tagged 'nowhere'"):
            bad = {**params, "estimate_on": "nowhere", "run_key": "op_x", "plan_labels": None}
            foo.execute_operator(URI, ctx=dict(view=train, params=bad)).raise_exceptions()
        assert "op_x" not in demo_dataset.list_runs()
    finally:
        if "op_after" in demo_dataset.list_runs():
            demo_dataset.delete_run("op_after")


def test_the_panel_estimates_on_the_current_view_and_tags_the_next_images(splits, demo_dataset, tmp_path, monkeypatch):
    import copy

    import fiftyone.operators as foo
    import pydash
    from fiftyone import ViewField as F

    from optimal_confidence.store.files import EXPORT_DIR_ENV

    from test_panel import PANEL, AppPanel

    class ViewPanel(AppPanel):
        """The panel with the App's current view in its ctx."""

        view = None

        def event(self, method, **params):
            result = foo.execute_operator(PANEL, ctx=dict(
                view=self.view if self.view is not None else self.dataset.view(),
                params=dict(__method__=method, panel_id=self.panel_id,
                            panel_state=copy.deepcopy(self.state), **params),
            ))
            for r in result.executor._requests:
                if r.operator_uri == "patch_panel_state":
                    for k, v in r.params["state"].items():
                        pydash.set_(self.state, k, v)
                elif r.operator_uri == "show_panel_output":
                    self.output = r.params["output"]

    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path))
    train, val = splits
    oc.compute_optimal_confidence(train, "predictions", run_key="after_panel", progress=False)
    try:
        panel = ViewPanel(demo_dataset)
        panel.event("on_load")
        assert panel.prop("after_actions.estimate")["view"]["label"] == "Estimate on the current view"
        # the App's current view: the val split, filtered at a clicked threshold
        panel.view = val.filter_labels("predictions", F("confidence") > 0.9, only_matches=False)
        panel.event("on_click_estimate")
        expected = oc.estimate(oc.load_optimal_confidence(demo_dataset, "after_panel"), val, seed=0)
        assert f"precision {expected.precision:.3f}" in panel.state["message"]  # every prediction, not the filter's
        assert "On the 50 images of the current view" in panel.state["message"]
        assert panel.state["message_at"] == "after" and "Shift check" in panel.state["message"]
        panel.event("on_change_label_budget", value=12)
        panel.event("on_click_plan_labels")
        tagged = demo_dataset.match_tags("label_next").values("id")
        assert 0 < len(tagged) <= 12 and set(tagged) <= set(val.values("id"))
        saved = list(tmp_path.rglob("label_plan_after_panel*.json"))
        assert len(saved) == 1 and json.loads(saved[0].read_text())["budget"] == 12
        assert str(saved[0]) in panel.state["message"]
    finally:
        demo_dataset.delete_run("after_panel")
