"""Objectives and per-class thresholds through the API, against the oracle."""

import numpy as np
import pytest

from fiftyone import ViewField as F

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.curves.objectives import UnattainableTargetError
from optimal_confidence.spec.objective import Objective

from helpers import oracle_counts, snapshot


@pytest.fixture(scope="module")
def f1_result(random_dataset):
    return compute_optimal_confidence(random_dataset, "predictions", progress=False)


def scan(result, objective):
    """The chosen index by a plain loop over the result's own curves."""
    p, r = result.precision, result.recall
    cost = objective.fp_cost * result.fp + objective.fn_cost * result.fn
    best = None
    for i in range(result.num_thresholds):
        if objective.name == "precision":
            if p[i] < objective.target:
                continue
            key = (r[i], p[i])
        elif objective.name == "recall":
            if r[i] < objective.target:
                continue
            key = (p[i], r[i])
        elif objective.name == "cost":
            key = (-cost[i],)
        else:
            b2 = objective.beta**2
            tp, fp, fn = result.tp[i], result.fp[i], result.fn[i]
            key = ((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp),)
        if best is None or key > best[0]:
            best = (key, i)
    return best[1]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(objective="fbeta", beta=2.0),
        dict(objective="fbeta", beta=0.5),
        dict(objective="precision", target=0.55),
        dict(objective="recall", target=0.6),
        dict(objective="cost", fp_cost=1.0, fn_cost=4.0),
        dict(objective="cost", fp_cost=4.0, fn_cost=1.0),
    ],
    ids=lambda k: "-".join(str(v) for v in k.values()),
)
def test_objective_picks_what_a_scan_of_the_curve_picks(random_dataset, f1_result, kwargs):
    result = compute_optimal_confidence(random_dataset, "predictions", progress=False, **kwargs)
    objective = Objective(
        name=kwargs["objective"], **{k: v for k, v in kwargs.items() if k != "objective"}
    )
    i = scan(result, objective)
    assert result.best_index == i
    assert result.best_threshold == result.thresholds[i]
    # the same curves, so choosing again needs no new matching
    again = f1_result.with_objective(**kwargs.copy() | {"objective": kwargs["objective"]})
    assert again.best_threshold == result.best_threshold
    assert again.best_score == result.best_score
    # and the counts there are the oracle's
    assert (result.best_tp, result.best_fp, result.best_fn) == oracle_counts(
        random_dataset, "predictions", "ground_truth", result.best_threshold
    )


def test_objectives_move_the_threshold_the_expected_way(f1_result):
    f1 = f1_result.best_threshold
    assert f1_result.with_objective("fbeta", beta=3).best_threshold <= f1
    assert f1_result.with_objective("fbeta", beta=0.3).best_threshold >= f1
    strict = f1_result.with_objective("precision", target=0.6)
    assert strict.best_precision >= 0.6
    assert strict.best_threshold >= f1_result.with_objective("precision", target=0.5).best_threshold


def test_unattainable_target_is_a_clear_error_and_stores_nothing(random_dataset, f1_result):
    before = snapshot(random_dataset)
    top = f1_result.recall.max()
    assert top < 0.95  # ground-truth-only images are never found
    with pytest.raises(UnattainableTargetError, match=r"highest recall is") as e:
        compute_optimal_confidence(
            random_dataset, "predictions", objective="recall", target=0.95,
            run_key="never_stored", progress=False,
        )
    assert e.value.best_value == pytest.approx(top)
    assert e.value.best_threshold == f1_result.thresholds[0]
    assert e.value.result.best_f1 == f1_result.best_f1
    assert snapshot(random_dataset) == before


def test_macro_average_is_the_mean_of_class_metrics(f1_result):
    macro = f1_result.with_objective("f1", average="macro")
    per_class = f1_result.class_counts()
    f1s = []
    for c in per_class.values():
        tp, fp, fn = (x.astype(float) for x in c)
        den = 2 * tp + fp + fn
        f1s.append(np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0))
    expected = np.mean(f1s, axis=0)
    np.testing.assert_allclose(macro.score, expected)
    assert macro.best_index == int(np.argmax(expected))


def class_view(dataset, label):
    return dataset.filter_labels(
        "predictions", F("label") == label, only_matches=False
    ).filter_labels("ground_truth", F("label") == label, only_matches=False)


