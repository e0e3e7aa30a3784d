"""Parallel and sharded sweeps give the one-process result exactly.

- ``num_workers``: worker processes that each read a range of sample ids;
  the merged records equal one process's row for row on a dataset.
- ``oc.match_records`` / ``oc.merge``: shards cut at random (some empty),
  sent as bytes, merged in any order: the same thresholds and counts, per
  class too, the IoUs of true positives kept, and with ``run_key`` a run
  stored through the write plan.
"""

import numpy as np
import pytest

import fiftyone as fo
from fiftyone import ViewField as F

import optimal_confidence as oc
from optimal_confidence.curves.merge import merge_records
from optimal_confidence.curves.sweep import count_at
from optimal_confidence.records.parallel import MIN_PARALLEL_SAMPLES, workers_for

from helpers import snapshot

RECORD_ARRAYS = ("pred_conf", "pred_tp", "pred_class", "pred_sample", "gt_conf", "gt_class", "gt_sample", "pred_iou")


def same_curves(a, b):
    for k in ("thresholds", "tp", "fp", "fn"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    assert a.best_threshold == b.best_threshold


def random_shards(samples, num_shards, seed):
    """The samples cut into ``num_shards`` views at random."""
    ids = np.array(samples.values("id"))
    which = np.random.default_rng(seed).integers(0, num_shards, len(ids))
    return [samples.select(list(ids[which == k])) for k in range(num_shards)]


@pytest.fixture(scope="module")
def one_pass(random_dataset):
    return oc.compute_optimal_confidence(random_dataset, "predictions", progress=False)


@pytest.mark.parametrize("num_workers", [2, 3])
def test_worker_processes_give_one_process_records(random_dataset, one_pass, num_workers):
    par = oc.compute_optimal_confidence(random_dataset, "predictions", num_workers=num_workers, progress=False)
    same_curves(one_pass, par)
    assert par.records.classes == one_pass.records.classes
    for k in RECORD_ARRAYS:
        assert np.array_equal(getattr(par.records, k), getattr(one_pass.records, k), equal_nan=True), k


def test_worker_processes_on_a_filtered_view_and_videos(random_dataset, video_dataset):
    view = random_dataset.filter_labels("predictions", F("confidence") > 0.3, only_matches=False).skip(7)
    same_curves(
        oc.compute_optimal_confidence(view, "predictions", progress=False),
        oc.compute_optimal_confidence(view, "predictions", num_workers=2, progress=False),
    )
    one = oc.compute_optimal_confidence(video_dataset, "frames.pred", "frames.gt", progress=False)
    par = oc.compute_optimal_confidence(video_dataset, "frames.pred", "frames.gt", num_workers=2, progress=False)
    same_curves(one, par)


def test_compare_models_in_worker_processes(random_dataset):
    fields = ["predictions", "logits"]
    one = oc.compare_models(random_dataset, fields, progress=False)
    par = oc.compare_models(random_dataset, fields, num_workers=2, progress=False)
    for f in fields:
        same_curves(one.results[f], par.results[f])


def test_how_many_workers():
    assert workers_for(1, 10**6) == 1
    assert workers_for(4, 3) == 3  # at most one per sample
    assert workers_for(None, MIN_PARALLEL_SAMPLES - 1) == 1
    assert workers_for(None, MIN_PARALLEL_SAMPLES) >= 1
    with pytest.raises(ValueError, match="num_workers"):
        oc.compute_optimal_confidence(fo.Dataset(), "predictions", num_workers=0)


def test_a_worker_s_error_reaches_the_caller(random_dataset):
    ds = random_dataset.clone("oc-shards-bad-box")
    try:
        sample = ds.match(F("predictions.detections").length() > 0).last()
        sample.predictions.detections[0].bounding_box = [0.1, 0.1, -0.5, 0.2]
        sample.save()
        with pytest.raises(ValueError, match="bounding_box|box"):
            oc.compute_optimal_confidence(ds, "predictions", num_workers=2, progress=False)
    finally:
        ds.delete()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_shards_merge_to_one_pass(random_dataset, one_pass, seed):
    shards = [oc.match_records(v, "predictions") for v in random_shards(random_dataset, 5, seed)]
    shards.append(oc.match_records(random_dataset.limit(0), "predictions"))  # an empty shard
    order = np.random.default_rng(seed).permutation(len(shards))
    merged = oc.merge([shards[k].to_bytes() for k in order])
    same_curves(one_pass, merged)
    assert merged.config.num_samples == len(random_dataset)
    assert merged.config.method == "fast"
    # the IoUs of true positives travel with the shards (LaECE reads them)
    assert merged.calibration().laece.value == pytest.approx(one_pass.calibration().laece.value)


def test_merge_chooses_like_one_pass(random_dataset):
    options = dict(objective="precision", target=0.6, per_class=True, n_bootstrap=30, seed=3)
    one = oc.compute_optimal_confidence(random_dataset, "predictions", progress=False, **options)
    shards = [oc.match_records(v, "predictions") for v in random_shards(random_dataset, 3, 9)]
    merged = oc.merge(shards, **options)
    same_curves(one, merged)
    assert {c: x.threshold for c, x in merged.class_choices.items()} == {
        c: x.threshold for c, x in one.class_choices.items()
    }
    # the resampled images are numbered otherwise: intervals agree in kind
    assert merged.uncertainty.n_bootstrap == one.uncertainty.n_bootstrap == 30


def test_merge_records_recodes_classes():
    a = oc.MatchRecords(("cat",), np.array([0.9]), np.array([True]), np.array([0]), np.array([0]),
                        np.array([0.9]), np.array([0]), np.array([0]), 1, pred_iou=np.array([0.8]))
    b = oc.MatchRecords(("ant", "dog"), np.array([0.5, 0.7]), np.array([False, True]), np.array([1, -1]),
                        np.array([0, 1]), np.array([0.7]), np.array([0]), np.array([1]), 2,
                        pred_iou=np.array([np.nan, 0.6]))
    m = merge_records([a, b])
    assert m.classes == ("ant", "cat", "dog")
    assert m.pred_class.tolist() == [1, 2, -1]
    assert m.gt_class.tolist() == [1, 0]
    assert m.pred_sample.tolist() == [0, 1, 2] and m.gt_sample.tolist() == [0, 2]
    assert m.num_samples == 3
    assert count_at(m, np.array([0.6])).tp.tolist() == [2]


def test_merge_stores_a_run_through_the_write_plan(random_dataset):
    shards = [oc.match_records(v, "predictions") for v in random_shards(random_dataset, 2, 4)]
    try:
        result = oc.merge(shards, run_key="oc_merged")
        assert oc.load_optimal_confidence(random_dataset, "oc_merged").best_threshold == result.best_threshold
        before = snapshot(random_dataset)
        with pytest.raises(ValueError, match="oc_merged"):
            oc.merge(shards, run_key="oc_merged")
        assert snapshot(random_dataset) == before
    finally:
        if "oc_merged" in random_dataset.list_runs():
            random_dataset.delete_run("oc_merged")


def test_shards_matched_otherwise_are_refused(random_dataset):
    a = oc.match_records(random_dataset.limit(30), "predictions")
    b = oc.match_records(random_dataset.skip(30), "predictions", iou=0.7)
    with pytest.raises(ValueError, match="Shard 1 was matched with iou=0.7"):
        oc.merge([a, b])
    with pytest.raises(ValueError, match="iou=0.6, but the shards were matched with iou=0.5"):
        oc.merge([a], iou=0.6)
    with pytest.raises(ValueError, match="'objective': pass to oc.merge"):
        oc.match_records(random_dataset, "predictions", objective="recall")
    with pytest.raises(ValueError, match="'num_workers': pass to match_records"):
        oc.merge([a], num_workers=2)
    with pytest.raises(ValueError, match="not a RecordShard"):
        oc.merge([b"not a shard"])
    with pytest.raises(ValueError, match="non-empty list"):
        oc.merge([])
    empty = oc.match_records(random_dataset.limit(0), "predictions")
    with pytest.raises(ValueError, match="no predictions"):
        oc.merge([empty])
