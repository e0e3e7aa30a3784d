"""Benchmark: each step of a sweep against the raw read, from 2,000 to a
million images.

For each size (2,000 and 100,000 images by default; ``--n 1000000`` adds a
million, ``--sizes`` chooses), on one dataset of that size (about 6 ground
truth and 6 predicted boxes per image, continuous confidences, two more
models for the comparison), it prints rows ``step | time | x raw read``:

-   ``raw read``: ``values(paths, _raw=True)`` of both fields' label,
    bounding_box and confidence and the ground truth's ``iscrowd``, one
    call: the least any sweep must do (``_raw=True`` skips mongoengine's
    conversion of every value, as the fast matcher does; before #22 this
    row was ``values()`` without it, 2x slower); and the same read with
    Python's garbage collector paused, as the fast matcher reads;
-   the sweep (``compute_optimal_confidence``, the fast exact matcher) in one
    process (``num_workers=1``) and with ``num_workers=2`` (checked equal:
    thresholds, tp, fp, fn);
-   three models against one ground truth: the raw read of their paths,
    three separate sweeps, and one ``compare_models`` call (K=3, the ground
    truth read once; checked equal), both in one process;
-   1000 bootstrap resamples of the result (up to 100,000 images);
-   up to ``--slow-limit`` images (2,000 by default): the same sweep with
    ``engine="fiftyone"``, one ``evaluate_detections`` call, and the old way
    (filter + evaluate with a key + sum, per threshold; extrapolated to 100);
-   up to 100,000 images, the App's side: the sweep stored as a run, the
    curves panel loading it, a click's exact counts.

The raw read and the sweeps are run in turn (A, B, C, A, B, C, ...) and
each row keeps its best of ``--repeat``, so that the ratios compare
neighbours on a shared machine. Then the sweep runs again in a fresh
process, for its peak resident memory (``VmHWM``), with and without workers.
With a million images it also prints the sweep's time against its time at
100,000 images (the aim: under 11x) and its peak memory (under 2 GB).

Datasets are named by builder version, size and seed and kept for the next
run (building a million images takes minutes): ``--rebuild`` builds them
anew, ``--drop`` deletes them at the end. They live in the database
``optimal_confidence_bench`` (``FIFTYONE_DATABASE_NAME`` overrides it).
Not part of the test run; usage::

    .venv/bin/python tests/benchmarks/bench_sweep.py                # 2,000 and 100,000
    .venv/bin/python tests/benchmarks/bench_sweep.py --n 1000000    # and a million
    .venv/bin/python tests/benchmarks/bench_sweep.py --sizes 2000 --check-builder
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

os.environ.setdefault("FIFTYONE_DATABASE_NAME", "optimal_confidence_bench")
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

# the plugin, for the panel step: a plugins directory that links to ROOT
_PLUGINS = tempfile.mkdtemp(prefix="oc-bench-plugins-")
os.symlink(ROOT, os.path.join(_PLUGINS, "optimal_confidence"))
os.environ["FIFTYONE_PLUGINS_DIR"] = _PLUGINS

import bson  # noqa: E402
import numpy as np  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

import fiftyone as fo  # noqa: E402
from fiftyone import ViewField as F  # noqa: E402

from optimal_confidence import compare_models, compute_optimal_confidence  # noqa: E402

# --------------------------------------------------------------------------
# The data: labels generated with numpy for a chunk of images at once, and
# written as the BSON documents FiftyOne writes
# --------------------------------------------------------------------------

CLASSES = ["person", "car", "bicycle", "dog", "cat"]

#: the other models of the comparison step
OTHER_MODELS = ("predictions_b", "predictions_c")

#: the label fields, in the order the first sample declares them
FIELDS = ("ground_truth", "predictions", *OTHER_MODELS)

#: in the dataset names: a new builder (other data for the same seed) gets a
#: new number, so that an old dataset is never reused for new figures
BUILDER_VERSION = 2

#: images generated, encoded and inserted at a time
CHUNK = 10_000


@dataclass
class Objects:
    """The objects of one label field over a chunk of images, image after
    image: ``counts[i]`` objects for image ``i``."""

    counts: np.ndarray  # (m,) int64
    label: np.ndarray  # (n,) index into CLASSES
    box: np.ndarray  # (n, 4) float64, [x, y, w, h]
    conf: np.ndarray | None  # (n,) float64, None for ground truth


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    wh = rng.uniform(0.05, 0.3, size=(n, 2))
    xy = rng.uniform(0, 1, size=(n, 2)) * (1 - wh)
    return np.hstack([xy, wh])


def chunk_labels(rng: np.random.Generator, m: int) -> dict[str, Objects]:
    """The four label fields of ``m`` images.

    Per image (the shape of the benchmark since its first version): Poisson(6)
    ground truth boxes (sides 0.05-0.3, labels uniform over 5 classes); the
    detector finds each with probability 0.85, its box jittered by a
    N(0, 0.08) fraction of the box's sides and its confidence
    0.9 - 4 |jitter| + N(0, 0.1) clipped to [0, 1], its label wrong with
    probability 0.1; then Poisson(1) false alarms (random boxes and labels,
    Beta(2, 5) confidences). The two other models keep each prediction with
    probability 0.9 and jitter its confidence by N(0, 0.1), clipped.
    """
    k = rng.poisson(6, m)
    g = int(k.sum())
    gt_box = _random_boxes(rng, g)
    gt_label = rng.integers(0, len(CLASSES), g)
    gt_img = np.repeat(np.arange(m), k)

    found = rng.random(g) < 0.85
    noise = rng.normal(0, 0.08, g)
    hit_box = np.clip(gt_box + noise[:, None] * gt_box[:, [2, 3, 2, 3]], 0, 1)
    hit_conf = np.clip(0.9 - 4 * np.abs(noise) + rng.normal(0, 0.1, g), 0, 1)
    wrong = rng.random(g) >= 0.9
    hit_label = np.where(wrong, rng.integers(0, len(CLASSES), g), gt_label)

    f = rng.poisson(1.0, m)
    nf = int(f.sum())
    fa_box = _random_boxes(rng, nf)
    fa_label = rng.integers(0, len(CLASSES), nf)
    fa_conf = rng.beta(2, 5, nf)

    # each image's found objects first, then its false alarms
    img = np.concatenate([gt_img[found], np.repeat(np.arange(m), f)])
    order = np.argsort(img, kind="stable")
    pred_img = img[order]
    pred = Objects(
        np.bincount(pred_img, minlength=m),
        np.concatenate([hit_label[found], fa_label])[order],
        np.concatenate([hit_box[found], fa_box])[order],
        np.concatenate([hit_conf[found], fa_conf])[order],
    )
    out = {"ground_truth": Objects(k, gt_label, gt_box, None), "predictions": pred}
    for field in OTHER_MODELS:
        keep = rng.random(len(pred_img)) < 0.9
        conf = np.clip(pred.conf[keep] + rng.normal(0, 0.1, int(keep.sum())), 0, 1)
        out[field] = Objects(
            np.bincount(pred_img[keep], minlength=m), pred.label[keep], pred.box[keep], conf
        )
    return out


def _i32(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype="<i4")).view(np.uint8).reshape(-1, 4)


def _f64(x) -> np.ndarray:
    return np.ascontiguousarray(np.atleast_1d(x), dtype="<f8").view(np.uint8).reshape(-1, 8)


def _put(buf: np.ndarray, offsets: np.ndarray, data) -> None:
    """Writes ``data`` (bytes, or one row of bytes per offset) at each offset."""
    if isinstance(data, bytes):
        data = np.frombuffer(data, dtype=np.uint8)
    buf[offsets[:, None] + np.arange(data.shape[-1])] = data


def _cstr(s: str) -> bytes:
    return s.encode() + b"\x00"


_EMPTY = b"\x05\x00\x00\x00\x00"  # an empty document or array
_DETECTION_CONSTANTS = (
    b"\x02" + _cstr("_cls") + _i32(10).tobytes() + _cstr("Detection")
    + b"\x03" + _cstr("attributes") + _EMPTY
    + b"\x04" + _cstr("tags") + _EMPTY
)  # 48 bytes, after the 21 of the length and _id
_LABEL_ELEMENTS = [
    b"\x02" + _cstr("label") + _i32(len(c) + 1).tobytes() + _cstr(c) for c in CLASSES
]
_LABEL_LEN = np.array([len(c) for c in CLASSES])
_DETECTIONS_HEAD = b"\x02" + _cstr("_cls") + _i32(11).tobytes() + _cstr("Detections")


def object_ids(rng: np.random.Generator, n: int, timestamp: int, first: int = 0) -> np.ndarray:
    """``n`` ObjectIds as FiftyOne's driver makes them: a timestamp, 5
    random bytes (here one draw per call) and a counter, big-endian."""
    ids = np.empty((n, 12), dtype=np.uint8)
    ids[:, :4] = np.frombuffer(int(timestamp).to_bytes(4, "big"), dtype=np.uint8)
    ids[:, 4:9] = rng.integers(0, 256, 5, dtype=np.uint8)
    counter = (first + np.arange(n)).astype(">u4").view(np.uint8).reshape(-1, 4)
    ids[:, 9:] = counter[:, 1:]
    return ids


def detections_bson(obj: Objects, ids: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The BSON of each image's ``Detections`` document, as FiftyOne writes
    it: ``{_cls: "Detections", detections: [{_id, _cls: "Detection",
    attributes: {}, tags: [], label, bounding_box, confidence}, ...]}``
    (no ``confidence`` key when it is None).

    Returns:
        the documents one after the other, and the offsets where each image's
        starts (with the end as last offset)
    """
    m, n = len(obj.counts), len(obj.label)
    img = np.repeat(np.arange(m), obj.counts)
    first = np.cumsum(obj.counts) - obj.counts  # each image's first object
    pos = np.arange(n) - first[img]  # the array index: the element's key
    digits = np.ones(n, dtype=np.int64)
    for p in (10, 100, 1000):
        digits += pos >= p
    size = (145 if obj.conf is None else 165) + _LABEL_LEN[obj.label]  # a Detection
    elem = 2 + digits + size  # \x03, the key, \x00, the document
    content = np.bincount(img, weights=elem, minlength=m).astype(np.int64)
    doc = 43 + content  # length, _cls, "detections" + the array's length; 2 ends
    start = np.concatenate([[0], np.cumsum(doc)])
    buf = np.zeros(int(start[-1]), dtype=np.uint8)
    head = start[:-1]
    _put(buf, head, _i32(doc))
    _put(buf, head + 4, _DETECTIONS_HEAD)
    _put(buf, head + 25, b"\x04" + _cstr("detections"))
    _put(buf, head + 37, _i32(content + 5))

    excl = np.cumsum(elem) - elem
    at = head[img] + 41 + excl - (np.cumsum(content) - content)[img]
    buf[at] = 3
    for d in range(1, 5):
        sel = digits == d
        if sel.any():
            p = pos[sel]
            key = np.stack([48 + (p // 10 ** (d - 1 - j)) % 10 for j in range(d)], axis=1)
            _put(buf, at[sel] + 1, key.astype(np.uint8))
    at = at + 2 + digits  # the Detection documents
    _put(buf, at, _i32(size))
    _put(buf, at + 4, b"\x07" + _cstr("_id"))
    _put(buf, at + 9, ids)
    _put(buf, at + 21, _DETECTION_CONSTANTS)
    for c, element in enumerate(_LABEL_ELEMENTS):
        sel = obj.label == c
        _put(buf, at[sel] + 69, element)
    at = at + 81 + _LABEL_LEN[obj.label]  # bounding_box
    _put(buf, at, b"\x04" + _cstr("bounding_box") + _i32(49).tobytes())
    for j in range(4):
        _put(buf, at + 18 + 11 * j, b"\x01" + _cstr(str(j)))
        _put(buf, at + 21 + 11 * j, _f64(obj.box[:, j]))
    if obj.conf is not None:
        _put(buf, at + 63, b"\x01" + _cstr("confidence"))
        _put(buf, at + 75, _f64(obj.conf))
    return buf.tobytes(), start


def _element(key: str, value) -> bytes:
    """One BSON element, as pymongo encodes it."""
    return bson.encode({key: value})[4:-1]


def fo_detections(obj: Objects, i: int, first: int) -> fo.Detections:
    """Image ``i``'s objects as FiftyOne labels (``first``: its first
    object's index)."""
    rows = range(first, first + int(obj.counts[i]))
    return fo.Detections(
        detections=[
            fo.Detection(
                label=CLASSES[obj.label[j]],
                bounding_box=obj.box[j].tolist(),
                confidence=None if obj.conf is None else float(obj.conf[j]),
            )
            for j in rows
        ]
    )


def fo_samples(labels: dict[str, Objects], start: int, images: range) -> list[fo.Sample]:
    """Some images of a chunk as FiftyOne samples (``start``: the chunk's
    first image number)."""
    firsts = {f: np.cumsum(o.counts) - o.counts for f, o in labels.items()}
    return [
        fo.Sample(
            filepath=_filepath(start + i),
            **{f: fo_detections(labels[f], i, int(firsts[f][i])) for f in FIELDS},
        )
        for i in images
    ]


def _filepath(i: int) -> str:
    return f"/nonexistent/bench/{i:07d}.jpg"


def raw_samples(
    labels: dict[str, Objects], rng: np.random.Generator, start: int, ids: np.ndarray,
    tail: bytes, timestamp: int,
) -> list[bytes]:
    """The chunk's sample documents, as FiftyOne writes them: ``_id``,
    ``filepath``, ``tags``, ``_media_type``, ``_rand``, the label fields,
    then ``tail`` (``_dataset_id``, ``created_at``, ``last_modified_at``)."""
    fields = []
    for k, f in enumerate(FIELDS):
        obj = labels[f]
        det_ids = object_ids(rng, len(obj.label), timestamp)
        fields.append((b"\x03" + _cstr(f), *detections_bson(obj, det_ids)))
    rand = (0.999 + 0.001 * rng.random(len(ids))).tolist()
    tags, media = _element("tags", []), _element("_media_type", "image")
    pack, docs = struct.pack, []
    for i, oid in enumerate(ids.tobytes()[j : j + 12] for j in range(0, 12 * len(ids), 12)):
        path = _filepath(start + i).encode()
        body = [b"\x07_id\x00", oid, b"\x02filepath\x00", pack("<i", len(path) + 1), path,
                b"\x00", tags, media, b"\x01_rand\x00", pack("<d", rand[i])]
        for key, buf, off in fields:
            body += (key, buf[off[i] : off[i + 1]])
        body.append(tail)
        body = b"".join(body)
        docs.append(pack("<i", len(body) + 5) + body + b"\x00")
    return docs


def build_dataset(name: str, n: int, seed: int) -> fo.Dataset:
    """``n`` images of :func:`chunk_labels`. The first goes through FiftyOne
    (which declares the schema); the rest are written as raw BSON documents
    of the same shape, :data:`CHUNK` at a time, each chunk inserted while
    the next is built."""
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    dataset = fo.Dataset(name)
    first = None
    coll = dataset._sample_collection
    pending = None
    with ThreadPoolExecutor(1) as pool:
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            rng = np.random.default_rng([seed, start // CHUNK])
            labels = chunk_labels(rng, m)
            if first is None:
                dataset.add_samples(fo_samples(labels, 0, range(1)), progress=False)
                first = coll.find_one()
                tail = b"".join(
                    _element(k, first[k]) for k in ("_dataset_id", "created_at", "last_modified_at")
                )
                # after the first sample's id, in insertion order
                timestamp = int(first["_id"].generation_time.timestamp()) + 1
            ids = object_ids(np.random.default_rng([seed, 2**32]), m, timestamp, start)
            docs = raw_samples(labels, rng, start, ids, tail, timestamp)
            if start == 0:
                docs = docs[1:]
            if pending is not None:
                pending.result()
            if docs:
                pending = pool.submit(
                    coll.insert_many, [RawBSONDocument(d) for d in docs], ordered=True
                )
        if pending is not None:
            pending.result()
    dataset.reload()
    return dataset


def dataset_for(n: int, seed: int, rebuild: bool) -> tuple[fo.Dataset, str]:
    """The kept dataset of ``n`` images, built if missing, incomplete or
    ``rebuild``; and how it came (built in so many seconds, or reused)."""
    name = f"oc-bench-v{BUILDER_VERSION}-{n}-s{seed}"
    if not rebuild and fo.dataset_exists(name):
        dataset = fo.load_dataset(name)
        built = dataset.info.get("bench_build_seconds")
        if built is not None and len(dataset) == n:
            return dataset, f"reused; built in {built:.0f} s"
    start = time.perf_counter()
    dataset = build_dataset(name, n, seed)
    seconds = time.perf_counter() - start
    dataset.info["bench_build_seconds"] = seconds  # marks it complete
    dataset.save()
    dataset.persistent = True
    return dataset, f"built in {seconds:.1f} s"


#: the raw read's paths: both fields' label, box and confidence, and the
#: ground truth's crowd flag (what the fast matcher reads)
RAW_PATHS = [
    f"{field}.detections.{attr}"
    for field, attrs in (
        ("predictions", ("label", "bounding_box", "confidence")),
        ("ground_truth", ("label", "bounding_box", "confidence", "iscrowd")),
    )
    for attr in attrs
]


def raw_read(dataset: fo.Dataset) -> int:
    columns = dataset.values(RAW_PATHS, _raw=True)
    return len(columns[0])


def raw_read_no_gc(dataset: fo.Dataset) -> int:
    """The raw read with Python's cyclic collector paused, as the fast
    matcher reads: the collector's passes over the millions of decoded
    lists cost more than the decoding."""
    import gc

    gc.disable()
    try:
        return raw_read(dataset)  # its lists are freed before the collector is on
    finally:
        gc.enable()


def alternate(steps: dict, repeat: int) -> dict:
    """Runs the steps in turn ``repeat`` times; each one's best wall time
    and last return value."""
    best = {k: (float("inf"), None) for k in steps}
    for _ in range(repeat):
        for k, fn in steps.items():
            start = time.perf_counter()
            value = fn()
            best[k] = (min(best[k][0], time.perf_counter() - start), value)
    return best


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def sweep(dataset, field="predictions", **kwargs):
    return compute_optimal_confidence(dataset, field, progress=False, **kwargs)


def same_curves(a, b, what) -> None:
    for k in ("thresholds", "tp", "fp", "fn"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), (what, k)


HAS_WORKERS = "num_workers" in inspect.signature(compute_optimal_confidence).parameters
ONE = {"num_workers": 1} if HAS_WORKERS else {}


def old_way_one_threshold(dataset: fo.Dataset, t: float) -> tuple[int, int, int]:
    """What threshold tools do today: filter, evaluate with a key, sum."""
    view = dataset.filter_labels("predictions", F("confidence") >= t, only_matches=True)
    view.evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="bench_old", progress=False
    )
    counts = tuple(int(view.sum(f"bench_old_{k}")) for k in ("tp", "fp", "fn"))
    dataset.delete_evaluation("bench_old")
    return counts


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})

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
r = compute_optimal_confidence(ds, "predictions", progress=False, **{kwargs!r})
elapsed = time.perf_counter() - start
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(dict(seconds=elapsed, before_mb=before, peak_mb=hwm_mb(),
                      worker_mb=workers, thresholds=r.num_thresholds)))
"""


def peak_memory_child(name: str, **kwargs) -> dict:
    """Runs the sweep in a fresh process: its time, its peak resident
    memory before and after the sweep, and its largest worker's."""
    code = _CHILD.format(root=ROOT, name=name, kwargs=kwargs)
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


def _print_rows(rows: list, floor: float) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'time':>9}  {'x raw read':>10}")
    for label, t in rows:
        if t is None:
            print(f"{label:<{width}}  {'-':>9}  {'-':>10}")
        else:
            print(f"{label:<{width}}  {t:>8.2f}s  {t / floor:>10.2f}")


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main_steps(dataset: fo.Dataset, n: int, repeat: int) -> tuple[list, object]:
    """The raw read and the sweeps, in turn; the rows and the result."""
    steps = {
        "raw": lambda: raw_read(dataset),
        "raw_no_gc": lambda: raw_read_no_gc(dataset),
        "one": lambda: sweep(dataset, **ONE),
    }
    if HAS_WORKERS:
        steps["two"] = lambda: sweep(dataset, num_workers=2)
    best = alternate(steps, repeat)
    result = best["one"][1]
    assert result.config.method == "fast"
    rows = [
        (f"raw read: values(_raw=True) of {len(RAW_PATHS)} paths", best["raw"][0]),
        (f"sweep, one process ({result.num_thresholds:,} thresholds)", best["one"][0]),
        ("raw read with the garbage collector paused", best["raw_no_gc"][0]),
    ]
    if HAS_WORKERS:
        same_curves(result, best["two"][1], "num_workers=2")
        rows.append(("sweep, num_workers=2 (same curves)", best["two"][0]))
    else:
        rows.append(("sweep, num_workers=2: not in this version, skipped", None))
    return rows, result


