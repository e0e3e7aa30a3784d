"""Test datasets, the filter-and-evaluate oracle, and dataset snapshots."""

from __future__ import annotations

import contextlib

import numpy as np

import fiftyone as fo
from fiftyone import ViewField as F

CLASSES = ["cat", "dog", "bird"]


def _box(rng):
    w, h = rng.uniform(0.05, 0.35, size=2)
    x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
    return [float(x), float(y), float(w), float(h)]


def _jitter(rng, box, scale):
    x, y, w, h = box
    dx, dy = rng.normal(0, scale * w), rng.normal(0, scale * h)
    dw, dh = np.exp(rng.normal(0, scale, size=2))
    w2, h2 = min(w * dw, 1.0), min(h * dh, 1.0)
    x2 = float(np.clip(x + dx, 0, 1 - w2))
    y2 = float(np.clip(y + dy, 0, 1 - h2))
    return [x2, y2, float(w2), float(h2)]


def make_labels(rng, *, gt=True, pred=True, crowd_rate=0.1):
    """Ground truth and predictions for one image or frame.

    Predictions: jittered copies of ground truth (sometimes two, competing
    for one object; sometimes of the wrong class) and random boxes.
    Confidences are rounded to 0.05 so that many tie, and some are missing.
    A second prediction field holds the same boxes with logit-like
    confidences outside [0, 1].
    """
    gts, preds, logits = [], [], []
    if gt:
        for _ in range(rng.integers(0, 6)):
            d = fo.Detection(label=str(rng.choice(CLASSES)), bounding_box=_box(rng))
            if rng.random() < crowd_rate:
                d["iscrowd"] = True
            gts.append(d)
    if pred:
        sources = [(g.label, g.bounding_box) for g in gts if rng.random() < 0.8]
        sources += [(l, b) for l, b in sources if rng.random() < 0.3]
        sources += [
            (str(rng.choice(CLASSES)), _box(rng)) for _ in range(rng.integers(0, 3))
        ]
        for label, box in sources:
            if rng.random() < 0.15:
                label = str(rng.choice(CLASSES))
            conf = round(float(rng.uniform(0.05, 1.0)) * 20) / 20
            conf = min(conf, 0.95)
            if rng.random() < 0.07:
                conf = None
            b = _jitter(rng, box, 0.12)
            preds.append(fo.Detection(label=label, bounding_box=b, confidence=conf))
            logit = None if conf is None else float(3 * np.log(conf / (1 - conf)) + 0.01)
            logits.append(fo.Detection(label=label, bounding_box=b, confidence=logit))
    return gts, preds, logits


def _sample_kind(rng):
    # empty, ground-truth only, predictions only, both
    return rng.choice(4, p=[0.08, 0.1, 0.1, 0.72])


@contextlib.contextmanager
def random_dataset_with_operations(name, num_samples, seed):
    """A :func:`make_random_dataset`, deleted afterwards with the delegated
    operations queued on it."""
    from fiftyone.operators.delegated import DelegatedOperationService

    ds = make_random_dataset(name, num_samples=num_samples, seed=seed)
    try:
        yield ds
    finally:
        DelegatedOperationService().delete_for_dataset(ds._doc.id)
        ds.delete()


def make_random_dataset(name, num_samples=60, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_samples):
        kind = _sample_kind(rng)
        gts, preds, logits = make_labels(rng, gt=kind in (1, 3), pred=kind in (2, 3))
        s = fo.Sample(filepath=f"/tmp/optimal_confidence_tests/{name}/{i}.jpg")
        if kind != 0:
            s["ground_truth"] = fo.Detections(detections=gts)
            s["predictions"] = fo.Detections(detections=preds)
            s["logits"] = fo.Detections(detections=logits)
        samples.append(s)
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(samples)
    return ds


def make_video_dataset(name, num_samples=6, num_frames=4, seed=1):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_samples):
        s = fo.Sample(filepath=f"/tmp/optimal_confidence_tests/{name}/{i}.mp4")
        for f in range(1, num_frames + 1):
            kind = _sample_kind(rng)
            gts, preds, _ = make_labels(rng, gt=kind in (1, 3), pred=kind in (2, 3))
            frame = fo.Frame()
            if kind != 0:
                frame["gt"] = fo.Detections(detections=gts)
                frame["pred"] = fo.Detections(detections=preds)
            s.frames[f] = frame
        samples.append(s)
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(samples)
    return ds


ORACLE_KEY = "oc_oracle"


def oracle_counts(samples, pred_field, gt_field, threshold, *, iou=0.5, classwise=True):
    """TP, FP, FN at one threshold, by the definition in DESIGN.md: filter
    (keeping samples left without predictions), evaluate with a key, sum.
    """
    view = samples.filter_labels(
        pred_field, F("confidence") >= threshold, only_matches=False
    )
    view.evaluate_detections(
        pred_field,
        gt_field=gt_field,
        eval_key=ORACLE_KEY,
        iou=iou,
        classwise=classwise,
    )
    try:
        return tuple(
            int(view.sum(f"{ORACLE_KEY}_{k}")) for k in ("tp", "fp", "fn")
        )
    finally:
        samples._dataset.delete_evaluation(ORACLE_KEY)


def snapshot(dataset):
    """Everything a run must leave unchanged: schemas, evaluations, runs,
    brain runs, saved views, and every label of every field.
    """
    dataset.reload()
    schema = {k: str(v) for k, v in dataset.get_field_schema(flat=True).items()}
    frame_schema = (
        {k: str(v) for k, v in dataset.get_frame_field_schema(flat=True).items()}
        if dataset._has_frame_fields()
        else None
    )
    labels = {}
    for field in dataset.get_field_schema():
        labels[field] = [
            v.to_dict() if hasattr(v, "to_dict") else v for v in dataset.values(field)
        ]
    if frame_schema is not None:
        for field in dataset.get_frame_field_schema():
            labels[f"frames.{field}"] = [
                [v.to_dict() if hasattr(v, "to_dict") else v for v in frames]
                for frames in dataset.values(f"frames.{field}")
            ]
    return {
        "schema": schema,
        "frame_schema": frame_schema,
        "evaluations": dataset.list_evaluations(),
        "runs": dataset.list_runs(),
        "brain_runs": dataset.list_brain_runs(),
        "saved_views": dataset.list_saved_views(),
        "labels": labels,
    }
