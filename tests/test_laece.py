"""LaECE, the localization-aware calibration error of the predictions kept
at the threshold (Kuzucu, Oksuz et al., ECCV 2024): a hand computation on
a tiny dataset, the threshold's effect, the IoUs carried against FiftyOne's
own ``<eval_key>_iou``, the reports, and storage."""

import dataclasses

import numpy as np
import pytest

import fiftyone as fo

from optimal_confidence import compute_optimal_confidence, load_optimal_confidence
from optimal_confidence.certainty.calibration import Calibration, calibration
from optimal_confidence.certainty.laece import LaECE, laece
from optimal_confidence.curves.sweep import MatchRecords
from optimal_confidence.outputs.reports import output_markdown
from optimal_confidence.result.result import OptimalConfidenceResult


def _det(label, box, conf=None):
    return fo.Detection(label=label, bounding_box=box, confidence=conf)


@pytest.fixture(scope="module")
def tiny():
    """Two images, classes cat and dog (and a bird with no ground truth).
    Boxes on a 1/8 grid, so every IoU is exact:

    image 1: cat A [0, 0, .5, .5], dog B [.5, .5, .5, .5], dog C [0, .5, .5, .5]
      p1 cat 0.90 = A exactly          -> TP, IoU 1
      p2 cat 0.89 [0, 0, .5, .375]     -> FP (A is taken by p1)
      p3 dog 0.70 [.5, .5, .5, .375]   -> TP, IoU .1875 / .25 = .75
      p4 dog 0.30 [0, .5, .5, .375]    -> TP of C, IoU .75, below 0.5
    image 2: cat D [.25, .25, .5, .5]
      p5 cat 0.62 [.25, .25, .5, .4375] -> TP, IoU .21875 / .25 = .875
      p6 dog 0.55 [0, 0, .25, .25]      -> FP (no dog here)
      p7 cat 0.10 [.75, .75, .125, .125] -> FP, below 0.5
      p8 bird 0.95 [.5, 0, .25, .25]    -> FP of a class without ground truth
    """
    ds = fo.Dataset("oc-laece-tiny")
    ds.add_samples([
        fo.Sample(
            filepath="/tmp/oc-laece-1.jpg",
            ground_truth=fo.Detections(detections=[
                _det("cat", [0, 0, 0.5, 0.5]),
                _det("dog", [0.5, 0.5, 0.5, 0.5]),
                _det("dog", [0, 0.5, 0.5, 0.5]),
            ]),
            predictions=fo.Detections(detections=[
                _det("cat", [0, 0, 0.5, 0.5], 0.90),
                _det("cat", [0, 0, 0.5, 0.375], 0.89),
                _det("dog", [0.5, 0.5, 0.5, 0.375], 0.70),
                _det("dog", [0, 0.5, 0.5, 0.375], 0.30),
            ]),
        ),
        fo.Sample(
            filepath="/tmp/oc-laece-2.jpg",
            ground_truth=fo.Detections(detections=[_det("cat", [0.25, 0.25, 0.5, 0.5])]),
            predictions=fo.Detections(detections=[
                _det("cat", [0.25, 0.25, 0.5, 0.4375], 0.62),
                _det("dog", [0, 0, 0.25, 0.25], 0.55),
                _det("cat", [0.75, 0.75, 0.125, 0.125], 0.10),
                _det("bird", [0.5, 0, 0.25, 0.25], 0.95),
            ]),
        ),
    ])
    yield ds
    ds.delete()


# By hand, 25 bins of width 0.04, right-closed: at threshold 0.5
#   cat: p1 (0.90, target 1) and p2 (0.89, target 0) share bin (0.88, 0.92]:
#        mean confidence 0.895, mean target 0.5, gap 0.395, weight 2/3;
#        p5 (0.62, 0.875) alone in (0.60, 0.64]: gap 0.255, weight 1/3
#        LaECE_cat = (2 * 0.395 + 0.255) / 3 = 1.045 / 3
#   dog: p3 (0.70, 0.75): gap 0.05; p6 (0.55, 0): gap 0.55
#        LaECE_dog = (0.05 + 0.55) / 2 = 0.3
#   bird: no ground truth, left out of the mean (as the reference code does)
CAT_05 = 1.045 / 3
DOG_05 = 0.3
LAECE_05 = (CAT_05 + DOG_05) / 2  # 0.32416...


