"""Benchmark: the sweep against the ways it replaces.

Builds a dataset of N images (about 6 ground truth and 6 predicted boxes
each, continuous confidences) in a database of its own, then measures, in
one run and on the same data:

-   ``floor``: reading the boxes, labels and confidences of both fields with
    ``values()``, the least any sweep must do;
-   ``fast sweep``: ``compute_optimal_confidence`` with the default engine
    (the fast exact matcher), the exact sweep at every distinct confidence;
-   ``evaluate_detections sweep``: the same with ``engine="fiftyone"`` (one
    ``evaluate_detections`` pass);
-   ``one evaluate_detections``: one ``evaluate_detections(eval_key=None)``
    call, the matching pass alone;
-   ``old way``: per threshold, ``filter_labels`` + ``evaluate_detections``
    with an eval key + summing the counts + deleting the evaluation, timed on
    a few thresholds and extrapolated to 100;
-   the fast sweep again in a fresh process, for its peak memory (the
    largest resident set of that process);
-   three models against the same ground truth: three separate sweeps, and
    one ``compare_models`` call (the ground truth read once);
-   1000 bootstrap resamples of the result;
-   the App's side: storing the result as a run, the curves panel loading
    it (its ``on_load`` through ``execute_operator``, as the App calls it,
    with the size of what it sends) and the exact counts at a clicked
    threshold.

Each line gives the time and its ratio to the floor. Not part of the test
run; usage::

    .venv/bin/python tests/benchmarks/bench_sweep.py              # 2000 images
    .venv/bin/python tests/benchmarks/bench_sweep.py --n 100000   # scale: the
        # evaluate_detections steps are skipped above --slow-limit images
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("FIFTYONE_DATABASE_NAME", "optimal_confidence_bench")
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

# the plugin, for the panel step: a plugins directory that links to ROOT
import tempfile  # noqa: E402

_PLUGINS = tempfile.mkdtemp(prefix="oc-bench-plugins-")
os.symlink(ROOT, os.path.join(_PLUGINS, "optimal_confidence"))
os.environ["FIFTYONE_PLUGINS_DIR"] = _PLUGINS

import numpy as np  # noqa: E402
from bson import ObjectId  # noqa: E402

import fiftyone as fo  # noqa: E402
from fiftyone import ViewField as F  # noqa: E402

from optimal_confidence import compare_models, compute_optimal_confidence  # noqa: E402

CLASSES = ["person", "car", "bicycle", "dog", "cat"]


def _image_labels(rng: np.random.Generator):
    """Ground truth boxes of one image and a simulated detector's output:
    most objects found with a jittered box and a confidence that grows with
    box quality, some wrong labels, some random false alarms."""
    k = rng.poisson(6)
    wh = rng.uniform(0.05, 0.3, size=(k, 2))
    xy = rng.uniform(0, 1, size=(k, 2)) * (1 - wh)
    boxes = np.hstack([xy, wh])
    labels = rng.choice(CLASSES, size=k)
    gts = [(str(l), b.tolist(), None) for l, b in zip(labels, boxes)]
    preds = []
    for l, b in zip(labels, boxes):
        if rng.random() < 0.85:
            noise = rng.normal(0, 0.08)
            pb = np.clip(b + noise * np.array([b[2], b[3], b[2], b[3]]), 0, 1)
            conf = float(np.clip(0.9 - 4 * abs(noise) + rng.normal(0, 0.1), 0, 1))
            label = str(l) if rng.random() < 0.9 else str(rng.choice(CLASSES))
            preds.append((label, pb.tolist(), conf))
    for _ in range(rng.poisson(1.0)):
        wh1 = rng.uniform(0.05, 0.3, size=2)
        xy1 = rng.uniform(0, 1, size=2) * (1 - wh1)
        preds.append(
            (str(rng.choice(CLASSES)), np.hstack([xy1, wh1]).tolist(), float(rng.beta(2, 5)))
        )
    return gts, preds


#: the other models of the comparison step
OTHER_MODELS = ("predictions_b", "predictions_c")


def _other_model(rng: np.random.Generator, preds):
    """Another detector on the same image: most of the predictions, their
    confidences jittered."""
    return [
        (label, box, float(np.clip(conf + rng.normal(0, 0.1), 0, 1)))
        for label, box, conf in preds
        if rng.random() < 0.9
    ]


def _raw_detections(objects):
    dets = []
    for label, box, conf in objects:
        d = {
            "_cls": "Detection",
            "_id": ObjectId(),
            "attributes": {},
            "bounding_box": box,
            "label": label,
            "tags": [],
        }
        if conf is not None:
            d["confidence"] = conf
        dets.append(d)
    return {"_cls": "Detections", "detections": dets}


def build_dataset(name: str, n: int, seed: int) -> fo.Dataset:
    """N images of ``_image_labels``. The first goes through FiftyOne (which
    declares the schema); the rest are inserted as raw documents of the same
    shape, so that 100,000 images build in about a minute."""
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    dataset = fo.Dataset(name)
    rng = np.random.default_rng(seed)

    def dets(objects):
        return fo.Detections(
            detections=[
                fo.Detection(label=l, bounding_box=b, confidence=c) for l, b, c in objects
            ]
        )

    other_rng = np.random.default_rng([seed, 1])  # the data of the other steps stays
    gts, preds = _image_labels(rng)
    dataset.add_sample(
        fo.Sample(
            filepath="/nonexistent/bench/000000.jpg",
            ground_truth=dets(gts),
            predictions=dets(preds),
            **{f: dets(_other_model(other_rng, preds)) for f in OTHER_MODELS},
        )
    )
    template = dataset._sample_collection.find_one()
    coll = dataset._sample_collection
    batch = []
    for i in range(1, n):
        gts, preds = _image_labels(rng)
        doc = {
            "_id": ObjectId(),
            "_dataset_id": template["_dataset_id"],
            "_media_type": "image",
            "_rand": float(rng.random()),
            "created_at": template["created_at"],
            "last_modified_at": template["last_modified_at"],
            "filepath": f"/nonexistent/bench/{i:06d}.jpg",
            "tags": [],
            "ground_truth": _raw_detections(gts),
            "predictions": _raw_detections(preds),
            **{f: _raw_detections(_other_model(other_rng, preds)) for f in OTHER_MODELS},
        }
        batch.append(doc)
        if len(batch) == 5000:
            coll.insert_many(batch)
            batch = []
    if batch:
        coll.insert_many(batch)
    dataset.reload()
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


def _peak_memory_child(name: str) -> dict:
    """Runs the fast sweep in a fresh process and returns its time and
    peak resident memory (before and after the sweep)."""
    code = f"""