def compare_steps(dataset: fo.Dataset, repeat: int, t_one: float) -> list:
    """Three models: separate sweeps, one ``compare_models`` call, and the
    raw read of what that call reads (the ground truth once, three models'
    label, box and confidence); ``t_one`` is one model's sweep."""
    fields = ["predictions", *OTHER_MODELS]
    paths = [p for p in RAW_PATHS if p.startswith("ground_truth.")]
    paths += [f"{f}.detections.{a}" for f in fields for a in ("label", "bounding_box", "confidence")]
    best = alternate(
        {
            "raw3": lambda: len(dataset.values(paths, _raw=True)[0]),
            "separate": lambda: [sweep(dataset, f, **ONE) for f in fields],
            "compare": lambda: compare_models(dataset, fields, progress=False, **ONE),
        },
        repeat,
    )
    (t_sep, separate), (t_cmp, cmp) = best["separate"], best["compare"]
    for f, alone in zip(fields, separate):
        same_curves(cmp.results[f], alone, f)
    return [
        (f"3 models: raw read of their {len(paths)} paths", best["raw3"][0]),
        ("3 models: 3 separate sweeps (one process)", t_sep),
        (
            f"3 models: compare_models, K=3 (same curves; x{t_sep / t_cmp:.2f} faster; "
            f"x{t_cmp / t_one:.2f} one sweep)",
            t_cmp,
        ),
    ]


