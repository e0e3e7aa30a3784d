"""Guaranteed thresholds through every front end (#12): the API, storage,
the operator, the command line and the panel. The statistics themselves
(p-values, fixed-sequence testing, the simulated violation rates) are in
test_guarantee.py."""

import json

import numpy as np
import pytest

import fiftyone.operators as foo
from fiftyone import ViewField as F

from optimal_confidence import (
    UnattainableTargetError,
    compare_models,
    compute_optimal_confidence,
    load_optimal_confidence,
)
from optimal_confidence.__main__ import main
from optimal_confidence.certainty.certified import candidates

from helpers import oracle_counts, snapshot

URI = "@threshold-lab/optimal_confidence/optimal_confidence"


@pytest.mark.parametrize(
    "objective, target",
    [("precision", 0.8), ("recall", 0.5)],
)
def test_the_chosen_threshold_is_the_certified_one(demo_dataset, objective, target):
    r = compute_optimal_confidence(
        demo_dataset, "predictions", objective=objective, target=target, guarantee=0.9, progress=False
    )
    g = r.guarantee
    assert g.objective == objective and g.level == 0.9 and g.risk_bound == pytest.approx(1 - target)
    scored = F("predictions.detections").filter(F("confidence") != None).length() > 0  # noqa: E711
    assert g.method == "Learn-then-Test" and g.num_images == (
        len(demo_dataset.match(scored)) if objective == "precision"
        else len(demo_dataset.match(F("ground_truth.detections").length() > 0))
    )
    # and the pooled metric reaches the target there too
    assert (r.best_precision if objective == "precision" else r.best_recall) >= target
    # the certified threshold is a candidate fixed before the data and a
    # point of the curves, with filter-and-evaluate's counts
    assert g.threshold in candidates(r)
    assert r.best_threshold == g.threshold
    assert (r.best_tp, r.best_fp, r.best_fn) == oracle_counts(
        demo_dataset, "predictions", "ground_truth", g.threshold
    )
    assert g.empirical_risk <= g.risk_bound and g.p_value <= 0.1
    # safer than the point estimate: higher for precision, lower for recall
    point = r.with_objective(guarantee=None).best_threshold
    assert (g.threshold >= point) if objective == "precision" else (g.threshold <= point)
    text = r.report()
    assert g.summary() in text and f"The point estimate (the best threshold on these images, with no guarantee) is {point:.4g}" in text
    assert r.objective.label.endswith("certified at 90%")
    assert r.metrics()["guarantee"]["threshold"] == g.threshold


def test_a_stored_guarantee_loads_the_same(demo_dataset):
    try:
        r = compute_optimal_confidence(
            demo_dataset, "predictions", objective="precision", target=0.8, guarantee=0.9,
            run_key="oc_certified", progress=False,
        )
        loaded = load_optimal_confidence(demo_dataset, "oc_certified")
        assert loaded.guarantee == r.guarantee
        assert loaded.best_threshold == r.best_threshold
        np.testing.assert_array_equal(loaded.thresholds, r.thresholds)
        assert loaded.deployment_config()["guarantee"]["threshold"] == r.best_threshold
    finally:
        if "oc_certified" in demo_dataset.list_runs():
            demo_dataset.delete_run("oc_certified")


def test_what_cannot_be_certified_says_why_and_stores_nothing(demo_dataset):
    before = snapshot(demo_dataset)
    with pytest.raises(UnattainableTargetError, match=r"roughly [\d,]+ images would be needed") as e:
        compute_optimal_confidence(
            demo_dataset, "predictions", objective="recall", target=0.6,
            guarantee=0.9, run_key="oc_nope", progress=False,
        )
    assert e.value.result.objective.name == "f1"  # the curves, chosen by F1
    with pytest.raises(UnattainableTargetError, match="more images of the same kind would not help"):
        compute_optimal_confidence(
            demo_dataset, "predictions", objective="precision", target=0.99, guarantee=0.9, progress=False
        )
    assert snapshot(demo_dataset) == before


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(guarantee=0.9), "guarantee certifies a target"),
        (dict(objective="precision", target=0.8, guarantee=1.0), r"guarantee must be in \(0, 1\)"),
        (dict(objective="precision", target=0.8, guarantee=0.9, average="macro"), "pooled"),
    ],
)
def test_bad_guarantees_are_refused(random_dataset, options, message):
    with pytest.raises(ValueError, match=message):
        compute_optimal_confidence(random_dataset, "predictions", progress=False, **options)


def test_per_class_guarantees_split_the_level(demo_dataset):
    r = compute_optimal_confidence(
        demo_dataset, "predictions", objective="precision", target=0.8, guarantee=0.9,
        per_class=True, progress=False,
    )
    found = dict(r.class_guarantees)
    assert set(found) == {"bicycle", "car", "person"}
    # the few bicycles are certified per image only where their pooled
    # precision stays below the target: the class keeps the global threshold
    reason = found.pop("bicycle")
    assert "pooled precision on these images stays below 0.8" in reason
    assert r.class_thresholds["bicycle"] == r.best_threshold
    assert "not certified" in r.class_report()
    config = r.deployment_config()["class_guarantees"]
    assert config["bicycle"] == reason and config["car"]["threshold"] == found["car"].threshold
    for label, g in found.items():
        assert g.num_classes == 3 and g.delta == pytest.approx(0.1 / 3)
        assert r.class_thresholds[label] == g.threshold
        # the class's rate is over the images with a prediction of it
        with_pred = len(demo_dataset.filter_labels("predictions", F("label") == label))
        assert g.num_images == with_pred
    assert "Bonferroni" in r.report()
    # the per-class view keeps each class at its certified threshold
    kept = r.view(demo_dataset).count_values("predictions.detections.label")
    for label, g in found.items():
        n = len(demo_dataset.filter_labels(
            "predictions", (F("label") == label) & (F("confidence") >= g.threshold)
        ).values("predictions.detections", unwind=True))
        assert kept.get(label, 0) == n


def test_models_are_compared_at_point_estimates_not_guarantees(demo_dataset):
    cmp = compare_models(
        demo_dataset, ["predictions", "baseline"], objective="precision", target=0.8,
        guarantee=0.9, progress=False,
    )
    ref = cmp.results["predictions"]
    assert ref.guarantee is not None and ref.best_threshold == ref.guarantee.threshold
    rows = {r["model"]: r for r in cmp.operating_points()}
    # "at precision >= p": the lowest threshold reaching p on these images,
    # for the reference as for the other model (not a certified one)
    p = ref.best_precision
    for field, row in rows.items():
        at = row["at_precision"]
        point = cmp.results[field].with_objective(target=p, guarantee=None)
        assert at["threshold"] == point.best_threshold, field
        assert at["precision"] >= p


def test_the_operator_and_the_command_line_certify(demo_dataset, capsys):
    params = dict(pred_field="predictions", objective="recall", target=0.5, guarantee=0.9)
    out = foo.execute_operator(URI, ctx=dict(view=demo_dataset.view(), params=params)).result
    expected = compute_optimal_confidence(
        demo_dataset, "predictions", objective="recall", target=0.5, guarantee=0.9, progress=False
    )
    assert out["best_threshold"] == expected.best_threshold
    assert out["guarantee"]["summary"] == expected.guarantee.summary()
    assert expected.guarantee.summary() in out["summary"]
    code = main([
        "--dataset", demo_dataset.name, "--objective", "recall", "--target", "0.5",
        "--guarantee", "0.9", "--json",
    ])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed["guarantee"]["threshold"] == expected.best_threshold
    assert printed["point_estimate"] == expected.with_objective(guarantee=None).best_threshold
