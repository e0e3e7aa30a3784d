"""Synthetic demo dataset with a simulated detector for ``optimal_confidence``.

The demo images are drawn locally with numpy + Pillow (nothing is downloaded).
The simulated detector's confidence tracks the IoU of its boxes with the
ground truth, so the best-F1 confidence threshold lies away from the edges.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from PIL import Image, ImageDraw

import fiftyone as fo

logger = logging.getLogger(__name__)

DEMO_DATASET_NAME = "optimal-confidence-demo"
CLASSES = ["car", "person", "bicycle"]

_CLASS_FREQS = np.array([0.55, 0.33, 0.12])
_DETECT_PROB = {"car": 0.92, "person": 0.85, "bicycle": 0.72}
_ASPECT = {"car": 0.6, "person": 2.2, "bicycle": 1.0}  # height / width (pixels)
_COLORS = {"car": (220, 40, 40), "person": (40, 90, 230), "bicycle": (30, 170, 60)}
_IMG_W, _IMG_H = 160, 120


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Computes the IoU of two relative ``[x, y, w, h]`` boxes.

    Args:
        a: the first box
        b: the second box

    Returns:
        the intersection over union, in [0, 1]
    """
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def _clip_box(box: np.ndarray) -> np.ndarray:
    """Clips a relative ``[x, y, w, h]`` box to lie inside ``[0, 1]``.

    Args:
        box: the box

    Returns:
        the clipped box, with a strictly positive width and height
    """
    x1, y1 = np.clip(box[:2], 0.0, 0.98)
    x2 = np.clip(box[0] + box[2], x1 + 0.01, 1.0)
    y2 = np.clip(box[1] + box[3], y1 + 0.01, 1.0)
    return np.array([x1, y1, x2 - x1, y2 - y1])


def _random_gt_box(rng: np.random.Generator, label: str) -> np.ndarray:
    """Draws a random ground-truth box for an object of the given class.

    Args:
        rng: the random generator
        label: the class of the object

    Returns:
        a relative ``[x, y, w, h]`` box inside the image
    """
    w_px = rng.uniform(10, 60) / np.sqrt(_ASPECT[label])
    h_px = min(w_px * _ASPECT[label] * rng.uniform(0.8, 1.25), _IMG_H * 0.9)
    w, h = w_px / _IMG_W, h_px / _IMG_H
    return np.array([rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h])


def _simulate_prediction(
    rng: np.random.Generator, gt: np.ndarray, noise: float
) -> tuple[np.ndarray, float]:
    """Jitters a ground-truth box and scores it by its IoU with the truth.

    Args:
        rng: the random generator
        gt: the relative ``[x, y, w, h]`` ground-truth box
        noise: the relative scale of the localization noise

    Returns:
        a ``(box, confidence)`` tuple
    """
    x, y, w, h = gt
    cx = x + w / 2 + rng.normal(0, noise * w)
    cy = y + h / 2 + rng.normal(0, noise * h)
    pw, ph = w * np.exp(rng.normal(0, noise)), h * np.exp(rng.normal(0, noise))
    box = _clip_box(np.array([cx - pw / 2, cy - ph / 2, pw, ph]))
    score = 1 / (1 + np.exp(-10 * (_iou(box, gt) - 0.5))) + rng.normal(0, 0.12)
    return box, round(float(np.clip(score, 0.01, 0.99)), 3)


def _draw_image(
    path: str, seed: int, index: int, objects: list[tuple[str, np.ndarray]]
) -> None:
    """Draws a noisy background with one coloured shape per object.

    Args:
        path: where to write the PNG image
        seed: the dataset seed
        index: the index of the sample, used to seed the pixel noise
        objects: a list of ``(label, box)`` tuples
    """
    rng = np.random.default_rng([seed, index])  # independent of label RNG
    base = rng.integers(90, 170, size=3)
    pixels = base + rng.normal(0, 12, size=(_IMG_H, _IMG_W, 3))
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for label, (x, y, w, h) in objects:
        xy = [x * _IMG_W, y * _IMG_H, (x + w) * _IMG_W - 1, (y + h) * _IMG_H - 1]
        color = _COLORS[label]
        if label == "car":
            draw.rectangle(xy, fill=color)
        elif label == "person":
            draw.ellipse(xy, fill=color)
        else:
            apex = ((xy[0] + xy[2]) / 2, xy[1])
            draw.polygon([apex, (xy[0], xy[3]), (xy[2], xy[3])], fill=color)
    img.save(path)


#: a ground truth object: ``(label, box)``
_Object = tuple[str, np.ndarray]

