"""The fast matcher against one ``evaluate_detections`` pass.

Differential tests: :func:`records_fast` must return exactly the records of
:func:`records_from_evaluation` on many small random datasets built to hit
FiftyOne's matching rules (crowds, exact IoU ties, duplicates competing for
one object, wrong classes, empty images, predictions without confidence,
confidences of 0 and below, ``classwise=False``, several IoU thresholds,
video frames). Then hand-made cases with known answers, and the errors the
caller falls back on.
"""

from __future__ import annotations

import numpy as np
import pytest

import fiftyone as fo

import optimal_confidence.records.fast_matching as fast_matching
from optimal_confidence.records.fast_matching import (
    UnsupportedMatchingError,
    records_fast,
)
from optimal_confidence.records.matching import read_label_values, records_from_evaluation
from optimal_confidence.curves.sweep import count_at, exact_thresholds

from helpers import make_random_dataset

ARRAYS = (
    "pred_conf",
    "pred_tp",
    "pred_class",
    "pred_sample",
    "gt_conf",
    "gt_class",
    "gt_sample",
    "pred_iou",
)

CLASSES = ["cat", "dog", "bird"]

# Dyadic boxes on a 1/16 grid: areas and intersections are exact, so equal
# IoUs are equal floats and IoUs land exactly on thresholds
GRID = 16

# 0 sorts as -1 in FiftyOne (`confidence or -1`); None and NaN take no part
CONFIDENCES = [None, float("nan"), 0.0, -1.0, -0.5, 0.25, 0.5, 0.5, 0.75, 0.9, 2.5]

CONFIGS = [
    dict(iou=0.5, classwise=True),
    dict(iou=0.3, classwise=False),
    dict(iou=0.75, classwise=True),
    dict(iou=0.5, classwise=False),
    # Every candidate the R-tree returns matches, even boxes that only touch
    dict(iou=0.0, classwise=True),
]


def reference(samples, pred_field, gt_field, **kwargs):
    preds = read_label_values(samples, pred_field)
    gts = read_label_values(samples, gt_field, confidences=False)
    return records_from_evaluation(
        samples, pred_field, gt_field, preds=preds, gts=gts, progress=False, **kwargs
    )


def assert_same_records(actual, expected):
    assert actual.classes == expected.classes
    assert actual.num_samples == expected.num_samples
    for name in ARRAYS:
        a, e = getattr(actual, name), getattr(expected, name)
        assert a.dtype == e.dtype, name
        np.testing.assert_array_equal(a, e, err_msg=name)

    thresholds = exact_thresholds(expected.pred_conf)
    got, want = count_at(actual, thresholds), count_at(expected, thresholds)
    for k in ("tp", "fp", "fn"):
        np.testing.assert_array_equal(getattr(got, k), getattr(want, k), err_msg=k)


def check(samples, pred_field, gt_field, **kwargs):
    """Asserts that records_fast equals the evaluation; returns the records."""
    expected = reference(samples, pred_field, gt_field, **kwargs)
    actual = records_fast(samples, pred_field, gt_field, **kwargs)
    assert_same_records(actual, expected)
    return actual


# Generators


def _grid_box(rng, max_cells=6):
    w, h = rng.integers(1, max_cells, size=2)
    x, y = rng.integers(0, GRID - w + 1), rng.integers(0, GRID - h + 1)
    return [x / GRID, y / GRID, w / GRID, h / GRID]


def _nudge(rng, box):
    """The box moved or resized by up to one cell, kept in the image."""
    x, y, w, h = (round(v * GRID) for v in box)
    dx, dy, dw, dh = rng.integers(-1, 2, size=4)
    w, h = max(1, w + dw), max(1, h + dh)
    x = min(max(0, x + dx), GRID - w)
    y = min(max(0, y + dy), GRID - h)
    return [x / GRID, y / GRID, w / GRID, h / GRID]


def _label(rng):
    return None if rng.random() < 0.03 else str(rng.choice(CLASSES))


