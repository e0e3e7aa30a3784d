"""Benchmark: the work behind one panel event on a large guaranteed result,
without FiftyOne or a database.

A result of ``--images`` simulated images (a precision target certified at
90%) is stored as a dict and loaded back, as the panel's ``current()`` does
on every event, then re-stored with a run key and an interval as the
pipeline does; the plot marks (``marks()``: the label spot and the point
estimate) are computed as on every click. It prints the time of each step
and how many times the result was certified (Learn-then-Test)::

    .venv/bin/python tests/benchmarks/bench_result.py
    .venv/bin/python tests/benchmarks/bench_result.py --images 30000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the simulators
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the library


from optimal_confidence.certainty import certified  # noqa: E402
from optimal_confidence.curves.sweep_curves import SweepConfig  # noqa: E402
from optimal_confidence.spec.objective import Objective  # noqa: E402
from optimal_confidence.plots.data import marks  # noqa: E402
from optimal_confidence.result.result import OptimalConfidenceResult  # noqa: E402
from optimal_confidence.curves.sweep import count_at, exact_thresholds  # noqa: E402
from test_guarantee import detection_pool  # noqa: E402

calls = 0
_certify_result = certified.certify_result


def _counted(result):
    global calls
    calls += 1
    return _certify_result(result)


certified.certify_result = _counted


def timed(what, f, repeat=3):
    global calls
    calls = 0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    print(f"{what:<52} {best:8.3f} s   certified {calls // repeat}x")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=20000)
    args = parser.parse_args()
    records = detection_pool(args.images, seed=0, objects=3.0, false_alarms=2.0)
    t = exact_thresholds(records.pred_conf)
    c = count_at(records, t)
    config = SweepConfig(
        pred_field="predictions", gt_field="ground_truth", iou=0.5, classwise=True,
        lower_bound=float(t[0]), upper_bound=float(t[-1]), num_thresholds=None,
        num_samples=args.images, label_type="Detections",
    )
    objective = Objective("precision", target=0.85, guarantee=0.9)
    print(f"{args.images:,} images, {records.num_preds:,} predictions, {t.size:,} thresholds")
    result = timed(
        "build (certify once)",
        lambda: OptimalConfidenceResult(
            config=config, thresholds=t, tp=c.tp, fp=c.fp, fn=c.fn, records=records,
            objective=objective,
        ),
    )
    stored = result.to_dict()
    timed("load a stored run (from_dict with its run key)",
          lambda: OptimalConfidenceResult.from_dict({**stored, "run_key": "r"}))
    timed("load, then set the run key (dataclasses.replace)", lambda: dataclasses.replace(
        OptimalConfidenceResult.from_dict(stored), run_key="r"))
    timed("run key, interval, calibrator set (3 replaces)", lambda: dataclasses.replace(
        dataclasses.replace(dataclasses.replace(result, run_key="r"), uncertainty=None),
        calibrator=None,
    ))
    timed("marks() of a click (label spot, point estimate)", lambda: marks(result))


if __name__ == "__main__":
    main()