def slow_steps(dataset: fo.Dataset, result, old: int) -> list:
    """The ways the sweep replaces: FiftyOne's evaluation."""
    t_sweep, slow = timed(lambda: sweep(dataset, engine="fiftyone"))
    same_curves(result, slow, 'engine="fiftyone"')
    t_eval, _ = timed(
        lambda: dataset.evaluate_detections(
            "predictions", gt_field="ground_truth", eval_key=None, progress=False
        )
    )
    rows = [
        ('the sweep with engine="fiftyone" (same curves)', t_sweep),
        ("one evaluate_detections(eval_key=None)", t_eval),
    ]
    if old > 0:
        ts = np.linspace(0.1, 0.9, old)
        t_old, _ = timed(lambda: [old_way_one_threshold(dataset, t) for t in ts])
        rows.append((f"old way, per threshold ({old} timed)", t_old / old))
        rows.append(("old way, 100 thresholds (extrapolated)", 100 * t_old / old))
    return rows


def app_steps(dataset: fo.Dataset, result) -> list:
    t_store, _ = timed(lambda: sweep(dataset, run_key="bench", overwrite=True, **ONE))
    t_panel, sent = timed(lambda: panel_load(dataset))
    t_click = min(timed(lambda: result.counts_at(0.7))[0] for _ in range(3))
    return [
        ("sweep + storing it as a run", t_store),
        (f"panel: load the run, send curves ({sent / 1e6:.2f} MB)", t_panel),
        ("panel click: exact counts at a threshold", t_click),
    ]