def _gt(rng, box, label):
    d = fo.Detection(label=label, bounding_box=box)
    r = rng.random()
    if r < 0.08:
        d["iscrowd"] = True
    elif r < 0.11:
        d["iscrowd"] = 1
    elif r < 0.14:
        # The crowd flag in the legacy attributes dict
        d.attributes = {"iscrowd": fo.Attribute(value=True)}
    elif r < 0.2:
        d["iscrowd"] = rng.choice([False, 0])
    return d


def tricky_labels(rng, *, gt=True, pred=True):
    """Ground truth and predictions for one image or frame, dense in the
    situations FiftyOne's matcher has rules for.
    """
    gts = []
    if gt:
        for _ in range(rng.integers(0, 8)):
            if gts and rng.random() < 0.2:
                # The same box again: predictions see two equal IoUs
                src = gts[rng.integers(len(gts))]
                label = src.label if rng.random() < 0.7 else _label(rng)
                gts.append(_gt(rng, list(src.bounding_box), label))
            else:
                gts.append(_gt(rng, _grid_box(rng), _label(rng)))

    preds = []
    if pred:
        sources = [
            (g.label, g.bounding_box) for g in gts if rng.random() < 0.8
        ]
        # Duplicates competing for one object
        sources += [s for s in sources if rng.random() < 0.3]
        sources += [(_label(rng), _grid_box(rng)) for _ in range(rng.integers(0, 3))]
        for label, box in sources:
            if rng.random() < 0.15:
                label = _label(rng)
            r = rng.random()
            if r < 0.3:
                b = list(box)
            elif r < 0.85:
                b = _nudge(rng, box)
            else:
                # A small box inside: a crowd's IoU is 1, a plain object's low
                x, y, w, h = (round(v * GRID) for v in box)
                b = [x / GRID, y / GRID, max(1, w // 2) / GRID, max(1, h // 2) / GRID]
            conf = CONFIDENCES[rng.integers(len(CONFIDENCES))]
            preds.append(fo.Detection(label=label, bounding_box=b, confidence=conf))
    return gts, preds


def _kind(rng):
    # no fields, empty lists, ground truth only, predictions only, both
    return rng.choice(5, p=[0.06, 0.06, 0.1, 0.1, 0.68])


def make_tricky_dataset(name, num_samples=30, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_samples):
        kind = _kind(rng)
        s = fo.Sample(filepath=f"/tmp/optimal_confidence_tests/{name}/{i}.jpg")
        if kind == 1:
            s["ground_truth"] = fo.Detections()
            s["predictions"] = fo.Detections()
        elif kind > 1:
            gts, preds = tricky_labels(rng, gt=kind in (2, 4), pred=kind in (3, 4))
            if kind != 3 or rng.random() < 0.5:
                s["ground_truth"] = fo.Detections(detections=gts)
            if kind != 2 or rng.random() < 0.5:
                s["predictions"] = fo.Detections(detections=preds)
        samples.append(s)
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(samples, progress=False)
    return ds


def make_tricky_video_dataset(name, num_samples=5, num_frames=4, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_samples):
        s = fo.Sample(filepath=f"/tmp/optimal_confidence_tests/{name}/{i}.mp4")
        for f in range(1, num_frames + 1):
            kind = _kind(rng)
            frame = fo.Frame()
            if kind > 0:
                gts, preds = tricky_labels(
                    rng, gt=kind in (2, 4), pred=kind in (3, 4)
                )
                frame["gt"] = fo.Detections(detections=gts)
                frame["pred"] = fo.Detections(detections=preds)
            s.frames[f] = frame
        samples.append(s)
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(samples, progress=False)
    return ds


def make_dataset(name, images, gt_field="ground_truth", pred_field="predictions"):
    """One sample per ``(gts, preds)`` pair of Detection lists."""
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(
        [
            fo.Sample(
                filepath=f"/tmp/optimal_confidence_tests/{name}/{i}.jpg",
                **{
                    gt_field: fo.Detections(detections=gts),
                    pred_field: fo.Detections(detections=preds),
                },
            )
            for i, (gts, preds) in enumerate(images)
        ],
        progress=False,
    )
    return ds


@pytest.fixture
def temp_datasets():
    """Deletes the datasets a test appends to the yielded list."""
    datasets = []
    yield datasets
    for ds in datasets:
        if fo.dataset_exists(ds.name):
            ds.delete()


def D(label, box, conf=None, **attrs):
    return fo.Detection(label=label, bounding_box=box, confidence=conf, **attrs)


# Differential tests


@pytest.mark.parametrize("seed", range(6))
def test_tricky_images(seed, temp_datasets):
    ds = make_tricky_dataset(f"oc-fast-tricky-{seed}", num_samples=30, seed=seed)
    temp_datasets.append(ds)
    for config in CONFIGS:
        check(ds, "predictions", "ground_truth", **config)


@pytest.mark.parametrize("seed", range(10, 13))
def test_helper_random_images(seed, temp_datasets):
    ds = make_random_dataset(f"oc-fast-random-{seed}", num_samples=30, seed=seed)
    temp_datasets.append(ds)
    for field in ("predictions", "logits"):
        for config in CONFIGS[:3]:
            check(ds, field, "ground_truth", **config)


@pytest.mark.parametrize("seed", range(2))
def test_tricky_video_frames(seed, temp_datasets):
    ds = make_tricky_video_dataset(f"oc-fast-video-{seed}", seed=seed)
    temp_datasets.append(ds)
    for config in CONFIGS[:2]:
        records = check(ds, "frames.pred", "frames.gt", **config)
        assert records.num_samples == 5
        # Batches of two videos
        assert_same_records(
            records_fast(ds, "frames.pred", "frames.gt", batch_size=2, **config),
            records,
        )


@pytest.mark.parametrize("config", CONFIGS[:2])
def test_session_random_dataset(random_dataset, config):
    for field in ("predictions", "logits"):
        check(random_dataset, field, "ground_truth", **config)


@pytest.mark.parametrize("config", CONFIGS[:2])
def test_session_video_dataset(video_dataset, config):
    check(video_dataset, "frames.pred", "frames.gt", **config)


def test_batches_keep_view_order(temp_datasets):
    ds = make_tricky_dataset("oc-fast-batches", num_samples=30, seed=42)
    temp_datasets.append(ds)
    views = [
        ds,
        ds.sort_by("filepath", reverse=True),
        ds.shuffle(seed=3),
        ds.skip(3).limit(20),
    ]
    for view in views:
        expected = reference(view, "predictions", "ground_truth")
        calls = []
        actual = records_fast(
            view,
            "predictions",
            "ground_truth",
            batch_size=7,
            progress=lambda done, total: calls.append((done, total)),
        )
        assert_same_records(actual, expected)
        n = len(view)
        assert calls == [(min(k + 7, n), n) for k in range(0, n, 7)]


@pytest.mark.parametrize("seed", range(2))
def test_rtree_path_forced(seed, temp_datasets, monkeypatch):
    """The one-pair-at-a-time R-tree matcher, used for every group with a
    crowd candidate or tied IoUs, against the evaluation.
    """
    ds = make_tricky_dataset(f"oc-fast-forced-{seed}", num_samples=25, seed=100 + seed)
    temp_datasets.append(ds)
    monkeypatch.setattr(fast_matching, "_INSERTION_ORDER_LIMIT", 0)
    for config in CONFIGS[:2]:
        check(ds, "predictions", "ground_truth", **config)


# Hand-made cases with known answers


def test_crowd_absorbs_two_predictions(temp_datasets):
    crowd = D("person", [0.0, 0.0, 0.5, 0.5], iscrowd=True)
    preds = [
        D("person", [0.0, 0.0, 0.2, 0.2], 0.6),
        D("person", [0.25, 0.25, 0.2, 0.2], 0.9),
        # Inside the crowd but another label: a crowd only takes its label,
        # even when classwise is False
        D("car", [0.1, 0.1, 0.2, 0.2], 0.8),
    ]
    ds = make_dataset("oc-fast-crowd", [([crowd], preds)])
    temp_datasets.append(ds)

    for classwise in (True, False):
        r = check(ds, "predictions", "ground_truth", classwise=classwise)
        np.testing.assert_array_equal(r.pred_tp, [True, True, False])
        # Found as long as the most confident of its predictions is kept
        np.testing.assert_array_equal(r.gt_conf, [0.9])
        counts = count_at(r, np.array([0.5, 0.7, 0.95]))
        np.testing.assert_array_equal(counts.tp, [2, 1, 0])
        np.testing.assert_array_equal(counts.fn, [0, 0, 1])


def test_non_crowd_preferred_over_crowd(temp_datasets):
    gts = [
        D("person", [0.0, 0.0, 1.0, 1.0], iscrowd=True),
        D("person", [0.1, 0.1, 0.4, 0.4]),
    ]
    # IoU 0.75 with the object, 1 with the crowd
    preds = [D("person", [0.1, 0.1, 0.3, 0.4], 0.9)]
    ds = make_dataset("oc-fast-prefer", [(gts, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth")
    np.testing.assert_array_equal(r.gt_conf, [np.nan, 0.9])


def test_tie_goes_to_object_order(temp_datasets):
    first = [D("cat", [0.1, 0.1, 0.4, 0.4], 0.5), D("cat", [0.1, 0.1, 0.4, 0.4], 0.5)]
    # Same confidence, different boxes: the first object wins although the
    # second fits better
    second = [D("cat", [0.12, 0.1, 0.4, 0.4], 0.5), D("cat", [0.1, 0.1, 0.4, 0.4], 0.5)]
    # (one Detection per sample: a shared object would share its id)
    ds = make_dataset(
        "oc-fast-tie",
        [
            ([D("cat", [0.1, 0.1, 0.4, 0.4])], first),
            ([D("cat", [0.1, 0.1, 0.4, 0.4])], second),
        ],
    )
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth")
    np.testing.assert_array_equal(r.pred_tp, [True, False, True, False])


def test_zero_confidence_is_visited_after_negative(temp_datasets):
    """FiftyOne sorts by ``confidence or -1``: 0 comes after -0.5."""
    gt = [D("cat", [0.1, 0.1, 0.4, 0.4])]
    preds = [D("cat", [0.1, 0.1, 0.4, 0.4], 0.0), D("cat", [0.12, 0.1, 0.4, 0.4], -0.5)]
    ds = make_dataset("oc-fast-zero", [(gt, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth")
    np.testing.assert_array_equal(r.pred_tp, [False, True])
    np.testing.assert_array_equal(r.gt_conf, [-0.5])


def test_equal_iou_goes_to_the_last_object(temp_datasets):
    gts = [D("cat", [0.1, 0.1, 0.4, 0.4]), D("cat", [0.1, 0.1, 0.4, 0.4])]
    preds = [D("cat", [0.1, 0.1, 0.4, 0.4], 0.9)]
    ds = make_dataset("oc-fast-equal", [(gts, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth")
    np.testing.assert_array_equal(r.gt_conf, [np.nan, 0.9])


def test_iou_exactly_at_threshold_matches(temp_datasets):
    # inter 0.125, union 0.25: IoU exactly 0.5
    gts = [D("cat", [0.0, 0.0, 0.5, 0.5])]
    preds = [D("cat", [0.0, 0.0, 0.25, 0.5], 0.9)]
    ds = make_dataset("oc-fast-threshold", [(gts, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth", iou=0.5)
    np.testing.assert_array_equal(r.pred_tp, [True])
    r = check(ds, "predictions", "ground_truth", iou=0.5 + 1e-12)
    np.testing.assert_array_equal(r.pred_tp, [False])


def test_iou_of_one_is_capped(temp_datasets):
    """FiftyOne uses ``min(iou, 1 - 1e-10)``: at ``iou=1`` a box off by
    rounding still matches.
    """
    gts = [D("cat", [0.1, 0.1, 0.4, 0.4])]
    preds = [D("cat", [0.1, 0.1, 0.4, 0.4 + 1e-12], 0.9)]
    ds = make_dataset("oc-fast-one", [(gts, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth", iou=1.0)
    np.testing.assert_array_equal(r.pred_tp, [True])


def test_wrong_label_takes_the_object_when_not_classwise(temp_datasets):
    gts = [D("cat", [0.1, 0.1, 0.4, 0.4])]
    preds = [D("dog", [0.1, 0.1, 0.4, 0.4], 0.9), D("cat", [0.11, 0.1, 0.4, 0.4], 0.8)]
    ds = make_dataset("oc-fast-wrong", [(gts, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth", classwise=True)
    np.testing.assert_array_equal(r.pred_tp, [False, True])
    np.testing.assert_array_equal(r.gt_conf, [0.8])

    # The dog takes the cat: neither counts as a true positive
    r = check(ds, "predictions", "ground_truth", classwise=False)
    np.testing.assert_array_equal(r.pred_tp, [False, False])
    np.testing.assert_array_equal(r.gt_conf, [np.nan])


def test_predictions_without_confidence_take_no_part(temp_datasets):
    gts = [D("cat", [0.1, 0.1, 0.4, 0.4])]
    preds = [
        D("cat", [0.1, 0.1, 0.4, 0.4], None),
        D("cat", [0.1, 0.1, 0.4, 0.4], float("nan")),
        D("cat", [0.11, 0.1, 0.4, 0.4], 0.3),
    ]
    ds = make_dataset("oc-fast-noconf", [(gts, preds)])
    temp_datasets.append(ds)

    r = check(ds, "predictions", "ground_truth")
    np.testing.assert_array_equal(r.pred_tp, [False, False, True])
    np.testing.assert_array_equal(r.pred_conf, [np.nan, np.nan, 0.3])


def test_large_group_follows_rtree_order(temp_datasets, monkeypatch):
    """Beyond 100 ground truth objects in a group, FiftyOne's R-tree returns
    candidates out of insertion order; a crowd met first then wins over a
    better-fitting object. The fast matcher reproduces it.
    """
    n = 12
    boxes = [
        [i / n + 0.01, j / n + 0.01, 0.06, 0.06] for i in range(n) for j in range(n)
    ]

    def grid(*crowds):
        return [D("a", list(b)) for b in boxes] + [
            D(label, box, iscrowd=True) for label, box in crowds
        ]

    def preds():
        return [D("a", [x + 0.01, y, w, h], 0.9) for x, y, w, h in boxes]

    everywhere = [0.0, 0.0, 1.0, 1.0]
    ds = make_dataset(
        "oc-fast-rtree",
        [
            (grid(("a", everywhere)), preds()),
            # A crowd of another label is skipped before it can stop the
            # search, even when classwise is False
            (grid(("b", everywhere)), preds()),
            # A small crowd of the same label sends the image to the R-tree
            # matcher, which must skip the other crowd too
            (grid(("b", everywhere), ("a", [0.0, 0.0, 0.2, 0.2])), preds()),
        ],
    )
    temp_datasets.append(ds)

    exact = check(ds, "predictions", "ground_truth")
    r = check(ds, "predictions", "ground_truth", classwise=False)
    assert r.pred_tp[r.pred_sample == 1].all()
    assert r.pred_tp[r.pred_sample == 2].sum() >= 140

    # With every candidate in insertion order, the crowd would be taken
    # only where no object is free: the order matters here
    monkeypatch.setattr(fast_matching, "_INSERTION_ORDER_LIMIT", 10**9)
    naive = records_fast(ds, "predictions", "ground_truth")
    assert np.isnan(naive.gt_conf).sum() < np.isnan(exact.gt_conf).sum()


def test_large_group_ties_follow_rtree_order(temp_datasets, monkeypatch):
    """Each prediction sits between two objects with exactly equal IoUs; in
    a group of 128 objects the R-tree order decides which one it takes.
    """
    rng = np.random.default_rng(0)
    u = 1 / 256
    preds, boxes = [], []
    for i in range(8):
        for j in range(8):
            x, y = (8 * i + 2) * u * 4, (8 * j + 2) * u * 4
            preds.append(D("a", [x, y, 4 * u, 4 * u], 0.9))
            boxes += [[x - u, y, 4 * u, 4 * u], [x + u, y, 4 * u, 4 * u]]
    gts = [D("a", boxes[k]) for k in rng.permutation(len(boxes))]
    ds = make_dataset("oc-fast-rtree-ties", [(gts, preds)])
    temp_datasets.append(ds)

    exact = check(ds, "predictions", "ground_truth")

    monkeypatch.setattr(fast_matching, "_INSERTION_ORDER_LIMIT", 10**9)
    naive = records_fast(ds, "predictions", "ground_truth")
    assert not np.array_equal(naive.gt_conf, exact.gt_conf, equal_nan=True)


# Errors the caller falls back on


def test_unsupported_inputs_raise(temp_datasets):
    ds = make_dataset("oc-fast-errors", [([D("cat", [0.1, 0.1, 0.4, 0.4])], [])])
    temp_datasets.append(ds)
    ds.add_sample_field(
        "poly", fo.EmbeddedDocumentField, embedded_doc_type=fo.Polylines
    )

    with pytest.raises(UnsupportedMatchingError, match="Polylines"):
        records_fast(ds, "poly", "ground_truth")
    with pytest.raises(UnsupportedMatchingError, match="use_masks"):
        records_fast(ds, "predictions", "ground_truth", use_masks=True)
    assert issubclass(UnsupportedMatchingError, ValueError)

    with pytest.raises(ValueError, match="does not exist"):
        records_fast(ds, "nope", "ground_truth")
    with pytest.raises(ValueError, match="not a label field"):
        records_fast(ds, "filepath", "ground_truth")
    for bad in (float("nan"), "0.5", True):
        with pytest.raises(ValueError, match="iou"):
            records_fast(ds, "predictions", "ground_truth", iou=bad)
    with pytest.raises(ValueError, match="batch_size"):
        records_fast(ds, "predictions", "ground_truth", batch_size=0)
    with pytest.raises(ValueError, match="progress"):
        records_fast(ds, "predictions", "ground_truth", progress=True)


def test_missing_box_raises(temp_datasets):
    ds = make_dataset(
        "oc-fast-nobox",
        [
            (
                [D("cat", [0.1, 0.1, 0.4, 0.4])],
                [fo.Detection(label="cat", confidence=0.5)],
            )
        ],
    )
    temp_datasets.append(ds)
    with pytest.raises(ValueError, match="bounding_box"):
        records_fast(ds, "predictions", "ground_truth")


def test_frame_and_sample_fields_do_not_mix(temp_datasets):
    ds = make_tricky_video_dataset("oc-fast-levels", num_samples=1, seed=0)
    temp_datasets.append(ds)
    ds.add_sample_field(
        "sample_level", fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections
    )
    with pytest.raises(ValueError, match="both be frame-level"):
        records_fast(ds, "frames.pred", "sample_level")


def test_empty_view(random_dataset):
    r = records_fast(random_dataset.limit(0), "predictions", "ground_truth")
    assert r.num_samples == 0 and r.num_preds == 0 and r.num_gts == 0
    assert r.classes == ()


# Reading ahead


def _reader_threads():
    import threading

    return [t for t in threading.enumerate() if t.name == "optimal-confidence-read" and t.is_alive()]


def test_bad_box_in_a_later_batch_names_its_sample_and_stops_the_reader(temp_datasets):
    good = ([D("cat", [0.1, 0.1, 0.4, 0.4])], [D("cat", [0.1, 0.1, 0.4, 0.4], 0.5)])
    bad = ([D("cat", [0.1, 0.1, 0.4, 0.4])], [D("cat", [0.1, 0.1, -0.4, 0.4], 0.5)])
    ds = make_dataset("oc-fast-late-bad-box", [good] * 7 + [bad] + [good] * 6)
    temp_datasets.append(ds)
    bad_id = ds.skip(7).first().id
    with pytest.raises(ValueError, match=bad_id):
        records_fast(ds, "predictions", "ground_truth", batch_size=3)
    assert _reader_threads() == []


def test_read_ahead_passes_items_and_errors_and_stops_with_its_reader():
    from optimal_confidence.records.reading import read_ahead as _ahead

    assert list(_ahead(iter(range(5)))) == [0, 1, 2, 3, 4]

    def failing():
        yield "first"
        raise KeyError("the database went away")

    got = []
    with pytest.raises(KeyError, match="went away"):
        for item in _ahead(failing()):
            got.append(item)
    assert got == ["first"]

    # a reader that stops early leaves no thread behind, even when the
    # producer fails while its item waits in the slot
    def many():
        yield from range(3)
        raise KeyError("never seen")

    items = _ahead(many())
    assert next(items) == 0
    items.close()
    assert _reader_threads() == []


def test_collection_changed_while_read_is_an_error(temp_datasets, monkeypatch):
    ds = make_random_dataset("oc-fast-changed", num_samples=9, seed=4)
    temp_datasets.append(ds)
    real = type(ds)._iter_values

    def fewer(self, paths, _raw=False, **kwargs):  # as if two samples were deleted meanwhile
        rows = list(real(self, paths, _raw=_raw, **kwargs))
        return iter(rows[:-2])

    monkeypatch.setattr(type(ds), "_iter_values", fewer)
    with pytest.raises(RuntimeError, match="Read 7 samples of 9; was the collection modified"):
        records_fast(ds, "predictions", "ground_truth", batch_size=4)


def test_crowd_flags_of_the_attributes_dict_found_in_a_later_batch(temp_datasets, monkeypatch):
    """The dict's crowd flag is read with the batch, not scanned for first:
    found in the third batch it counts (a crowd absorbs both predictions),
    and with an object that sets the dynamic attribute to None as well the
    fast matcher steps aside there."""
    box = [0.1, 0.1, 0.4, 0.4]
    preds = [D("a", [0.1, 0.1, 0.2, 0.2], 0.9), D("a", [0.12, 0.12, 0.2, 0.2], 0.8)]
    plain = ([D("a", [0.6, 0.6, 0.3, 0.3])], preds)
    crowd = fo.Detection(label="a", bounding_box=box, attributes={"iscrowd": fo.Attribute(value=True)})
    ds = make_dataset("oc-fast-late-dict", [plain] * 5 + [([crowd], preds)])
    temp_datasets.append(ds)
    scans = []
    real = fast_matching._has_null_attribute
    monkeypatch.setattr(fast_matching, "_has_null_attribute", lambda *a: scans.append(a) or real(*a))
    r = records_fast(ds, "predictions", "ground_truth", iou=0.2, batch_size=2)
    assert_same_records(r, reference(ds, "predictions", "ground_truth", iou=0.2))
    assert r.pred_tp[-2:].tolist() == [True, True] and len(scans) == 1

    null = ds.skip(5).first()
    null.ground_truth.detections.append(fo.Detection(label="a", bounding_box=box, iscrowd=None))
    null.save()
    with pytest.raises(UnsupportedMatchingError, match="to None"):
        records_fast(ds, "predictions", "ground_truth", iou=0.2, batch_size=2)


def test_pausing_the_collector_from_several_threads_leaves_it_as_it_was():
    import gc
    import threading

    from optimal_confidence.records.reading import no_gc

    assert gc.isenabled()
    barrier, seen_on = threading.Barrier(3), []

    def reader():
        barrier.wait()
        for _ in range(300):
            with no_gc():
                if gc.isenabled():
                    seen_on.append(1)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.isenabled() and not seen_on
    gc.disable()  # a caller's own pause is kept
    try:
        with no_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
