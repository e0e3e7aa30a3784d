"""The example notebook, run in a real Jupyter kernel (``nbclient``), as a
user runs it: the operator called like a function inside Jupyter's running
event loop, the figure inline, the counts as numbers, a delegated run."""

import os
import re

import nbclient
import nbformat

import fiftyone as fo
from fiftyone.operators.delegated import DelegatedOperationService

from optimal_confidence import compute_optimal_confidence
from optimal_confidence.demo import DEMO_DATASET_NAME

from conftest import ROOT

NOTEBOOK = os.path.join(ROOT, "examples", "notebook.ipynb")


def _text(cell):
    out = []
    for o in cell.get("outputs", []):
        if "text" in o:
            out.append(o["text"])
        out.append(o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def _cell(nb, source_start):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start))


def test_the_example_notebook_runs_in_a_real_kernel(tmp_path):
    existed = fo.dataset_exists(DEMO_DATASET_NAME)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    env = dict(
        os.environ,  # the tests' plugins directory and database
        PYTHONPATH=ROOT,
        FIFTYONE_DEFAULT_DATASET_DIR=str(tmp_path / "datasets"),
    )
    try:
        client.execute(env=env)
        ds = fo.load_dataset(DEMO_DATASET_NAME)
        expected = compute_optimal_confidence(ds, "predictions", "ground_truth", progress=False)

        # the operator's call returned the result, not a task to await
        shown = _text(_cell(nb, "op = foo.get_operator"))
        assert shown.startswith("<OptimalConfidenceResult 'predictions' vs 'ground_truth'")
        assert f"best threshold {expected.best_threshold:.4g}" in shown
        stored = re.search(r"'(optimal_confidence\w*)'\)$", _text(_cell(nb, "result.best_threshold")).strip())
        assert stored and stored.group(1) in ds.list_runs()

        # the figure as a picture
        # the figure as a picture, once: as the cell's value, and when kept
        for source in ("oc.plot_curves(result)", "fig = oc.plot_curves("):
            images = [o for o in _cell(nb, source).outputs if "image/png" in o.get("data", {})]
            assert len(images) == 1, source
        assert (tmp_path / "car_curves.png").stat().st_size > 10_000

        # counts as plain numbers, at a threshold between the swept ones too
        tp, fp, fn = expected.counts_at(0.7)
        assert _text(_cell(nb, "result.counts_at(0.7)")).strip() == f"Counts(tp={tp}, fp={fp}, fn={fn})"
        assert f"'tp': {tp}" in _text(_cell(nb, "result.point(0.7)"))

        # a view, with the form's options
        report = _text(_cell(nb, "val = op("))
        val = compute_optimal_confidence(
            ds.match_tags("val"), "predictions", objective="precision", target=0.9, progress=False
        )
        assert f"Best threshold {val.best_threshold:.3f} by recall at precision >= 0.9" in report

        # delegated: queued, not run
        shown = _text(_cell(nb, "queued = op(")).strip()
        assert shown.startswith("<QueuedRun ") and shown.endswith(
            ", queued: `fiftyone delegated launch` runs it; .result() then loads it>"
        )
        queued = DelegatedOperationService().list_operations(dataset_name=DEMO_DATASET_NAME)
        assert len(queued) == 1
        assert _text(_cell(nb, "same = oc.")).strip() == "True"
    finally:
        if fo.dataset_exists(DEMO_DATASET_NAME):
            demo = fo.load_dataset(DEMO_DATASET_NAME)
            DelegatedOperationService().delete_for_dataset(demo._doc.id)
            if not existed:
                demo.delete()
