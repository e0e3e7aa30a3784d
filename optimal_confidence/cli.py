"""Command line: ``optimal-confidence`` (installed with the package) or
``python -m optimal_confidence``.

Examples::

    # sweep a dataset's predictions and print the best threshold
    python -m optimal_confidence --dataset my-dataset --pred predictions

    # the same, as JSON, and stored on the dataset as a run
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --json --save-run optimal_confidence

    # the highest recall with at least 90% precision, per class
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --objective precision --target 0.9 --per-class

    # CI gate: fail when F1 at the deployed threshold drops below 0.7
    python -m optimal_confidence --dataset my-dataset --pred predictions \\
        --at 0.42 --min-f1 0.7

    # build the demo dataset (no downloads) and sweep it
    python -m optimal_confidence --demo

    # write the plugin into FiftyOne's plugins folder (for the App and
    # foo.get_operator after a pip install)
    optimal-confidence --install-plugin

    # choose on the demo's "train" images, check on its "val" images
    python -m optimal_confidence --demo --tag train --check-tag val

The options of the run (fields, matching, thresholds, objective, per-class,
intervals, review band, storage) come from
:data:`optimal_confidence.spec.options.OPTIONS`, grouped as there; only what
selects the samples, checks a deployed threshold and shapes the output is
declared here.

``--install-plugin`` writes the plugin (:mod:`optimal_confidence.install`)
and takes no other option but ``--overwrite``.

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
from typing import Any, NamedTuple, Sequence

from .spec.options import GROUPS, OPTIONS, Option, help_text, speak
from .outputs.reports_certainty import calibration_table

def _default_text(o: Option) -> str:
    if o.cli_flag is not None:
        return ""
    if o.kind == "field":
        return f" (default: {o.none})"
    if o.default is None:
        return f" (default: {o.none})" if o.none else ""
    return f" (default: {o.default})"


def add_option(group: Any, o: Option) -> None:
    """Adds option ``o`` to an argparse group. Options the user does not
    give are left out of the namespace, so the request takes the spec's
    default; values are checked by the request, not by argparse, so a bad
    value gets the same one-line message as in the API."""
    kwargs: dict[str, Any] = dict(dest=o.name, default=argparse.SUPPRESS)
    text = help_text(o, "cli") + speak(_default_text(o), "cli")
    if o.cli_flag is not None:
        kwargs.update(action="store_const", const=o.cli_flag)
    elif o.kind == "fields" or o.cli_extra:
        kwargs.update(action="append", metavar=o.metavar)
    else:
        kwargs["type"] = {"float": float, "int": int}.get(o.kind, str)
        if o.kind == "choice":
            kwargs["metavar"] = "{" + ",".join(c.value for c in o.choices) + "}"
        elif o.metavar:
            kwargs["metavar"] = o.metavar
    group.add_argument(o.flag, help=text.replace("%", "%%"), **kwargs)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    for key, title in GROUPS.items():
        group = p.add_argument_group(title.lower())
        for o in OPTIONS:
            if o.group == key and o.flag:
                add_option(group, o)


def _add_after_deployment(p: argparse.ArgumentParser) -> None:
    after = p.add_argument_group("after deployment: the label plan")
    after.add_argument("--plan-file", metavar="PATH",
                       help="with --plan-labels: save the plan here; with --verify: read it")
    after.add_argument(
        "--verify", action="store_true",
        help="with --estimate-on: verify the threshold with the new images labeled in --gt "
        "(drawn by --plan-file, else taken as a uniform sample)",
    )


def _add_cli_options(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("what to sweep")
    which = src.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="the FiftyOne dataset to sweep")
    which.add_argument(
        "--demo",
        action="store_true",
        help="sweep the demo dataset, building it (locally, no downloads) "
        "when it does not exist",
    )
    which.add_argument(
        "--install-plugin", action="store_true",
        help="write the FiftyOne plugin into FiftyOne's plugins folder "
        "(FIFTYONE_PLUGINS_DIR), for the App and foo.get_operator; with "
        "--overwrite, replace another copy of it",
    )
    src.add_argument(
        "--rebuild-demo", action="store_true",
        help="with --demo: delete the demo dataset and build it anew",
    )
    src.add_argument(
        "--demo-samples", type=int, default=200,
        help="size of the demo dataset (default: 200)",
    )
    src.add_argument("--view", help="sweep this saved view of the dataset")
    src.add_argument("--tag", help="sweep only the samples with this tag")
    held = p.add_argument_group("held-out check")
    held.add_argument("--check-tag", metavar="TAG", help="check the chosen threshold on the samples with this tag")
    held.add_argument("--check-view", metavar="NAME", help="check the chosen threshold on this saved view")
    _add_after_deployment(p)
    gate = p.add_argument_group("check a deployed threshold (for CI)")
    gate.add_argument("--at", type=float, metavar="T", help="report the metrics at threshold T")
    for name in ("f1", "precision", "recall"):
        gate.add_argument(
            f"--min-{name}", type=float, metavar="X",
            help=f"with --at: exit 1 when {name} at T is below X",
        )
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    out.add_argument(
        "--plot", metavar="PNG",
        help="also write the curves (P/R/F1 against the threshold, and the "
        "PR curve) to this PNG file (an existing file only with --overwrite)",
    )
    out.add_argument("--rows", type=int, default=5, help="table rows around the best (default: 5)")
    out.add_argument(
        "--calibration", action="store_true",
        help="also print the reliability diagram: per confidence bin, the "
        "predictions, their mean confidence and the share right, and the ECE",
    )


def parser(prog: str = "optimal-confidence") -> argparse.ArgumentParser:
    """The command line's parser: its own options, then the run's options
    by group."""
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Find the confidence threshold to deploy a model at for a "
            "FiftyOne prediction field, from the exact curve at every "
            "confidence."
        ),
    )
    _add_cli_options(p)
    _add_run_options(p)
    return p


def request_options(args: argparse.Namespace) -> dict[str, Any]:
    """The run options the user gave; the others take the spec's defaults,
    but the fields not given, which are chosen from the samples (None)."""
    names = {o.name for o in OPTIONS}
    given = {k: v for k, v in vars(args).items() if k in names}
    given.setdefault("gt_field", None)
    for o in OPTIONS:
        values = given.get(o.name)
        if o.cli_extra and isinstance(values, list):
            # repeats of the flag: the first is the option, the rest extra
            given[o.name] = values[0]
            if len(values) > 1:
                given[o.cli_extra] = (given.get(o.cli_extra) or []) + values[1:]
    return given


def _log_to_stderr() -> None:
    """Sends FiftyOne's log lines (database notices, "Evaluating
    detections...") to stderr, so that stdout holds only the result and
    ``--json`` output can be piped."""
    import fiftyone.core.logging as fol

    for logger in fol._get_loggers():
        for handler in logger.handlers:
            if getattr(handler, "stream", None) is sys.stdout:
                handler.setStream(sys.stderr)


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


def _select(dataset: Any, view_name: str | None, tag: str | None) -> Any:
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


def connect() -> None:
    """Connects to FiftyOne's database (starting it, unless
    ``FIFTYONE_DATABASE_URI`` names one).

    Raises:
        ValueError: saying what failed and what to do
            (:func:`~optimal_confidence.install.database_help`)
    """
    import fiftyone.core.odm.database as fod

    from .install import database_help

    try:
        fod.get_db_conn().command("ping")
    except Exception as e:  # service, config, pymongo and version errors alike
        reason = " ".join(str(e).split())[:300] or type(e).__name__
        raise ValueError(
            f"FiftyOne could not start or reach its database ({reason}). {database_help()}"
        ) from None


def _dataset(args: argparse.Namespace) -> Any:
    import fiftyone as fo

    connect()
    if args.demo:
        from .demo import load_demo_dataset

        return load_demo_dataset(args.demo_samples, rebuild=args.rebuild_demo)
    if not fo.dataset_exists(args.dataset):
        raise ValueError(
            f"No dataset named '{args.dataset}'. Datasets: "
            f"{fo.list_datasets() or 'none'}"
        )
    return fo.load_dataset(args.dataset)


class _Found(NamedTuple):
    dataset: Any
    samples: Any
    outcome: Any
    check: Any
    calibration: Any = None
    after: dict[str, Any] = {}


def _check_cli_args(args: argparse.Namespace, options: dict[str, Any]) -> None:
    """The command line's own arguments, checked before anything is read
    or written."""
    if args.demo and args.demo_samples < 1:
        raise ValueError(f"--demo-samples must be at least 1; got {args.demo_samples}")
    if args.rows < 0:
        raise ValueError(f"--rows must be at least 0; got {args.rows}")
    if args.verify and not options.get("estimate_on"):
        raise ValueError("--verify goes with --estimate-on TAG_OR_VIEW (the new images, some now labeled)")
    if args.verify and options.get("plan_labels") is not None:
        raise ValueError("--plan-labels chooses images to label, --verify uses them once labeled: one at a time")
    if args.plan_file and not (args.verify or options.get("plan_labels")):
        raise ValueError("--plan-file goes with --plan-labels (to save the plan) or --verify (to read it)")


def _verify(args: argparse.Namespace, samples: Any, outcome: Any) -> Any:
    """``--verify``: the new images' labels, drawn by ``--plan-file`` (else
    taken as a uniform sample)."""
    from .certainty.labeling import LabelPlan
    from .run.jobs import new_images

    plan = None
    if args.plan_file:
        try:
            with open(args.plan_file) as f:
                plan = LabelPlan.from_dict(json.load(f))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"--plan-file {args.plan_file}: cannot read a label plan ({e})") from None
    new = new_images(samples, args.estimate_on_name)
    return outcome.result.verify(new, gt_field=outcome.result.config.gt_field, plan=plan)


def compute(args: argparse.Namespace, options: dict[str, Any]) -> _Found:
    """Checks the options, loads the samples and runs the request; the
    held-out check when asked for.

    Raises:
        ValueError: for bad input, before anything is written
    """
    from .run.jobs import execute
    from .spec.request import RunRequest

    request = RunRequest.build(**options)
    _check_cli_args(args, options)
    dataset = _dataset(args)
    samples = _select(dataset, args.view, args.tag)
    held_out = (
        _select(dataset, args.check_view, args.check_tag)
        if args.check_view or args.check_tag
        else None
    )
    checks, calibrations = [], []

    def before_store(outcome: Any) -> None:
        # before storing: a path that cannot be written stores nothing
        if held_out is not None:
            checks.append(outcome.result.check_on(held_out))
        if args.calibration:  # confidences outside [0, 1] fail here
            calibrations.append(outcome.result.calibration())

    from .store.files import file_write, text_writer

    files = []
    if args.plot:  # the figure is written with the rest of the plan
        plot = file_write(args.plot, overwrite=request.overwrite, option="--plot")
        files.append((plot, lambda outcome, tmp: _write_plot(outcome.result, tmp, outcome.band)))
    if args.plan_file and request.plan_labels is not None:  # the label plan, to verify later
        saved = file_write(args.plan_file, overwrite=request.overwrite, option="--plan-file")
        files.append((saved, lambda outcome, tmp: text_writer(json.dumps(outcome.label_plan.to_dict()) + "\n")(tmp)))
    outcome = execute(
        samples, request, progress=False, strict_band=True, before_store=before_store, files=files
    )
    args.estimate_on_name = request.estimate_on
    after = {"verification": _verify(args, samples, outcome)} if args.verify else {}
    return _Found(
        dataset, samples, outcome, checks[0] if checks else None,
        calibrations[0] if calibrations else None, after,
    )


def _at(result: Any, t: float, args: argparse.Namespace) -> dict[str, Any]:
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


def _print_json(found: _Found, at: dict[str, Any] | None) -> None:
    o = found.outcome
    result, band = o.result, o.band
    out = {"dataset": found.dataset.name, **result.metrics(), "warnings": result.warnings}
    out.update(o.done())
    if found.calibration is not None:
        out["calibration"] = found.calibration.to_dict()
    if at is not None:
        out["at"] = at
    if band is not None:
        out["review_band"] = band.to_dict()
    if found.check is not None:
        out["held_out"] = found.check.to_dict()
    for name, value in found.after.items():
        out[name] = value.to_dict()
    if o.label_plan is not None:
        out["label_plan"]["draws"] = o.label_plan.budget
    print(json.dumps(out, indent=2, default=_plain))


def _print_text(args: argparse.Namespace, found: _Found, at: dict[str, Any] | None) -> None:
    result, band = found.outcome.result, found.outcome.band
    print(f"Dataset '{found.dataset.name}' ({len(found.samples)} samples)")
    print(result.report(num_rows=args.rows))
    if band is not None:
        print("\nReview band: " + band.summary())
    if found.check is not None:
        print("\nHeld-out check: " + found.check.summary())
    if at is not None:
        print(
            f"\nAt threshold {at['threshold']:g}: F1 {at['f1']:.4f}  "
            f"precision {at['precision']:.4f}  recall {at['recall']:.4f}  "
            f"TP {at['tp']}  FP {at['fp']}  FN {at['fn']}"
        )
    o = found.outcome
    if o.comparison is not None:
        print("\nModels compared:\n" + o.comparison.report())
    if result.run_key:
        print(f"\nStored as run '{result.run_key}' on dataset '{found.dataset.name}'")
    if o.exported:
        print(f"\nOperating point exported to {o.exported}")
    if o.evaluation:
        print(f"\nFiftyOne evaluation at the chosen threshold stored as '{o.evaluation}'")
    if o.calibrated_field:
        print(f"\nCalibrated confidences written to the new field '{o.calibrated_field}'")
    if found.calibration is not None:
        print("\n" + calibration_table(found.calibration))
    if o.estimate is not None:
        print(f"\nOn the new images '{args.estimate_on_name}': " + o.estimate.report())
    if o.label_plan is not None:
        print(f"\nLabel plan: {o.label_plan.summary()}; tagged '{o.label_tag}'")
    if "verification" in found.after:
        print("\n" + found.after["verification"].summary())


def _plain(value: Any) -> Any:
    """JSON for numpy values."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _write_plot(result: Any, path: str, band: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import plot_curves

    fig = plot_curves(result, band=band)
    try:
        fig.savefig(path, dpi=100)
    except OSError as e:
        raise ValueError(f"--plot {path}: cannot write it ({e.strerror or e})") from None
    finally:
        plt.close(fig)


