"""Benchmark: a sweep in shards on FiftyOne's delegated operations, against
one process and ``num_workers``.

On the dataset of ``bench_sweep.py`` (100,000 images by default, built
there once and kept), it starts ``--workers`` real ``fiftyone delegated
launch`` workers sharing the database, waits until they poll, then times,
in turn and best of ``--repeat``: the sweep in one process, the sweep with
``num_workers=2``, and ``oc.queue_shards(..., num_shards=--shards)`` from
queueing to the merged result (checked equal to one process's curves).
Not part of the test run; usage::

    .venv/bin/python tests/benchmarks/bench_shards.py
    .venv/bin/python tests/benchmarks/bench_shards.py --n 2000 --workers 2 --shards 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_sweep as bench  # noqa: E402  (sets the database and the plugins directory)

from fiftyone.operators.delegated import DelegatedOperationService  # noqa: E402

import optimal_confidence as oc  # noqa: E402


def start_workers(count: int, logs_dir: str) -> list[subprocess.Popen]:
    fiftyone = os.path.join(os.path.dirname(sys.executable), "fiftyone")
    procs = []
    for i in range(count):
        log = open(os.path.join(logs_dir, f"worker{i}.log"), "w")
        procs.append(subprocess.Popen([fiftyone, "delegated", "launch"], stdout=log, stderr=subprocess.STDOUT))
    time.sleep(8)  # imports, the plugins' registration, the first poll
    for p in procs:
        if p.poll() is not None:
            raise RuntimeError(f"a worker exited ({p.returncode}); see {logs_dir}")
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    dataset, how = bench.dataset_for(args.n, args.seed, False)
    print(f"{bench.platform.machine()}, {os.cpu_count()} cores; {dataset.name} ({how}); {bench._load()}")
    logs = tempfile.mkdtemp(prefix="oc-bench-shards-")
    procs = start_workers(args.workers, logs)
    service = DelegatedOperationService()
    try:
        def sharded():
            queued = oc.queue_shards(dataset, "predictions", num_shards=args.shards, run_key="bench_shards", overwrite=True)
            return queued.wait(timeout=3600, poll=0.2)

        best = bench.alternate(
            {
                "one": lambda: bench.sweep(dataset, num_workers=1),
                "two": lambda: bench.sweep(dataset, num_workers=2),
                "shards": sharded,
            },
            args.repeat,
        )
        bench.same_curves(best["one"][1], best["shards"][1], "shards")
        t_one = best["one"][0]
        rows = [
            ("sweep, one process", best["one"][0]),
            ("sweep, num_workers=2", best["two"][0]),
            (f"{args.shards} shards on {args.workers} delegated workers (queued to merged, stored)", best["shards"][0]),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"{'step':<{width}}  {'time':>8}  {'x one process':>13}")
        for label, t in rows:
            print(f"{label:<{width}}  {t:>7.2f}s  {t / t_one:>13.2f}")
        print(f"(same thresholds and counts; {bench._load()})")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if "bench_shards" in dataset.list_runs():
            dataset.delete_run("bench_shards")
        service.delete_for_dataset(dataset._doc.id)


if __name__ == "__main__":
    main()
