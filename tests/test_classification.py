"""Classification fields: binary curves against scikit-learn, multiclass
coverage and accuracy against a direct recount."""

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve

import fiftyone as fo

from optimal_confidence import compute_optimal_confidence

from helpers import snapshot

LABELS = ["yes", "no"]
CLASSES = ["cat", "dog", "bird"]


def _answer(rng, truth, choices):
    """A classifier that is right more often when it is confident."""
    conf = round(float(rng.uniform(0.3, 1.0)), 2)
    right = rng.random() < conf
    label = truth if right else str(rng.choice([c for c in choices if c != truth]))
    if rng.random() < 0.05:
        conf = None
    return label, conf


@pytest.fixture(scope="module")
def cls_dataset():
    rng = np.random.default_rng(11)
    ds = fo.Dataset("oc-classification")
    samples = []
    for i in range(80):
        s = fo.Sample(filepath=f"/nonexistent/cls/{i}.jpg")
        if i % 17 != 5:  # some images have no ground truth
            yes = str(rng.choice(LABELS, p=[0.4, 0.6]))
            s["answer_gt"] = fo.Classification(label=yes)
            label, conf = _answer(rng, yes, LABELS)
            s["answer"] = fo.Classification(label=label, confidence=conf)
            animal = str(rng.choice(CLASSES))
            s["animal_gt"] = fo.Classification(label=animal)
        else:
            animal = None
        if animal is not None and i % 13 != 3:  # some have no prediction
            label, conf = _answer(rng, animal, CLASSES)
            s["animal"] = fo.Classification(label=label, confidence=conf)
        samples.append(s)
    ds.add_samples(samples, progress=False)
    yield ds
    ds.delete()


def test_binary_curve_equals_scikit_learn(cls_dataset):
    before = snapshot(cls_dataset)
    r = compute_optimal_confidence(cls_dataset, "answer", "answer_gt", positive_label="yes", progress=False)
    assert snapshot(cls_dataset) == before
    assert r.config.task == "binary"

    y_true, score = [], []
    for gt, pred in zip(*cls_dataset.values(["answer_gt", "answer"])):
        if gt is None:
            continue
        y_true.append(gt.label == "yes")
        if pred is None or pred.confidence is None:
            score.append(-1.0)  # below every score: never predicted positive
        else:
            score.append(pred.confidence if pred.label == "yes" else 1 - pred.confidence)
    y_true, score = np.array(y_true), np.array(score)

    precision, recall, thresholds = precision_recall_curve(y_true, score)
    thresholds, precision, recall = thresholds[1:], precision[1:-1], recall[1:-1]  # drop -1
    c = r.counts_at(thresholds)
    tp, fp, fn = (x.astype(float) for x in c)
    np.testing.assert_allclose(tp / np.maximum(tp + fp, 1), precision)
    np.testing.assert_allclose(tp / (tp + fn), recall)
    # the exact thresholds are the distinct positive scores
    np.testing.assert_allclose(r.thresholds, np.unique(score[score >= 0]))
    assert r.best_f1 == pytest.approx(np.max(2 * tp / (2 * tp + fp + fn)))


def test_multiclass_coverage_and_accuracy_equal_a_recount(cls_dataset):
    r = compute_optimal_confidence(cls_dataset, "animal", "animal_gt", progress=False)
    assert r.config.task == "multiclass"
    rows = [
        (gt.label, None if p is None else p.label, None if p is None else p.confidence)
        for gt, p in zip(*cls_dataset.values(["animal_gt", "animal"]))
        if gt is not None
    ]
    for t in (r.thresholds[0], 0.5, 0.73, r.thresholds[-1]):
        answered = [(g, l) for g, l, c in rows if c is not None and c >= t]
        right = sum(g == l for g, l in answered)
        i = np.searchsorted(r.thresholds, t)
        if i < r.num_thresholds and r.thresholds[i] == t:
            assert r.coverage[i] == pytest.approx(len(answered) / len(rows))
            assert r.accuracy[i] == pytest.approx(right / len(answered))
        c = r.counts_at(t)
        assert (c.tp, c.fp) == (right, len(answered) - right)
        assert c.fn == len(rows) - right


def test_accuracy_target_gives_the_lowest_threshold_and_the_share_escalated(cls_dataset):
    r = compute_optimal_confidence(
        cls_dataset, "animal", "animal_gt", objective="accuracy", target=0.75, progress=False
    )
    ok = np.flatnonzero(r.accuracy >= 0.75)
    assert r.best_index == ok[0]
    assert r.best_precision >= 0.75
    escalated = 1 - r.coverage[r.best_index]
    assert 0 < escalated < 1
    assert r.metrics()["objective"] == "lowest threshold with accuracy >= 0.75"


def test_video_frame_classifications():
    ds = fo.Dataset("oc-cls-video")
    try:
        rng = np.random.default_rng(2)
        s = fo.Sample(filepath="/nonexistent/v.mp4")
        expected = []
        for f in range(1, 9):
            truth = str(rng.choice(LABELS))
            label, conf = _answer(rng, truth, LABELS)
            s.frames[f]["gt"] = fo.Classification(label=truth)
            s.frames[f]["pred"] = fo.Classification(label=label, confidence=conf)
            expected.append((truth, label, conf))
        ds.add_sample(s)
        r = compute_optimal_confidence(ds, "frames.pred", "frames.gt", positive_label="yes", progress=False)
        t = 0.5
        kept = [
            (g, (c if l == "yes" else 1 - c) >= t) for g, l, c in expected if c is not None
        ]
        tp = sum(g == "yes" and k for g, k in kept)
        fp = sum(g != "yes" and k for g, k in kept)
        c = r.counts_at(t)
        assert (c.tp, c.fp) == (tp, fp)
        assert c.fn == sum(g == "yes" for g, _, _ in expected) - tp
    finally:
        ds.delete()


def test_classification_bad_input(cls_dataset):
    before = snapshot(cls_dataset)
    with pytest.raises(ValueError, match="positive_label 'maybe' is not a label.*\\['no', 'yes'\\]"):
        compute_optimal_confidence(cls_dataset, "answer", "answer_gt", positive_label="maybe")
    no_gt = cls_dataset.match(~fo.ViewField("answer_gt").exists())
    assert len(no_gt) > 0
    with pytest.raises(ValueError, match="No image in this view has a ground truth label in 'answer_gt'"):
        compute_optimal_confidence(no_gt, "answer", "answer_gt", positive_label="yes")
    unsure = cls_dataset.match(fo.ViewField("answer.confidence") == None)  # noqa: E711
    assert len(unsure) > 0
    with pytest.raises(ValueError, match="None of the predictions in 'answer' has a confidence"):
        compute_optimal_confidence(unsure, "answer", "answer_gt")
    assert snapshot(cls_dataset) == before
