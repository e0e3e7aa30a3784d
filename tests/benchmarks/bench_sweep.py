"""Benchmark: the one-pass sweep against the ways it replaces.

Builds a dataset of N images (about 6 ground truth and 6 predicted boxes
each, continuous confidences) in a database of its own, then measures, in
one run and on the same data:

-   ``floor``: reading the boxes, labels and confidences of both fields with
    ``values()``, the least any sweep must do;
-   ``compute_optimal_confidence``: the exact sweep at every distinct
    confidence;
-   ``evaluate_detections``: one ``evaluate_detections(eval_key=None)``
    call, the matching pass alone;
-   ``old way``: per threshold, ``filter_labels`` + ``evaluate_detections``
    with an eval key + summing the counts + deleting the evaluation, timed on
    a few thresholds and extrapolated to 100.

Each line gives the time and its ratio to the floor. Not part of the test
run; usage::

    .venv/bin/python tests/benchmarks/bench_sweep.py            # 2000 images
    .venv/bin/python tests/benchmarks/bench_sweep.py --n 500 --old 1
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time

os.environ.setdefault("FIFTYONE_DATABASE_NAME", "optimal_confidence_bench")
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import fiftyone as fo  # noqa: E402
from fiftyone import ViewField as F  # noqa: E402

from optimal_confidence import compute_optimal_confidence  # noqa: E402

CLASSES = ["person", "car", "bicycle", "dog", "cat"]


def build_dataset(name: str, n: int, seed: int) -> fo.Dataset:
    """N images with ~6 ground truth boxes each and a simulated detector:
    most objects found with a jittered box and a confidence that grows with
    box quality, some wrong labels, some random false alarms."""
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    dataset = fo.Dataset(name)
    rng = np.random.default_rng(seed)

    samples = []
    for i in range(n):
        k = rng.poisson(6)
        wh = rng.uniform(0.05, 0.3, size=(k, 2))
        xy = rng.uniform(0, 1, size=(k, 2)) * (1 - wh)
        boxes = np.hstack([xy, wh])
        labels = rng.choice(CLASSES, size=k)
        gts = [
            fo.Detection(label=str(l), bounding_box=b.tolist())
            for l, b in zip(labels, boxes)
        ]
        preds = []
        for l, b in zip(labels, boxes):
            if rng.random() < 0.85:
                noise = rng.normal(0, 0.08)
                pb = b + noise * np.array([b[2], b[3], b[2], b[3]])
                pb = np.clip(pb, 0, 1).tolist()
                conf = float(np.clip(0.9 - 4 * abs(noise) + rng.normal(0, 0.1), 0, 1))
                label = str(l) if rng.random() < 0.9 else str(rng.choice(CLASSES))
                preds.append(fo.Detection(label=label, bounding_box=pb, confidence=conf))
        for _ in range(rng.poisson(1.0)):
            wh = rng.uniform(0.05, 0.3, size=2)
            xy = rng.uniform(0, 1, size=2) * (1 - wh)
            preds.append(
                fo.Detection(
                    label=str(rng.choice(CLASSES)),
                    bounding_box=np.hstack([xy, wh]).tolist(),
                    confidence=float(rng.beta(2, 5)),
                )
            )
        samples.append(
            fo.Sample(
                filepath=f"/nonexistent/bench/{i:06d}.jpg",
                ground_truth=fo.Detections(detections=gts),
                predictions=fo.Detections(detections=preds),
            )
        )
    dataset.add_samples(samples, progress=False)
    return dataset


def timed(fn, repeat: int = 1):
    """Best wall time of ``repeat`` calls, and the last return value."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def read_floor(dataset: fo.Dataset):
    paths = []
    for field in ("predictions", "ground_truth"):
        for attr in ("label", "bounding_box", "confidence"):
            paths.append(f"{field}.detections.{attr}")
    return dataset.values(paths)


def old_way_one_threshold(dataset: fo.Dataset, t: float) -> tuple[int, int, int]:
    """What threshold tools do today: filter, evaluate with a key, sum."""
    view = dataset.filter_labels("predictions", F("confidence") >= t, only_matches=True)
    view.evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="bench_old", progress=False
    )
    counts = tuple(int(view.sum(f"bench_old_{k}")) for k in ("tp", "fp", "fn"))
    dataset.delete_evaluation("bench_old")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--old", type=int, default=2,
        help="thresholds to time the old way on, extrapolated to 100 (0: skip)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the fast steps")
    parser.add_argument("--keep", action="store_true", help="keep the dataset")
    args = parser.parse_args()
    # "Evaluating detections..." and the like would break up the table
    logging.getLogger("fiftyone").setLevel(logging.WARNING)

    name = f"oc-bench-{args.n}"
    t_build, dataset = timed(lambda: build_dataset(name, args.n, args.seed))
    num_gt = dataset.count("ground_truth.detections")
    num_pred = dataset.count("predictions.detections")

    print(
        f"{platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, FiftyOne {fo.__version__}"
    )
    print(
        f"{args.n} images, {num_gt} ground truth boxes, {num_pred} predictions "
        f"(built in {t_build:.1f} s)\n"
    )

    rows = []
    t_floor, _ = timed(lambda: read_floor(dataset), args.repeat)
    rows.append(("floor: values() of both fields", t_floor))

    t_sweep, result = timed(
        lambda: compute_optimal_confidence(dataset, "predictions", progress=False),
        args.repeat,
    )
    rows.append(
        (f"compute_optimal_confidence ({result.num_thresholds} thresholds)", t_sweep)
    )

    t_eval, _ = timed(
        lambda: dataset.evaluate_detections(
            "predictions", gt_field="ground_truth", eval_key=None, progress=False
        )
    )
    rows.append(("one evaluate_detections(eval_key=None)", t_eval))

    if args.old > 0:
        ts = np.linspace(0.1, 0.9, args.old)
        t_old, _ = timed(lambda: [old_way_one_threshold(dataset, t) for t in ts])
        per = t_old / args.old
        rows.append((f"old way, per threshold ({args.old} timed)", per))
        rows.append(("old way, 100 thresholds (extrapolated)", 100 * per))

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'time':>9}  {'x floor':>8}")
    for label, t in rows:
        print(f"{label:<{width}}  {t:>8.2f}s  {t / t_floor:>8.1f}")

    print(
        f"\ncompute_optimal_confidence is {t_eval / t_sweep:.2f}x the speed of one "
        f"evaluate_detections call"
        + (
            f" and {100 * per / t_sweep:.0f}x the old way over 100 thresholds"
            if args.old > 0
            else ""
        )
    )
    print(
        f"best threshold {result.best_threshold:.3f}: F1 {result.best_f1:.3f}, "
        f"P {result.best_precision:.3f}, R {result.best_recall:.3f}"
    )

    if not args.keep:
        dataset.delete()


if __name__ == "__main__":
    main()