def memory_lines(dataset: fo.Dataset, result, num_gt: int, num_pred: int) -> dict:
    """The sweep in fresh processes: peak memory, against the estimate of
    what grows with the dataset."""
    one = peak_memory_child(dataset.name, **ONE)
    records = (num_pred * 33 + num_gt * 24) / 2**20
    curves = result.num_thresholds * 32 / 2**20
    print(
        f"fresh process, one process: sweep {one['seconds']:.2f} s, peak "
        f"{one['peak_mb']:.0f} MB ({one['before_mb']:.0f} MB before the sweep: "
        f"+{one['peak_mb'] - one['before_mb']:.0f} MB)"
    )
    print(
        f"  grows with the data: match records {records:.0f} MB (33 B per prediction, "
        f"24 B per ground truth object), curves {curves:.0f} MB (32 B per threshold)"
    )
    if HAS_WORKERS:
        two = peak_memory_child(dataset.name, num_workers=2)
        print(
            f"fresh process, num_workers=2: sweep {two['seconds']:.2f} s, peak "
            f"{two['peak_mb']:.0f} MB (+{two['peak_mb'] - two['before_mb']:.0f} MB), "
            f"largest worker {two['worker_mb']:.0f} MB (counting pages shared with the parent)"
        )
    return one


def measure(n: int, args) -> dict:
    """All the steps at one size; prints its table."""
    load = _load()
    dataset, how = dataset_for(n, args.seed, args.rebuild)
    num_gt = dataset.count("ground_truth.detections")
    num_pred = dataset.count("predictions.detections")
    repeat = args.repeat if n <= 100_000 else args.repeat_large
    print(
        f"\n== {n:,} images: {num_gt:,} ground truth boxes, {num_pred:,} predictions "
        f"({dataset.name}: {how}); best of {repeat}; {load}"
    )
    rows, result = main_steps(dataset, n, repeat)
    t_raw, t_one = rows[0][1], rows[1][1]
    if n <= args.compare_limit:
        rows += compare_steps(dataset, repeat, t_one)
    if n <= 100_000 and args.bootstrap:
        rows.append(("1000 bootstrap resamples of the result", timed(lambda: result.with_bootstrap(1000, seed=0))[0]))
    if n <= args.slow_limit:
        rows += slow_steps(dataset, result, args.old)
    if n <= 100_000:
        rows += app_steps(dataset, result)
    _print_rows(rows, t_raw)
    mem = memory_lines(dataset, result, num_gt, num_pred)
    print(
        f"best threshold {result.best_threshold:.3f}: F1 {result.best_f1:.3f}, "
        f"P {result.best_precision:.3f}, R {result.best_recall:.3f}; {_load()}"
    )
    if args.drop:
        dataset.delete()
    return dict(sweep=t_one, raw=t_raw, peak_mb=mem["peak_mb"])


