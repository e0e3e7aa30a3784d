"""Command line: ``python -m optimal_confidence``.

Examples::

    # sweep a dataset's predictions and print the best threshold
    python -m optimal_confidence --dataset my-dataset --pred predictions

    # the same, as JSON, and stored on the dataset as a run
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --json --save-run optimal_confidence

    # the highest recall with at least 95% precision, per class
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --objective precision --target 0.9 --per-class

    # CI gate: fail when F1 at the deployed threshold drops below 0.7
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --at 0.42 --min-f1 0.7

    # build the demo dataset (no downloads) and sweep it
    python -m optimal_confidence --demo

    # choose on the demo's "train" images, check on its "val" images
    python -m optimal_confidence --demo --tag train --check-tag val

Exit status: 0 done, 1 a ``--min-*`` bound failed at ``--at``, 2 bad input
(with a one-line message).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m optimal_confidence",
        description=(
            "Find the confidence threshold with the best F1 for a FiftyOne "
            "prediction field, from the exact curve at every confidence."
        ),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="the FiftyOne dataset to sweep")
    src.add_argument(
        "--demo",
        action="store_true",
        help="sweep the demo dataset, building it (locally, no downloads) "
        "when it does not exist",
    )
    p.add_argument(
        "--rebuild-demo",
        action="store_true",
        help="with --demo: delete the demo dataset and build it anew",
    )
    p.add_argument("--view", help="sweep this saved view of the dataset")
    p.add_argument("--tag", help="sweep only the samples with this tag")
    p.add_argument("--pred", default="predictions", help="predictions field (default: predictions)")
    p.add_argument("--gt", default="ground_truth", help="ground truth field (default: ground_truth)")
    p.add_argument(
        "--iou", type=float,
        help="IoU a match needs (default: 0.5, or that of --eval-key)",
    )
    p.add_argument(
        "--any-class",
        action="store_true",
        help="let objects of different labels match (classwise=False)",
    )
    p.add_argument(
        "--eval-key", metavar="KEY",
        help="reuse this evaluation of the two fields (no matching at all)",
    )
    p.add_argument(
        "--engine", choices=["auto", "fast", "fiftyone"], default="auto",
        help="how predictions are matched: the fast exact matcher for box "
        "Detections (auto, fast) or one evaluate_detections pass (fiftyone)",
    )
    p.add_argument(
        "--use-masks", action="store_true",
        help="match instance masks instead of boxes",
    )
    p.add_argument(
        "--use-boxes", action="store_true",
        help="match polylines by their bounding boxes",
    )
    p.add_argument("--lower-bound", type=float, help="smallest threshold")
    p.add_argument("--upper-bound", type=float, help="largest threshold")
    p.add_argument(
        "--num-thresholds",
        type=int,
        help="evenly spaced thresholds (default: exact, every confidence)",
    )
    obj = p.add_argument_group("objective")
    obj.add_argument(
        "--objective",
        choices=["f1", "fbeta", "precision", "recall", "cost", "accuracy"],
        default="f1",
        help="f1; fbeta (--beta); precision: the most recall with precision "
        ">= --target; recall: the most precision with recall >= --target; "
        "cost: the least --fp-cost*FP + --fn-cost*FN; accuracy: the lowest "
        "threshold whose answers reach --target accuracy (classifiers)",
    )
    obj.add_argument("--beta", type=float, default=1.0, help="beta of fbeta (default: 1)")
    obj.add_argument("--target", type=float, help="precision or recall to reach")
    obj.add_argument("--fp-cost", type=float, default=1.0, help="cost of a false positive")
    obj.add_argument("--fn-cost", type=float, default=1.0, help="cost of a false negative")
    obj.add_argument(
        "--average", choices=["micro", "macro"], default="micro",
        help="pool all classes (micro) or average per-class metrics (macro)",
    )
    obj.add_argument("--per-class", action="store_true", help="a threshold per class")
    obj.add_argument(
        "--min-support", type=int, default=1,
        help="with --per-class, classes with fewer ground truth objects keep "
        "the global threshold (default: 1)",
    )
    obj.add_argument(
        "--positive-label", metavar="LABEL",
        help="Classification fields: the positive class of a binary task "
        "(without it: multiclass answers, escalated below the threshold)",
    )
    unc = p.add_argument_group("how certain, and review")
    unc.add_argument("--bootstrap", type=int, metavar="N", help="N bootstrap resamples of the images")
    unc.add_argument("--seed", type=int, help="bootstrap seed")
    unc.add_argument("--ci-level", type=float, default=0.95, help="interval level (default: 0.95)")
    unc.add_argument(
        "--review-precision", type=float, metavar="P",
        help="find a review band: accept automatically where precision >= P",
    )
    unc.add_argument(
        "--max-lost", type=float, default=0.05,
        help="with --review-precision: the share of true detections the "
        "dropped predictions may hold (default: 0.05)",
    )
    unc.add_argument("--review-cost", type=float, help="cost of reviewing one prediction")
    unc.add_argument("--check-tag", metavar="TAG", help="check the chosen threshold on the samples with this tag")
    unc.add_argument("--check-view", metavar="NAME", help="check the chosen threshold on this saved view")
    gate = p.add_argument_group("check a deployed threshold (for CI)")
    gate.add_argument("--at", type=float, metavar="T", help="report the metrics at threshold T")
    for name in ("f1", "precision", "recall"):
        gate.add_argument(
            f"--min-{name}", type=float, metavar="X",
            help=f"with --at: exit 1 when {name} at T is below X",
        )
    p.add_argument("--save-run", metavar="KEY", help="store the result as a run")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run KEY")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--plot", metavar="PNG",
        help="also write the curves (P/R/F1 against the threshold, and the "
        "PR curve) to this PNG file",
    )
    p.add_argument("--rows", type=int, default=5, help="table rows around the best (default: 5)")
    p.add_argument(
        "--demo-samples", type=int, default=200, help="size of the demo dataset (default: 200)"
    )
    return p


def _log_to_stderr() -> None:
    """Sends FiftyOne's log lines (database notices, "Evaluating
    detections...") to stderr, so that stdout holds only the result and
    ``--json`` output can be piped."""
    import fiftyone.core.logging as fol

    for logger in fol._get_loggers():
        for handler in logger.handlers:
            if getattr(handler, "stream", None) is sys.stdout:
                handler.setStream(sys.stderr)


def _write_plot(result, path: str, band) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import plot_curves

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig = plot_curves(result, band=band)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _select(dataset, view_name: str | None, tag: str | None):
    """The dataset, one of its saved views, and/or its samples with a tag."""
    samples = dataset
    if view_name:
        if not dataset.has_saved_view(view_name):
            raise ValueError(
                f"Dataset '{dataset.name}' has no saved view '{view_name}'. "
                f"Saved views: {dataset.list_saved_views() or 'none'}"
            )
        samples = dataset.load_saved_view(view_name)
    if tag:
        samples = samples.match_tags(tag)
        if len(samples) == 0:
            raise ValueError(
                f"No sample has the tag '{tag}'. Tags: "
                f"{sorted(dataset.distinct('tags')) or 'none'}"
            )
    return samples


def _at(result, t: float, args: argparse.Namespace) -> dict:
    """The exact metrics at threshold ``t`` and the ``--min-*`` checks."""
    values = result.point(t)
    del values["score"]
    failed = [
        f"{name} {values[name]:.4f} < {bound:g}"
        for name in ("f1", "precision", "recall")
        if (bound := getattr(args, f"min_{name}")) is not None
        and values[name] < bound
    ]
    return {"threshold": t, **values, "failed": failed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.at is None and any(
        getattr(args, f"min_{n}") is not None for n in ("f1", "precision", "recall")
    ):
        parser.error("--min-f1/--min-precision/--min-recall need --at T")
    if args.rebuild_demo and not args.demo:
        parser.error("--rebuild-demo goes with --demo")

    # stdout holds only the result: FiftyOne's log lines (its handlers hold
    # the real stdout, so before the redirect) and progress bars go to stderr
    _log_to_stderr()
    with contextlib.redirect_stdout(_ToStderr()):
        found = _compute(args)
    if isinstance(found, int):
        return found
    return _print(args, *found)


class _ToStderr(io.TextIOBase):
    """Writes to stderr. Not ``sys.stderr`` itself: the progress bars'
    stdout capture would then try to re-point logging handlers that write to
    stderr."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def _demo_dataset(rebuild: bool, num_samples: int):
    """The demo dataset: the existing one when it is the demo of this size,
    else built anew (only with ``rebuild`` when a different dataset holds
    the name, so that nothing is deleted unasked)."""
    import fiftyone as fo

    from .demo import DEMO_DATASET_NAME, demo_info, make_demo_dataset

    name = DEMO_DATASET_NAME
    if fo.dataset_exists(name) and not rebuild:
        dataset = fo.load_dataset(name)
        if dataset.info.get("demo") == demo_info(num_samples=num_samples):
            return dataset
        raise ValueError(
            f"Dataset '{name}' exists but is not the demo dataset of "
            f"{num_samples} samples this version builds; add --rebuild-demo "
            f"to delete it and build the demo anew"
        )
    return make_demo_dataset(
        name, num_samples=num_samples, overwrite=True, persistent=True
    )