#: a prediction: ``(label, box, confidence)``
_Prediction = tuple[str, np.ndarray, float]


def _random_labels(
    rng: np.random.Generator,
) -> tuple[list[_Object], list[_Prediction]]:
    """Draws the ground truth of one image and the simulated detector's
    predictions for it, false positives included.

    Args:
        rng: the random generator of the dataset

    Returns:
        an ``(objects, predictions)`` tuple of ``(label, box)`` and
        ``(label, box, confidence)`` lists
    """
    num_objects = 0 if rng.random() < 0.05 else int(rng.integers(1, 7))
    labels = rng.choice(CLASSES, size=num_objects, p=_CLASS_FREQS)
    objects = [(str(lb), _random_gt_box(rng, lb)) for lb in labels]

    preds = _detect(rng, objects)

    for _ in range(int(rng.integers(0, 4))):  # false positives
        fp_label = str(rng.choice(CLASSES, p=_CLASS_FREQS))
        conf = round(float(np.clip(rng.beta(2, 5), 0.01, 0.99)), 3)
        preds.append((fp_label, _random_gt_box(rng, fp_label), conf))
    return objects, preds


def _detect(
    rng: np.random.Generator, objects: list[_Object]
) -> list[_Prediction]:
    """Simulates the detector on the ground truth objects of one image:
    small objects are missed more often and localized worse; some labels
    are wrong and some detections are duplicated.

    Args:
        rng: the random generator of the dataset
        objects: the ``(label, box)`` ground truth objects

    Returns:
        a list of ``(label, box, confidence)`` predictions
    """
    preds = []
    for label, gt in objects:
        size = min(1.0, np.sqrt(gt[2] * gt[3]) / 0.2)  # 1 for big objects
        if rng.random() > _DETECT_PROB[label] * (0.5 + 0.5 * size):
            continue
        noise = rng.uniform(0.02, 0.22) * (1.4 - 0.4 * size)
        box, conf = _simulate_prediction(rng, gt, noise)
        pred_label = label
        if rng.random() < 0.05:
            pred_label = str(rng.choice([c for c in CLASSES if c != label]))
        preds.append((pred_label, box, conf))
        if rng.random() < 0.1:  # duplicate with lower confidence
            dbox, dconf = _simulate_prediction(rng, gt, 2 * noise)
            dconf = round(max(0.01, min(dconf, conf) * rng.uniform(0.3, 0.8)), 3)
            preds.append((pred_label, dbox, dconf))
    return preds


def _detect_baseline(rng: np.random.Generator, objects: list[_Object]) -> list[_Prediction]:
    """A second, weaker simulated detector: it misses more, localizes
    worse, confuses labels more often and raises more false alarms. It draws
    from its own random generator, so the first detector's predictions are
    the same with or without it."""
    preds = []
    for label, gt in objects:
        size = min(1.0, np.sqrt(gt[2] * gt[3]) / 0.2)
        if rng.random() > 0.85 * _DETECT_PROB[label] * (0.5 + 0.5 * size):
            continue
        box, conf = _simulate_prediction(rng, gt, rng.uniform(0.05, 0.3) * (1.5 - 0.4 * size))
        pred_label = label if rng.random() >= 0.1 else str(rng.choice([c for c in CLASSES if c != label]))
        preds.append((pred_label, box, conf))
    for _ in range(int(rng.integers(0, 6))):  # false alarms
        fp_label = str(rng.choice(CLASSES, p=_CLASS_FREQS))
        conf = round(float(np.clip(rng.beta(2, 4), 0.01, 0.99)), 3)
        preds.append((fp_label, _random_gt_box(rng, fp_label), conf))
    return preds


def _detections(preds: list[_Prediction]) -> "fo.Detections":
    return fo.Detections(
        detections=[
            fo.Detection(label=lb, bounding_box=b.tolist(), confidence=c) for lb, b, c in preds
        ]
    )


def _make_sample(
    filepath: str,
    objects: list[_Object],
    preds: list[_Prediction],
    baseline: list[_Prediction],
    tag: str,
) -> "fo.Sample":
    """The sample of one image with its ``ground_truth``, ``predictions``
    and ``baseline`` (the weaker model's predictions).

    Args:
        filepath: the path of the image
        objects: the ``(label, box)`` ground truth objects
        preds: the ``(label, box, confidence)`` predictions
        baseline: the weaker model's predictions
        tag: the split tag of the sample

    Returns:
        a :class:`fiftyone.core.sample.Sample`
    """
    gt_dets = [fo.Detection(label=lb, bounding_box=b.tolist()) for lb, b in objects]
    return fo.Sample(
        filepath=filepath,
        ground_truth=fo.Detections(detections=gt_dets),
        predictions=_detections(preds),
        baseline=_detections(baseline),
        tags=[tag],
    )


