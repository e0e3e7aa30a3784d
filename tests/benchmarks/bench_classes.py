"""Benchmark: macro averages over many classes, from the match records.

A macro average (``average="macro"``) needs each class's counts at every
swept threshold. At 100,000 images (about 700,000 thresholds) and 80
classes (COCO's) that table has 54 million entries per count: built whole,
choosing took 34 s and 3.3 GB, and 1000 bootstrap resamples were killed
at 24 GB (the engine cut fewer threshold blocks for more classes, so each
candidate block's counts grew with the square of the classes).

For each class count (``--classes``, default 5, 10 and 80) on synthetic
match records of ``--n`` images (default 100,000: about 4.8 ground truth
objects and 6 predictions per image, continuous confidences), it prints,
measured in one run, time (the choices: best of two) and peak traced
memory (numpy's arrays included):

-   the macro-F1 choice from the whole table (each class's counts as a
    list, stacked: the whole table in memory, as before; its metrics are
    now computed for all classes at once, not class by class) and from
    :class:`~optimal_confidence.curves.by_class.ClassCounts` (a slice of
    thresholds at a time), checked to choose the same threshold; the
    whole table is skipped above ``--table-limit`` classes' entries;
-   the micro-F1 choice, for scale;
-   1000 bootstrap resamples of the macro and of the micro choice, and
    their ratio.

No database needed. Usage::

    .venv/bin/python tests/benchmarks/bench_classes.py
    .venv/bin/python tests/benchmarks/bench_classes.py --n 20000 --classes 5 80
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from optimal_confidence.curves.by_class import ClassCounts  # noqa: E402
from optimal_confidence.curves.objectives import choose  # noqa: E402
from optimal_confidence.curves.sweep import MatchRecords, count_at, exact_thresholds  # noqa: E402
from optimal_confidence.curves.uncertainty import bootstrap  # noqa: E402
from optimal_confidence.spec.objective import Objective  # noqa: E402


def synthetic_records(n: int, num_classes: int, seed: int = 0) -> MatchRecords:
    """A detector on ``n`` images: 80% of the objects found, with higher
    confidences than the false alarms; labels uniform over the classes."""
    rng = np.random.default_rng(seed)
    gt_sample = np.repeat(np.arange(n), rng.poisson(6, n))
    gt_class = rng.integers(0, num_classes, len(gt_sample))
    found = rng.random(len(gt_sample)) < 0.8
    gt_conf = np.where(found, rng.beta(5, 2, len(gt_sample)), np.nan)
    fp_sample = np.repeat(np.arange(n), rng.poisson(2, n))
    return MatchRecords(
        classes=tuple(f"class{i:02d}" for i in range(num_classes)),
        pred_conf=np.concatenate([gt_conf[found], rng.beta(2, 4, len(fp_sample))]),
        pred_tp=np.r_[np.ones(int(found.sum()), bool), np.zeros(len(fp_sample), bool)],
        pred_class=np.concatenate([gt_class[found], rng.integers(0, num_classes, len(fp_sample))]),
        pred_sample=np.concatenate([gt_sample[found], fp_sample]),
        gt_conf=gt_conf,
        gt_class=gt_class,
        gt_sample=gt_sample,
        num_samples=n,
    )


def measured(fn, repeat: int = 2):
    """``(seconds, peak MB traced, value)``: the best time of ``repeat``
    runs (the first one pays for fresh memory pages), the peak of the last."""
    best = float("inf")
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        try:
            value = fn()
            best = min(best, time.perf_counter() - start)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    return best, peak, value


def row(label: str, seconds: float | None, peak: float | None, note: str = "") -> None:
    if seconds is None:
        print(f"  {label:<46} {'skipped':>9} {'':>10}  {note}")
    else:
        print(f"  {label:<46} {seconds:8.2f}s {peak:8.0f} MB  {note}")


def one_size(n: int, num_classes: int, args) -> None:
    records = synthetic_records(n, num_classes, args.seed)
    t = exact_thresholds(records.pred_conf)
    classes = records.present_classes()
    print(f"{num_classes} classes, {n:,} images, {len(t):,} thresholds")
    macro, micro = Objective("f1", average="macro"), Objective("f1")
    counts = count_at(records, t)

    def whole_table():
        listed = [count_at(records.restrict_to_class(c), t) for c in classes]
        return choose(macro, counts, listed).index

    def sliced():
        return choose(macro, counts, ClassCounts(records, t, classes)).index

    s_new, m_new, i_new = measured(sliced)
    if len(classes) * len(t) <= args.table_limit:
        s_old, m_old, i_old = measured(whole_table)
        assert i_old == i_new, (i_old, i_new)
        row("macro F1 choice, the whole table", s_old, m_old)
        note = f"same threshold; x{s_old / s_new:.1f} faster, x{m_old / m_new:.1f} less memory"
    else:
        row("macro F1 choice, the whole table", None, None, f"{len(classes) * len(t):,} entries > --table-limit")
        note = ""
    row("macro F1 choice, ClassCounts", s_new, m_new, note)
    s_micro, m_micro, i_micro = measured(lambda: choose(micro, counts).index)
    row("micro F1 choice", s_micro, m_micro)
    if args.bootstrap:
        at_macro, at_micro = float(t[i_new]), float(t[i_micro])
        s_bm, m_bm, _ = measured(lambda: bootstrap(records, t, macro, at_macro, n_bootstrap=1000, seed=0), 1)
        s_bu, m_bu, _ = measured(lambda: bootstrap(records, t, micro, at_micro, n_bootstrap=1000, seed=0), 1)
        row("1000 bootstrap resamples, macro F1", s_bm, m_bm, f"x{s_bm / s_bu:.1f} the micro bootstrap")
        row("1000 bootstrap resamples, micro F1", s_bu, m_bu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="images")
    parser.add_argument("--classes", type=int, nargs="+", default=[5, 10, 80])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--table-limit", type=int, default=60_000_000,
        help="the most (classes x thresholds) entries for which the whole table is built",
    )
    parser.add_argument("--no-bootstrap", dest="bootstrap", action="store_false")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    for c in args.classes:
        one_size(args.n, c, args)


if __name__ == "__main__":
    main()