def _compute(args: argparse.Namespace):
    """(dataset, samples, result, band, check), or the exit status 2 after
    printing the error."""
    import fiftyone as fo

    from .api import compute_optimal_confidence

    try:
        if args.demo:
            dataset = _demo_dataset(args.rebuild_demo, args.demo_samples)
        else:
            if not fo.dataset_exists(args.dataset):
                raise ValueError(
                    f"No dataset named '{args.dataset}'. Datasets: "
                    f"{fo.list_datasets() or 'none'}"
                )
            dataset = fo.load_dataset(args.dataset)

        samples = _select(dataset, args.view, args.tag)
        result = compute_optimal_confidence(
            samples,
            args.pred,
            args.gt,
            iou=args.iou,
            classwise=False if args.any_class else None,
            eval_key=args.eval_key,
            engine=args.engine,
            use_masks=args.use_masks,
            use_boxes=args.use_boxes,
            lower_bound=args.lower_bound,
            upper_bound=args.upper_bound,
            num_thresholds=args.num_thresholds,
            run_key=args.save_run,
            overwrite=args.overwrite,
            objective=args.objective,
            beta=args.beta,
            target=args.target,
            fp_cost=args.fp_cost,
            fn_cost=args.fn_cost,
            average=args.average,
            per_class=args.per_class,
            min_support=args.min_support,
            positive_label=args.positive_label,
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            ci_level=args.ci_level,
            progress=False,
        )
        band = (
            result.review_band(
                args.review_precision,
                args.max_lost,
                review_cost=args.review_cost,
                fp_cost=args.fp_cost,
                fn_cost=args.fn_cost,
            )
            if args.review_precision is not None
            else None
        )
        check = (
            result.check_on(_select(dataset, args.check_view, args.check_tag))
            if args.check_view or args.check_tag
            else None
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return dataset, samples, result, band, check


def _print(args, dataset, samples, result, band, check) -> int:
    at = _at(result, args.at, args) if args.at is not None else None
    if args.json:
        out = {"dataset": dataset.name, **result.metrics()}
        if at is not None:
            out["at"] = at
        if band is not None:
            out["review_band"] = band.to_dict()
        if check is not None:
            out["held_out"] = check.to_dict()
        print(json.dumps(out, indent=2))
    else:
        print(f"Dataset '{dataset.name}' ({len(samples)} samples)")
        print(result.report(num_rows=args.rows))
        if band is not None:
            print("\nReview band: " + band.summary())
        if check is not None:
            print("\nHeld-out check: " + check.summary())
        if at is not None:
            print(
                f"\nAt threshold {at['threshold']:g}: F1 {at['f1']:.4f}  "
                f"precision {at['precision']:.4f}  recall {at['recall']:.4f}  "
                f"TP {at['tp']}  FP {at['fp']}  FN {at['fn']}"
            )
        if args.save_run:
            print(f"\nStored as run '{args.save_run}' on dataset '{dataset.name}'")
    if args.plot:
        _write_plot(result, args.plot, band)
        if not args.json:
            print(f"\nCurves written to {os.path.abspath(args.plot)}")
    if at is not None and at["failed"]:
        print(
            f"check failed at threshold {args.at:g}: " + "; ".join(at["failed"]),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
