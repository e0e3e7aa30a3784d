"""Benchmark: the threshold after deployment, on simulated detectors whose
truth is known (``tests/simulate_production.py``).

Each draw simulates labeled images and new ones (like them, or shifted),
estimates the precision, recall and F1 at the threshold on the new images
without their labels (:func:`optimal_confidence.certainty.unlabeled.estimate`),
checks for a shift (:func:`optimal_confidence.certainty.shift.check_shift`)
and compares with the truth. Then, for the labels: on new images it draws
a label plan (:func:`optimal_confidence.certainty.labeling.plan_labels`)
and verifies with the labels of the images drawn (prediction-powered),
next to the same number of images drawn uniformly with the classical
ratio estimator. It prints:

-   the estimate's error at the threshold (median and 90th percentile of
    |estimate - truth|, in points) and its interval coverage, next to
    ATC's error, with no shift, with an over-confident model, and with a
    new class mix;
-   how often the shift check fires in each case;
-   per budget, the interval width of the verified precision after the
    plan and after uniform sampling, the label saving factor (how many
    times more images uniform sampling needs for the same width: widths
    shrink as one over the square root of the labels) and both coverages,
    for a detector whose true and false positives separate with AUC about
    0.8 and one with about 0.95.

The simulated scenes differ (each image's busyness is Gamma(0.8) around
one: many images nearly empty, a few crowded), as real streams do;
``--clutter 0`` makes every image alike, where choosing images can gain
little (the printout says so).

No FiftyOne and no database. Usage::

    .venv/bin/python tests/benchmarks/bench_production.py                # ~6 min
    .venv/bin/python tests/benchmarks/bench_production.py --draws 40 --label-draws 40
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the simulator
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the library

import numpy as np  # noqa: E402

from optimal_confidence.certainty.labeling import (  # noqa: E402
    image_model,
    plan_labels,
    uniform_ratio,
    verify_counts,
)
from optimal_confidence.certainty.shift import check_shift  # noqa: E402
from optimal_confidence.certainty.unlabeled import estimate, fit_outcome_model  # noqa: E402
from simulate_production import auc, per_image, simulate, truth, unlabeled  # noqa: E402

METRICS = ("precision", "recall", "f1")

#: (name, what the new images are)
SHIFTS = [
    ("no shift", {}),
    ("over-confident (+0.5 logit)", {"overconfident": 0.5}),
    ("class mix 60/30/10 -> 20/30/50", {"mix": (0.2, 0.3, 0.5)}),
]


def _estimates(args: argparse.Namespace, rng: np.random.Generator) -> None:
    print(f"Estimates without labels: {args.draws} draws, {args.labeled} labeled and "
          f"{args.new} new images each, threshold {args.threshold}, {args.level:.0%} intervals")
    print(f"  {'new images':<32} {'metric':<10} {'median err':>10} {'p90 err':>8} {'coverage':>9} "
          f"{'ATC median':>11} {'ATC p90':>8} {'check fires':>12}")
    clutter = args.clutter or None
    for name, kw in SHIFTS:
        err = {m: [] for m in METRICS}
        covered = {m: [] for m in METRICS}
        atc, fired = [], []
        for d in range(args.draws):
            lab = simulate(args.labeled, rng, clutter=clutter)
            new = simulate(args.new, rng, clutter=clutter, **kw)
            preds = unlabeled(new)
            e = estimate(lab, preds, args.threshold, level=args.level, n_bootstrap=args.bootstrap, seed=d)
            tr = truth(new, args.threshold)
            for m in METRICS:
                err[m].append(100 * abs(getattr(e, m) - tr[m]))
                lo, hi = getattr(e, m + "_ci")
                covered[m].append(lo <= tr[m] <= hi)
            atc.append(100 * abs(e.atc_precision - tr["precision"]))
            fired.append(not check_shift(lab, preds).holds)
        for i, m in enumerate(METRICS):
            a = f"{np.median(atc):11.2f} {np.quantile(atc, 0.9):8.2f}" if m == "precision" else " " * 20
            f = f"{np.mean(fired):12.0%}" if i == 0 else ""
            print(f"  {name if i == 0 else '':<32} {m:<10} {np.median(err[m]):10.2f} "
                  f"{np.quantile(err[m], 0.9):8.2f} {np.mean(covered[m]):9.0%} {a} {f}")
    print("  (errors in points; ATC predicts precision only)")


def _labels(args: argparse.Namespace, rng: np.random.Generator) -> None:
    print(f"\nFew labels: verified precision after a label plan vs uniform sampling, "
          f"{args.label_draws} draws of {args.pool} new images, {args.level:.0%} intervals")
    print(f"  {'detector':<22} {'budget':>6} {'plan width':>10} {'uniform width':>13} "
          f"{'saving':>7} {'plan cov':>9} {'uniform cov':>12}")
    clutter = args.clutter or None
    for detector in ("auc 0.8", "auc 0.95"):
        lab = simulate(args.labeled, rng, detector=detector, clutter=clutter)
        model = fit_outcome_model(lab)
        label = f"{detector.upper()} (measured {auc(lab):.2f})"
        for budget in args.budgets:
            wp, wu, cp, cu = [], [], [], []
            for _ in range(args.label_draws):
                new = simulate(args.pool, rng, detector=detector, clutter=clutter)
                preds, tr, pi = unlabeled(new), truth(new, args.threshold), per_image(new, args.threshold)
                plan = plan_labels(lab, preds, budget, args.threshold, seed=int(rng.integers(2**31)), model=model)
                v = verify_counts(
                    image_model(model, preds, args.threshold), plan.draws, plan.probabilities,
                    pi["tp"][plan.draws], pi["gt"][plan.draws], level=args.level,
                )
                lo, hi = v.precision_ci
                wp.append(hi - lo)
                cp.append(lo <= tr["precision"] <= hi)
                sample = rng.choice(new.num_samples, budget, replace=False)
                _, (lo, hi) = uniform_ratio(pi["tp"][sample], pi["kept"][sample], pi["gt"][sample],
                                            new.num_samples, args.level)["precision"]
                wu.append(hi - lo)
                cu.append(lo <= tr["precision"] <= hi)
            saving = (np.mean(wu) / np.mean(wp)) ** 2
            print(f"  {label:<22} {budget:>6} {np.mean(wp):10.4f} {np.mean(wu):13.4f} "
                  f"{saving:6.2f}x {np.mean(cp):9.0%} {np.mean(cu):12.0%}")
            label = ""
    if not args.clutter:
        print("  (every image alike: little to gain from choosing which to label)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=100, help="draws per case of the estimates")
    p.add_argument("--label-draws", type=int, default=100, help="draws per budget of the label plans")
    p.add_argument("--labeled", type=int, default=1000, help="labeled images per draw")
    p.add_argument("--new", type=int, default=1000, help="new images per draw of the estimates")
    p.add_argument("--pool", type=int, default=10000, help="new images per draw of the label plans")
    p.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200, 400])
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("--bootstrap", type=int, default=200, help="resamples behind an estimate's intervals")
    p.add_argument("--clutter", type=float, default=0.8, help="Gamma shape of the scenes' busyness; 0: all alike")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    start = time.time()
    _estimates(args, rng)
    _labels(args, rng)
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