def check_builder(seed: int, n: int = 2000) -> None:
    """The raw documents equal FiftyOne's for the same labels (but for ids,
    ``_rand`` and dates), and give the same sweep."""
    raw = build_dataset("oc-bench-check-raw", n, seed)
    if fo.dataset_exists("oc-bench-check-fiftyone"):
        fo.delete_dataset("oc-bench-check-fiftyone")
    made = fo.Dataset("oc-bench-check-fiftyone")
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        labels = chunk_labels(np.random.default_rng([seed, start // CHUNK]), m)
        made.add_samples(fo_samples(labels, start, range(m)), progress=False)
    drop = {"_id", "_rand", "_dataset_id", "created_at", "last_modified_at"}

    def strip(doc):
        if isinstance(doc, dict):
            return [(k, strip(v)) for k, v in doc.items() if k not in drop]
        if isinstance(doc, list):
            return [strip(v) for v in doc]
        return doc

    for a, b in zip(raw._sample_collection.find(), made._sample_collection.find(), strict=True):
        assert strip(a) == strip(b), (a, b)
    same_curves(sweep(raw, **ONE), sweep(made, **ONE), "builder")
    assert raw.count_values("predictions.detections.label") == made.count_values(
        "predictions.detections.label"
    )
    assert raw.values("ground_truth.detections.bounding_box") == made.values(
        "ground_truth.detections.bounding_box"
    )
    first = raw.skip(1).first()  # a raw one, loaded as a Sample
    assert isinstance(first.predictions.detections[0], fo.Detection)
    print(f"builder check: {n:,} raw documents equal FiftyOne's, the same curves")
    raw.delete()
    made.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 100_000])
    parser.add_argument("--n", type=int, action="append", default=[], help="adds a size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="best of, up to 100,000 images")
    parser.add_argument("--repeat-large", type=int, default=1, help="best of, above")
    parser.add_argument(
        "--old", type=int, default=2,
        help="thresholds to time the old way on, extrapolated to 100 (0: skip)",
    )
    parser.add_argument(
        "--slow-limit", type=int, default=2000,
        help="the evaluate_detections steps up to this many images",
    )
    parser.add_argument(
        "--compare-limit", type=int, default=100_000,
        help="the compare_models step up to this many images",
    )
    parser.add_argument("--no-bootstrap", dest="bootstrap", action="store_false")
    parser.add_argument("--rebuild", action="store_true", help="build the datasets anew")
    parser.add_argument("--drop", action="store_true", help="delete the datasets at the end")
    parser.add_argument(
        "--check-builder", action="store_true",
        help="first check the raw documents against FiftyOne's on 2,000 images",
    )
    args = parser.parse_args()
    # "Evaluating detections..." and the like would break up the table, as
    # would pymongo's warning in each worker of num_workers, which closes the
    # client it inherited (records/parallel.py) before opening its own
    logging.getLogger("fiftyone").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="MongoClient opened before fork")
    sizes = sorted(set(args.sizes + args.n))

    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, FiftyOne {fo.__version__}, database "
        f"{os.environ['FIFTYONE_DATABASE_NAME']}; {_load()}"
    )
    if args.check_builder:
        check_builder(args.seed)
    figures = {n: measure(n, args) for n in sizes}
    big = [n for n in sizes if n > 100_000]
    if 100_000 in figures and big:
        base = figures[100_000]
        for n in big:
            f = figures[n]
            ratio = f["sweep"] / base["sweep"]
            print(
                f"\n{n:,} images: the sweep (one process) {f['sweep']:.1f} s, "
                f"{ratio:.2f}x its 100,000-image time (aim: < {11 * n / 1e6:.0f}x), "
                f"peak memory {f['peak_mb']:.0f} MB (aim: < 2048 MB): "
                + ("OK" if ratio < 11 * n / 1e6 and f["peak_mb"] < 2048 else "MISSED")
            )
    os.unlink(os.path.join(_PLUGINS, "optimal_confidence"))
    os.rmdir(_PLUGINS)


if __name__ == "__main__":
    main()