def per_class_view(dataset, thresholds, default):
    expr = F("confidence") >= default
    for label, t in thresholds.items():
        expr = (F("label") == label) & (F("confidence") >= t) | (
            (F("label") != label) & expr
        )
    return dataset.filter_labels("predictions", expr, only_matches=False)


@pytest.mark.parametrize("objective", ["f1", "precision"])
def test_per_class_thresholds_equal_the_sweep_of_each_class_alone(random_dataset, objective):
    kwargs = dict(objective=objective, per_class=True, progress=False)
    if objective == "precision":
        kwargs["target"] = 0.5
    result = compute_optimal_confidence(random_dataset, "predictions", **kwargs)
    assert set(result.class_thresholds) == set(result.classes)
    own = 0
    for label, choice in result.class_choices.items():
        view = class_view(random_dataset, label)
        try:
            alone = compute_optimal_confidence(view, "predictions", **{
                k: v for k, v in kwargs.items() if k != "per_class"
            })
        except UnattainableTargetError as e:
            # this class cannot reach the target: it keeps the global one
            assert not choice.own and choice.threshold == result.best_threshold
            assert choice.reason == str(e).split(". ")[0]
            continue
        assert choice.support == alone.records.num_gts
        if choice.own:
            own += 1
            assert choice.threshold == alone.best_threshold, label
            assert choice.score == pytest.approx(alone.best_score)
    assert own >= 2

    # the combined operating point is what evaluating the per-class view gives
    view = per_class_view(random_dataset, result.class_thresholds, result.best_threshold)
    c = result.operating_counts()
    assert all(type(x) is int for x in c)  # plain numbers, as counts_at(0.7) gives
    assert (c.tp, c.fp, c.fn) == oracle_counts(
        view, "predictions", "ground_truth", float("-inf")
    )
    m = result.metrics()
    assert m["operating_point"]["tp"] == c.tp
    assert m["class_thresholds"] == result.class_thresholds


def test_min_support_falls_back_to_the_global_threshold(f1_result):
    supports = {k: v.support for k, v in f1_result.with_objective(per_class=True).class_choices.items()}
    cut = max(supports.values())
    assert min(supports.values()) < cut  # at least one class falls back
    result = f1_result.with_objective(per_class=True, min_support=cut)
    for label, choice in result.class_choices.items():
        if supports[label] < cut:
            assert not choice.own
            assert choice.threshold == result.best_threshold
            assert "min_support" in choice.reason
        else:
            assert choice.own
    assert "global threshold" in result.class_report()


def test_per_class_needs_classwise(random_dataset):
    with pytest.raises(ValueError, match="per_class=True cannot go with classwise=False"):
        compute_optimal_confidence(
            random_dataset, "predictions", classwise=False, per_class=True
        )


def test_stored_run_keeps_the_objective(random_dataset):
    key = "objective_run"
    try:
        r = compute_optimal_confidence(
            random_dataset, "predictions", objective="recall", target=0.5,
            per_class=True, min_support=3, run_key=key, progress=False,
        )
        back = load_optimal_confidence(random_dataset, key)
        assert back.objective == r.objective
        assert back.best_threshold == r.best_threshold
        assert back.class_thresholds == r.class_thresholds
        assert random_dataset.get_run_info(key).config.objective == "precision at recall >= 0.5"
    finally:
        if key in random_dataset.list_runs():
            random_dataset.delete_run(key)


def test_the_accuracy_target_is_refused_for_detections_with_what_to_use(random_dataset, f1_result):
    """On detections the accuracy of the kept predictions is their
    precision: the accuracy objective would be the precision objective
    under another name, so it is refused, saying which to use."""
    from optimal_confidence.app.form import _choices_view
    from optimal_confidence.spec.options import option

    before = snapshot(random_dataset)
    with pytest.raises(ValueError) as e:
        compute_optimal_confidence(
            random_dataset, "predictions", "ground_truth", objective="accuracy", target=0.6,
            run_key="acc", progress=False,
        )
    assert e.value.option == "objective"
    assert "not to this detection task; use 'precision' with the same target" in str(e.value)
    with pytest.raises(ValueError, match="not to this detection task"):
        f1_result.with_objective("accuracy", target=0.6)
    assert snapshot(random_dataset) == before
    # the form offers it only where it means something else than precision
    shown = lambda task: [c.value for c in _choices_view(option("objective"), task).choices]  # noqa: E731
    assert "accuracy" not in shown("detection") and "accuracy" not in shown("binary")
    assert "accuracy" in shown("multiclass") and "precision" in shown("detection")