def test_hand_computed(tiny):
    result = compute_optimal_confidence(tiny, "predictions", progress=False)
    np.testing.assert_array_equal(
        result.records.pred_iou,
        [1.0, np.nan, 0.75, 0.75, 0.875, np.nan, np.nan, np.nan],
    )
    found = laece(result.records, 0.5)
    assert found.per_class == pytest.approx({"cat": CAT_05, "dog": DOG_05})
    assert found.value == pytest.approx(LAECE_05)
    assert found.value == pytest.approx(0.3241666666666667)
    # p1, p2, p3, p5, p6: the kept predictions of classes with ground truth
    assert found.num_predictions == 5
    # binning matters: one bin per prediction would give cat (0.1 + 0.89 + 0.255) / 3
    unbinned = laece(result.records, 0.5, num_bins=1000)
    assert unbinned.per_class["cat"] == pytest.approx((0.1 + 0.89 + 0.255) / 3)


def test_below_the_threshold_does_not_count(tiny):
    records = compute_optimal_confidence(tiny, "predictions", progress=False).records
    # p4 and p7 (below 0.5) moved and judged otherwise: the LaECE at 0.5 stays
    conf = records.pred_conf.copy()
    conf[[3, 6]] = [0.45, 0.01]
    iou = records.pred_iou.copy()
    iou[3] = 0.5
    moved = dataclasses.replace(records, pred_conf=conf, pred_iou=iou)
    assert laece(moved, 0.5).value == pytest.approx(LAECE_05)
    # ... while the D-ECE over all predictions moves
    assert calibration(moved).ece != pytest.approx(calibration(records).ece)
    # at threshold 0 they count: cat adds p7 (0.10, target 0) in (0.08, 0.12],
    # dog adds p4 (0.30, 0.75) in (0.28, 0.32]
    cat_0 = (2 * 0.395 + 0.255 + 0.10) / 4
    dog_0 = (0.05 + 0.55 + 0.45) / 3
    at_0 = laece(records, 0.0)
    assert at_0.value == pytest.approx((cat_0 + dog_0) / 2)  # 0.318125
    assert at_0.num_predictions == 7
    # per-class thresholds: dog at 0.6 keeps only p3 (gap 0.05)
    own = laece(records, 0.5, class_thresholds={"dog": 0.6})
    assert own.per_class == pytest.approx({"cat": CAT_05, "dog": 0.05})
    # nothing kept: undefined, and said so
    none = laece(records, 0.99)
    assert np.isnan(none.value) and "undefined" in none.summary()


def test_bins_are_right_closed():
    """As in the reference code: bin 0 is [0, 0.04], bin b (b/25, (b+1)/25]:
    a confidence of exactly 0.8 shares its bin with 0.78, not 0.81."""
    records = MatchRecords(
        classes=("cat",),
        pred_conf=np.array([0.78, 0.8, 0.81, 0.0, 1.0]),
        pred_tp=np.array([True, False, True, False, True]),
        pred_class=np.zeros(5, dtype=np.int64),
        pred_sample=np.zeros(5, dtype=np.int64),
        gt_conf=np.array([0.81]),
        gt_class=np.zeros(1, dtype=np.int64),
        gt_sample=np.zeros(1, dtype=np.int64),
        num_samples=1,
        pred_iou=np.array([1.0, np.nan, 1.0, np.nan, 0.5]),
    )
    # kept at 0.5: (0.76, 0.80] holds 0.78 (1) and 0.8 (0): gap |0.79 - 0.5|;
    # (0.80, 0.84] holds 0.81 (1): gap 0.19; (0.96, 1] holds 1.0 (0.5): 0.5
    assert laece(records, 0.5).value == pytest.approx((2 * 0.29 + 0.19 + 0.5) / 4)
    # at 0, 0.0 (target 0) is in bin 0 with a gap of 0
    assert laece(records, 0.0).value == pytest.approx((2 * 0.29 + 0.19 + 0.5) / 5)
    with pytest.raises(ValueError, match="no IoUs"):
        laece(dataclasses.replace(records, pred_iou=None), 0.5)
    # the IoUs travel with the rows: one class's, and through a dict
    np.testing.assert_array_equal(records.restrict_to_class("cat").pred_iou, records.pred_iou)
    back = MatchRecords.from_dict(records.to_dict())
    assert records.to_dict()["tp_iou"] == [1.0, 1.0, 0.5]
    np.testing.assert_array_equal(back.pred_iou, records.pred_iou)


