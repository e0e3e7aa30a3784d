"""Command line: ``python -m optimal_confidence``.

Examples::

    # sweep a dataset's predictions and print the best threshold
    python -m optimal_confidence --dataset my-dataset --pred predictions

    # the same, as JSON, and stored on the dataset as a run
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --json --save-run optimal_confidence

    # build the demo dataset (no downloads) and sweep it
    python -m optimal_confidence --demo

Bad input exits with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
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
        help="build the demo dataset (generated locally) and sweep it",
    )
    p.add_argument("--pred", default="predictions", help="predictions field (default: predictions)")
    p.add_argument("--gt", default="ground_truth", help="ground truth field (default: ground_truth)")
    p.add_argument("--iou", type=float, default=0.5, help="IoU a match needs (default: 0.5)")
    p.add_argument(
        "--any-class",
        action="store_true",
        help="let objects of different labels match (classwise=False)",
    )
    p.add_argument("--lower-bound", type=float, help="smallest threshold")
    p.add_argument("--upper-bound", type=float, help="largest threshold")
    p.add_argument(
        "--num-thresholds",
        type=int,
        help="evenly spaced thresholds (default: exact, every confidence)",
    )
    p.add_argument("--save-run", metavar="KEY", help="store the result as a run")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run KEY")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    import fiftyone as fo

    _log_to_stderr()

    from .api import compute_optimal_confidence
    from .demo import DEMO_DATASET_NAME, make_demo_dataset

    try:
        if args.demo:
            dataset = make_demo_dataset(
                DEMO_DATASET_NAME,
                num_samples=args.demo_samples,
                overwrite=True,
                persistent=True,
            )
        else:
            if not fo.dataset_exists(args.dataset):
                raise ValueError(
                    f"No dataset named '{args.dataset}'. Datasets: "
                    f"{fo.list_datasets() or 'none'}"
                )
            dataset = fo.load_dataset(args.dataset)

        result = compute_optimal_confidence(
            dataset,
            args.pred,
            args.gt,
            iou=args.iou,
            classwise=not args.any_class,
            lower_bound=args.lower_bound,
            upper_bound=args.upper_bound,
            num_thresholds=args.num_thresholds,
            run_key=args.save_run,
            overwrite=args.overwrite,
            progress=False,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    if args.json:
        print(json.dumps({"dataset": dataset.name, **result.metrics()}, indent=2))
    else:
        print(f"Dataset '{dataset.name}' ({len(dataset)} samples)")
        print(result.report(num_rows=args.rows))
        if args.save_run:
            print(f"\nStored as run '{args.save_run}' on dataset '{dataset.name}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
