"""Benchmark: does the Learn-then-Test guarantee hold, and what does it cost?

For several simulated pools (detectors and escalating classifiers of
different quality; see ``tests/test_guarantee.py`` for the simulators), the
benchmark draws many calibration sets of ``n_cal`` images from a pool far
larger than them, certifies a threshold on each with
:func:`optimal_confidence.certainty.guarantee.certify`, and measures the true risk at
that threshold on the rest of the pool. For each pool, target and ``n_cal``
it prints:

-   ``violation``: the share of draws whose certified threshold misses the
    bound on the rest of the pool (should be at most ``1 - guarantee``);
-   ``median risk``: the median true risk at the certified threshold, next
    to the ``bound``: how much the guarantee costs;
-   ``uncertified``: the share of draws where no threshold was certified
    (nothing deployed: not a violation);
-   the same two figures for the naive choice (the riskiest threshold whose
    risk on the calibration images is within the bound), for contrast.

No FiftyOne and no database. Usage::

    .venv/bin/python tests/benchmarks/bench_guarantee.py               # ~2 min
    .venv/bin/python tests/benchmarks/bench_guarantee.py --draws 200 --pool 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the simulators
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the library

import numpy as np  # noqa: E402

from test_guarantee import classifier_pool, detection_pool, simulate  # noqa: E402

#: (name, pool builder, [(objective, target), ...])
POOLS = [
    (
        "detector, good (90% found, 1.5 FP/image)",
        lambda n, seed: detection_pool(n, seed),
        [("recall", 0.8), ("precision", 0.85)],
    ),
    (
        "detector, weak (75% found, 4 FP/image)",
        lambda n, seed: detection_pool(
            n, seed, objects=5.0, found=0.75, false_alarms=4.0,
            tp_beta=(3.0, 2.0), fp_beta=(2.0, 3.0),
        ),
        [("recall", 0.7), ("precision", 0.7)],
    ),
    (
        "classifier, calibrated",
        lambda n, seed: classifier_pool(n, seed, beta=(6.0, 1.2), power=1.0),
        [("accuracy", 0.9)],
    ),
    (
        "classifier, over-confident",
        lambda n, seed: classifier_pool(n, seed, beta=(5.0, 1.5), power=1.5),
        [("accuracy", 0.9)],
    ),
]


def _row(cells: list[str], widths: list[int]) -> str:
    # the first three columns are text, the others numbers
    return "  ".join(
        c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=50000, help="images per pool")
    parser.add_argument("--draws", type=int, default=1000, help="calibration sets per case")
    parser.add_argument("--n-cal", type=int, nargs="+", default=[300, 1000],
                        help="calibration set sizes")
    parser.add_argument("--guarantee", type=float, default=0.9)
    parser.add_argument("--thresholds", type=int, default=101,
                        help="candidate thresholds, evenly spaced on [0, 1]")
    args = parser.parse_args(argv)

    grid = np.linspace(0, 1, args.thresholds)
    delta = 1 - args.guarantee
    noise = 3 * np.sqrt(delta * (1 - delta) / args.draws)
    print(
        f"Learn-then-Test, guarantee {args.guarantee:g}: violations should be "
        f"<= {delta:.3f} (+ {noise:.3f} for binomial noise over {args.draws} "
        f"draws); pools of {args.pool:,} images, {args.thresholds} candidate "
        f"thresholds\n"
    )
    head = ["pool", "target", "n_cal", "bound", "violation", "median risk",
            "uncertified", "naive viol.", "naive median", "s"]
    widths = [42, 14, 5, 6, 9, 11, 11, 11, 12, 5]
    print(_row(head, widths))
    for k, (name, build, targets) in enumerate(POOLS):
        pool = build(args.pool, 100 + k)
        for objective, target in targets:
            for n_cal in args.n_cal:
                t0 = time.perf_counter()
                out = simulate(pool, grid, objective, target, args.guarantee,
                               n_cal=n_cal, draws=args.draws, seed=k)
                print(_row([
                    name, f"{objective} {target:g}", str(n_cal), f"{out['bound']:.3f}",
                    f"{out['violation']:.3f}", f"{out['median_risk']:.3f}",
                    f"{out['uncertified']:.3f}", f"{out['naive_violation']:.3f}",
                    f"{out['naive_median_risk']:.3f}", f"{time.perf_counter() - t0:.0f}",
                ], widths), flush=True)


if __name__ == "__main__":
    main()