def test_ious_are_fiftyones(random_dataset):
    """The IoU carried for each true positive is FiftyOne's `eval_iou`,
    by the fast matcher, by evaluate_detections and by reusing the
    evaluation; on a clone, so the shared dataset keeps no eval fields."""
    ds = random_dataset.clone("oc-laece-random")
    try:
        ds.evaluate_detections("predictions", gt_field="ground_truth", eval_key="ev", iou=0.5)
        status = ds.values("predictions.detections.ev", unwind=True)
        theirs = np.array(ds.values("predictions.detections.ev_iou", unwind=True), dtype=np.float64)
        conf = np.array(ds.values("predictions.detections.confidence", unwind=True), dtype=np.float64)
        tp = np.array([s == "tp" for s in status])
        for engine in ("fast", "fiftyone"):
            rec = compute_optimal_confidence(ds, "predictions", engine=engine, progress=False).records
            assert len(rec.pred_iou) == len(theirs)
            scored = ~np.isnan(conf)
            assert rec.pred_tp.sum() > 20
            np.testing.assert_array_equal(rec.pred_tp[scored], tp[scored])
            np.testing.assert_array_equal(rec.pred_iou[rec.pred_tp], theirs[rec.pred_tp])
            assert np.isnan(rec.pred_iou[~rec.pred_tp]).all()
        reused = compute_optimal_confidence(ds, "predictions", eval_key="ev", progress=False).records
        np.testing.assert_array_equal(reused.pred_iou, rec.pred_iou)
        assert 0.5 <= np.nanmin(rec.pred_iou) and np.nanmax(rec.pred_iou) <= 1.0
    finally:
        ds.delete()


def test_the_reports_say_it(tiny):
    result = compute_optimal_confidence(tiny, "predictions", progress=False)
    cal = result.calibration()
    assert isinstance(cal.laece, LaECE)
    # the result's own threshold (F1's best), every class at it
    assert cal.laece.threshold == result.best_threshold
    assert cal.laece.value == pytest.approx(laece(result.records, result.best_threshold).value)
    text = result.report()
    line = next(l for l in text.splitlines() if l.startswith("Calibration: ECE"))
    assert f"ECE {cal.ece:.3f} over 8 predictions" in line
    assert f"LaECE {cal.laece.value:.3f} at the threshold {result.best_threshold:.4g}" in line
    assert "matching at IoU 0.5; 25 bins per class, mean of 2 classes" in line
    metrics = result.metrics()
    assert metrics["laece"] == pytest.approx(cal.laece.value)
    assert f"LaECE {cal.laece.value:.3f} at the threshold" in output_markdown(metrics)
    # per-class thresholds: each class at its own
    own = compute_optimal_confidence(tiny, "predictions", per_class=True, progress=False)
    at = own.calibration().laece
    assert at.class_thresholds == own.class_thresholds
    assert "at the per-class thresholds" in own.calibration().summary()


def test_stored_round_trip(tiny):
    result = compute_optimal_confidence(tiny, "predictions", run_key="laece_run", progress=False)
    try:
        loaded = load_optimal_confidence(tiny, "laece_run")
        np.testing.assert_array_equal(loaded.records.pred_iou, result.records.pred_iou)
        assert loaded.calibration().laece.value == result.calibration().laece.value
    finally:
        tiny.delete_run("laece_run")
    # the calibration's own dict, as --json prints it
    cal = result.calibration()
    back = Calibration.from_dict(cal.to_dict())
    assert back.laece.to_dict() == cal.laece.to_dict()
    # a run stored before the IoUs were kept: loads, and says no LaECE
    old = result.to_dict()
    del old["records"]["tp_iou"]
    old_result = OptimalConfidenceResult.from_dict(old)
    assert old_result.records.pred_iou is None
    assert old_result.calibration().laece is None
    assert "LaECE" not in old_result.report()
    assert old_result.calibration().ece == cal.ece
    old_cal = cal.to_dict()
    del old_cal["laece"]
    assert Calibration.from_dict(old_cal).laece is None


def test_classifications_target_one_or_zero():
    """A classifier has no box: a right answer's target is 1, a wrong
    one's 0, and LaECE is the class-averaged ECE of the kept answers."""
    ds = fo.Dataset("oc-laece-cls")
    rows = [("cat", "cat", 0.9), ("cat", "dog", 0.8), ("dog", "dog", 0.6), ("dog", "dog", 0.3)]
    ds.add_samples([
        fo.Sample(
            filepath=f"/tmp/oc-laece-c{i}.jpg",
            ground_truth=fo.Classification(label=g),
            predictions=fo.Classification(label=p, confidence=c),
        )
        for i, (g, p, c) in enumerate(rows)
    ])
    try:
        result = compute_optimal_confidence(ds, "predictions", progress=False)
        np.testing.assert_array_equal(result.records.pred_iou, [1.0, np.nan, 1.0, 1.0])
        # at 0.5: cat keeps 0.9 right (gap 0.1); dog keeps 0.8 wrong (0.8)
        # and 0.6 right (0.4), in different bins: (0.8 + 0.4) / 2
        found = laece(result.records, 0.5)
        assert found.per_class == pytest.approx({"cat": 0.1, "dog": 0.6})
        assert found.value == pytest.approx(0.35)
        cal = result.calibration()
        assert cal.laece.iou is None
        assert "1 for a right answer, 0 for a wrong one" in cal.summary()
    finally:
        ds.delete()