#: what the demo dataset of this version looks like; ``info["demo"]`` holds
#: it, so that an older or different dataset is never taken for it
DEMO_VERSION = 3


def demo_info(*, seed: int = 51, num_samples: int = 200) -> dict:
    """The ``info["demo"]`` of the demo dataset built with these settings."""
    return {"seed": seed, "num_samples": num_samples, "version": DEMO_VERSION}


def make_demo_dataset(
    name: str = DEMO_DATASET_NAME,
    *,
    num_samples: int = 200,
    seed: int = 51,
    images_dir: str | None = None,
    overwrite: bool = False,
    persistent: bool = False,
) -> "fo.Dataset":
    """Creates a synthetic detection dataset with simulated predictions.

    Each image shows 0-6 coloured shapes (``car``: red rectangle, ``person``:
    blue ellipse, ``bicycle``: green triangle) stored in a ``ground_truth``
    field. A ``predictions`` field holds a simulated detector's output whose
    confidence increases with box quality, plus false positives, duplicates
    and occasional wrong labels; a ``baseline`` field a second, weaker
    model's, to compare with. Every fourth sample is tagged ``val``, the
    others ``train``, for choosing a threshold on one split and checking it
    on the other.

    Args:
        name (DEMO_DATASET_NAME): the name of the dataset
        num_samples (200): the number of samples
        seed (51): the random seed; the same seed gives the same labels
        images_dir (None): where to write the images. By default,
            ``os.path.join(fo.config.default_dataset_dir, name)`` is used.
            Existing images with the expected filenames are reused
        overwrite (False): whether to delete an existing dataset of the same
            name. If False and the dataset exists, a ``ValueError`` is raised
        persistent (False): whether to make the dataset persistent

    Returns:
        the :class:`fiftyone.core.dataset.Dataset`
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be an integer >= 1; got {num_samples!r}")
    if fo.dataset_exists(name):
        if not overwrite:
            raise ValueError(
                f"Dataset '{name}' already exists; pass overwrite=True to "
                "replace it (or delete it first)"
            )
        fo.delete_dataset(name)

    if images_dir is None:
        images_dir = os.path.join(fo.config.default_dataset_dir, name)
    os.makedirs(images_dir, exist_ok=True)

    rng = np.random.default_rng(seed)
    baseline_rng = np.random.default_rng([seed, 7])  # the weaker model's own
    samples = []
    for i in range(num_samples):
        objects, preds = _random_labels(rng)
        baseline = _detect_baseline(baseline_rng, objects)

        filepath = os.path.join(images_dir, f"demo-{seed}-{i:05d}.png")
        if not os.path.isfile(filepath):
            _draw_image(filepath, seed, i, objects)

        tag = "val" if i % 4 == 3 else "train"
        samples.append(_make_sample(filepath, objects, preds, baseline, tag))

    dataset = fo.Dataset(name)
    dataset.add_samples(samples)
    dataset.info["demo"] = demo_info(seed=seed, num_samples=num_samples)
    dataset.save()
    dataset.persistent = persistent
    logger.info("Created demo dataset '%s' with %d samples", name, num_samples)
    return dataset


def load_demo_dataset(num_samples: int = 200, *, rebuild: bool = False) -> fo.Dataset:
    """The demo dataset :data:`DEMO_DATASET_NAME`: the existing one when it
    is the demo of this size that this version builds, else built (locally,
    nothing is downloaded) and kept.

    Args:
        num_samples (200): the number of images
        rebuild (False): whether to delete the dataset of that name and
            build the demo anew; without it, a different dataset holding the
            name is never deleted

    Raises:
        ValueError: if a different dataset holds the name and ``rebuild``
            is False
    """
    name = DEMO_DATASET_NAME
    if fo.dataset_exists(name) and not rebuild:
        dataset = fo.load_dataset(name)
        if dataset.info.get("demo") == demo_info(num_samples=num_samples):
            return dataset
        raise ValueError(
            f"Dataset '{name}' exists but is not the demo dataset of "
            f"{num_samples} samples this version builds; add --rebuild-demo "
            f"(rebuild=True) to delete it and build the demo anew"
        )
    return make_demo_dataset(name, num_samples=num_samples, overwrite=True, persistent=True)