import json, os, sys, time
sys.path.insert(0, {ROOT!r})

def hwm_mb():
    # VmHWM: this process's peak resident set (ru_maxrss would carry the
    # parent's peak across exec on Linux)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

import fiftyone as fo
from optimal_confidence import compute_optimal_confidence
ds = fo.load_dataset({name!r})
len(ds)
before = hwm_mb()
start = time.perf_counter()
r = compute_optimal_confidence(ds, "predictions", progress=False)
elapsed = time.perf_counter() - start
print(json.dumps(dict(seconds=elapsed, before_mb=before, peak_mb=hwm_mb(),
                      thresholds=r.num_thresholds)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def panel_load(dataset: fo.Dataset) -> int:
    """The curves panel's ``on_load`` on the newest run, as the App calls it
    (in a new process the first load reads the run from the database);
    returns the bytes it sends to the App."""
    import fiftyone.operators as foo

    res = foo.execute_operator(
        "@threshold-lab/optimal_confidence/confidence_curves",
        ctx=dict(
            dataset=dataset,
            params=dict(__method__="on_load", panel_id="bench", panel_state={}),
        ),
    )
    sent = [r.params for r in res.executor._requests]
    assert any("plots.threshold" in p.get("data", {}) for p in sent), sent
    return sum(len(json.dumps(p, default=str)) for p in sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--old", type=int, default=2,
        help="thresholds to time the old way on, extrapolated to 100 (0: skip)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the fast steps")
    parser.add_argument(
        "--slow-limit", type=int, default=20000,
        help="skip the evaluate_detections steps above this many images",
    )
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

    t_fast, result = timed(
        lambda: compute_optimal_confidence(dataset, "predictions", progress=False),
        args.repeat,
    )
    assert result.config.method == "fast"
    rows.append((f"fast sweep ({result.num_thresholds} thresholds)", t_fast))

    slow = args.n <= args.slow_limit
    if slow:
        t_sweep, slow_result = timed(
            lambda: compute_optimal_confidence(
                dataset, "predictions", engine="fiftyone", progress=False
            )
        )
        # the two engines must agree exactly
        for k in ("thresholds", "tp", "fp", "fn"):
            assert np.array_equal(getattr(result, k), getattr(slow_result, k)), k
        rows.append(("evaluate_detections sweep (same curve)", t_sweep))
        t_eval, _ = timed(
            lambda: dataset.evaluate_detections(
                "predictions", gt_field="ground_truth", eval_key=None, progress=False
            )
        )
        rows.append(("one evaluate_detections(eval_key=None)", t_eval))

    if slow and args.old > 0:
        ts = np.linspace(0.1, 0.9, args.old)
        t_old, _ = timed(lambda: [old_way_one_threshold(dataset, t) for t in ts])
        per = t_old / args.old
        rows.append((f"old way, per threshold ({args.old} timed)", per))
        rows.append(("old way, 100 thresholds (extrapolated)", 100 * per))

    # three models against one ground truth: separate sweeps, and one
    # comparison that reads the ground truth once (the same curves)
    fields = ["predictions", *OTHER_MODELS]
    t_sep, separate = timed(
        lambda: [compute_optimal_confidence(dataset, f, progress=False) for f in fields]
    )
    rows.append(("3 models: 3 separate fast sweeps", t_sep))
    t_cmp, cmp = timed(lambda: compare_models(dataset, fields, progress=False))
    for f, alone in zip(fields, separate):
        for k in ("thresholds", "tp", "fp", "fn"):
            assert np.array_equal(getattr(cmp.results[f], k), getattr(alone, k)), (f, k)
    rows.append((f"3 models: compare_models (x{t_sep / t_cmp:.2f} faster)", t_cmp))

    t_boot, _ = timed(lambda: result.with_bootstrap(1000, seed=0))
    rows.append(("1000 bootstrap resamples of the result", t_boot))

    # the App's side
    t_store, _ = timed(
        lambda: compute_optimal_confidence(
            dataset, "predictions", run_key="bench", overwrite=True, progress=False
        )
    )
    rows.append(("fast sweep + storing it as a run", t_store))
    t_panel, sent = timed(lambda: panel_load(dataset))
    rows.append((f"panel: load the run, send curves ({sent / 1e6:.2f} MB)", t_panel))
    t_click, _ = timed(lambda: result.counts_at(0.7), args.repeat)
    rows.append(("panel click: exact counts at a threshold", t_click))

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'time':>9}  {'x floor':>8}")
    for label, t in rows:
        print(f"{label:<{width}}  {t:>8.2f}s  {t / t_floor:>8.2f}")

    mem = _peak_memory_child(name)
    print(
        f"\nfast sweep in a fresh process: {mem['seconds']:.2f} s, peak memory "
        f"{mem['peak_mb']:.0f} MB ({mem['before_mb']:.0f} MB after loading the dataset)"
    )
    print(f"fast sweep: {t_fast / t_floor:.2f}x the floor")
    if slow:
        print(
            f"fast sweep: {t_eval / t_fast:.1f}x faster than one evaluate_detections "
            f"call, {t_sweep / t_fast:.1f}x faster than the evaluate_detections sweep"
            + (f", {100 * per / t_fast:.0f}x faster than the old way over 100 thresholds" if args.old > 0 else "")
        )
        print(
            f"evaluate_detections sweep: {t_sweep / t_eval:.2f}x one evaluate_detections call"
        )
    print(
        f"best threshold {result.best_threshold:.3f}: F1 {result.best_f1:.3f}, "
        f"P {result.best_precision:.3f}, R {result.best_recall:.3f}"
    )

    if not args.keep:
        dataset.delete()
    os.unlink(os.path.join(_PLUGINS, "optimal_confidence"))
    os.rmdir(_PLUGINS)


if __name__ == "__main__":
    main()