def print_outcome(args: argparse.Namespace, found: _Found) -> int:
    """Prints the result (JSON or tables), writes the plot, and returns the
    exit status of the ``--min-*`` checks."""
    result = found.outcome.result
    at = _at(result, args.at, args) if args.at is not None else None
    if args.json:
        _print_json(found, at)
    else:
        _print_text(args, found, at)
    if args.plot and not args.json:
        print(f"\nCurves written to {os.path.abspath(args.plot)}")
    if at is not None and at["failed"]:
        print(
            f"check failed at threshold {args.at:g}: " + "; ".join(at["failed"]),
            file=sys.stderr,
        )
        return 1
    return 0


def _install_plugin(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``--install-plugin``: writes the plugin and says where and how to
    use it."""
    from .install import install_plugin

    flags = {a.dest: a.option_strings[0] for a in p._actions if a.option_strings}
    others = sorted(
        flags.get(k, k) for k, v in vars(args).items()
        if k not in ("install_plugin", "overwrite") and v != p.get_default(k)
    )
    if others:
        p.error(f"--install-plugin takes no other option but --overwrite; got {', '.join(others)}")
    try:
        installed = install_plugin(overwrite=bool(getattr(args, "overwrite", False)))
    except ValueError as e:
        _print_error(e)
        return 2
    print(installed.summary())
    return 0


def _print_error(e: Exception) -> None:
    """One line on stderr; the messages name options as the API does, the
    command line says them as flags."""
    print(f"error: {speak(str(e), 'cli')}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, *, prog: str = "optimal-confidence") -> int:
    """Runs the command line (the ``optimal-confidence`` command, or
    ``python -m optimal_confidence``); returns the exit status."""
    p = parser(prog)
    args = p.parse_args(argv)
    if args.install_plugin:
        return _install_plugin(p, args)
    if args.at is None and any(
        getattr(args, f"min_{n}") is not None for n in ("f1", "precision", "recall")
    ):
        p.error("--min-f1/--min-precision/--min-recall need --at T")
    if args.rebuild_demo and not args.demo:
        p.error("--rebuild-demo goes with --demo")

    # stdout holds only the result: FiftyOne's log lines (its handlers hold
    # the real stdout, so before the redirect) and progress bars go to stderr
    _log_to_stderr()
    with contextlib.redirect_stdout(_ToStderr()):
        try:
            found = compute(args, request_options(args))
        except ValueError as e:
            _print_error(e)
            return 2
    return print_outcome(args, found)
