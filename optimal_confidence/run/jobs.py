"""A request with everything the command line and the operator do with it:
the sweep (or the comparison of several models), the review band, and
what it writes: the runs, FiftyOne's evaluation at the chosen threshold,
the calibrated confidences in a new field, the exported operating point
(and the command line's figure).

Every write goes through one write plan (:mod:`optimal_confidence.store`):
:func:`plan_writes` lists them from the request, :func:`check` holds them
against the dataset and the disk before anything is read, and
:func:`execute` carries them out all or nothing once the results are
computed.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Callable, Sequence

import fiftyone.core.collections as foc

from ..outputs import serving
from ..outputs.deployment import export_format, render
from ..records.fields import list_path, task_of
from ..records.sources import shared_fast_sources
from ..records.sweeping import Progress, choose_fields, prepare
from ..result.comparison import ModelComparison, comparison_run_key
from ..spec.options import OptionError
from ..spec.request import RunRequest
from ..store.calibrated import CalibratedFieldStep, field_write
from ..store.evaluation import EvaluationStep, check_evaluation_task, evaluation_write
from ..store.files import FileStep, confined_path, dataset_folder, file_write, text_writer
from ..store.plan import Write, check_writes
from ..store.runs import RemoveRunStep, RunStep, stale_members
from ..store.tags import TagStep, tag_write
from ..store.transaction import apply
from ..result import production
from .pipeline import Outcome, run

__all__ = ["FileOutput", "check", "execute", "model_requests", "new_images", "plan_writes"]

#: a file the caller adds to the plan (the command line's figure): its
#: write, and what writes its content to a path, given the outcome
FileOutput = tuple[Write, Callable[[Outcome, str], None]]


def model_requests(request: RunRequest) -> list[RunRequest]:
    """One request per model: ``pred_field``, then each of
    ``compare_with``, stored as ``<run_key>_<field>`` when compared."""
    fields = [request.pred_field, *(request.compare_with or [])]
    if len(fields) == 1:
        return [request]
    key = request.run_key
    return [
        request.replace(
            pred_field=f, compare_with=None,
            run_key=None if key is None else comparison_run_key(key, f),
        )
        for f in fields
    ]


def _prepared(samples: foc.SampleCollection, request: RunRequest) -> tuple[list[RunRequest], list[type]]:
    """One prepared request per model, and each one's label type."""
    # the fields first: the models compared and their run keys follow from them
    requests = model_requests(choose_fields(samples, request))
    prepared = [prepare(samples, r) for r in requests]
    return [r for r, _ in prepared], [t for _, t in prepared]


def plan_writes(
    samples: foc.SampleCollection,
    requests: Sequence[RunRequest],
    label_type: type,
    *,
    confine: bool = False,
) -> list[Write]:
    """Everything the request of ``requests`` (one per model, prepared)
    writes, in the order it is written: each model's run (and, when a
    comparison is overwritten, the removal of its old members), the
    evaluation, the calibrated field, the exported file. With ``confine``
    (the App), the export path is resolved inside the dataset's export
    folder (:func:`~optimal_confidence.store.files.confined_path`).

    Raises:
        OptionError: for a write that cannot be made (an evaluation of a
            classifier, a path out of the export folder, a format its
            extension contradicts, ...)
    """
    r = requests[0]
    writes = [Write("run", q.run_key, "run_key", overwrite=r.overwrite) for q in requests if q.run_key]
    if len(requests) > 1 and r.overwrite:
        keys = [q.run_key for q in requests if q.run_key]
        writes += [Write("run", k, "run_key", overwrite=True) for k in stale_members(samples, keys)]
    if r.evaluate_key is not None:
        check_evaluation_task(task_of(label_type, r.positive_label), "evaluate_key")
        writes.append(evaluation_write(r, r.evaluate_key, overwrite=r.overwrite, option="evaluate_key"))
    if r.calibrated_field is not None:
        writes.append(field_write(r.pred_field, r.calibrated_field, overwrite=r.overwrite, option="calibrated_field"))
    if r.plan_labels is not None:
        writes.append(tag_write(r.label_tag, overwrite=r.overwrite, option="label_tag"))
    if r.export_path is not None:
        name = samples._root_dataset.name
        path = confined_path(name, r.export_path) if confine else r.export_path
        fmt = export_format(path, r.export_format)
        serving.check_task(fmt, task_of(label_type, r.positive_label))
        if serving.needs_ids(fmt, r.per_class):
            _check_export_ids(samples, r, fmt, confine)
        root = dataset_folder(name) if confine else None
        writes.append(file_write(path, overwrite=r.overwrite, option="export_path", root=root))
    return writes


def _export_ids(samples: foc.SampleCollection, r: RunRequest, confine: bool) -> dict[str, Any]:
    """What numbers the exported classes (the keywords ``labels`` and
    ``classes`` of :func:`~optimal_confidence.outputs.deployment.render`):
    the ``export_labels`` file (in the App, inside the dataset's export
    folder), else the dataset's class list."""
    dataset = samples._root_dataset
    if r.export_labels is not None:
        path = confined_path(dataset.name, r.export_labels, "export_labels") if confine else r.export_labels
        return {"labels": path}
    return {"classes": serving.classes_of(dataset, r.pred_field, r.gt_field)}


def _check_export_ids(samples: foc.SampleCollection, r: RunRequest, fmt: str, confine: bool) -> None:
    """Refuses, before anything is read or written, an export whose
    classes have no ids: no labels file and no class list, or a class of
    the fields missing from them."""
    source = _export_ids(samples, r, confine)
    if source.get("labels") is not None:
        ids, where = serving.class_ids(source["labels"], "export_labels"), f"the labels file {source['labels']}"
    elif source.get("classes"):
        ids, where = serving.class_ids(source["classes"], "export_labels"), "the dataset's class list"
    else:
        raise serving.no_ids(fmt, "export_labels")
    if r.per_class:  # the classes a per-class sweep gives thresholds: those of its fields
        found: set[str] = set()
        for field in (r.pred_field, r.gt_field):
            found |= {c for c in samples.distinct(f"{list_path(samples, field)}.label") if c is not None}
        serving.check_classes(sorted(found), ids, fmt, "export_labels", where)


def check(
    samples: foc.SampleCollection, request: RunRequest, *, confine: bool = False,
    files: Sequence[FileOutput] = (),
) -> list[str]:
    """Checks ``request`` against ``samples`` as :func:`execute` would,
    before anything is read or written: its fields and options, and its
    write plan.

    Returns:
        what the plan would replace, in words

    Raises:
        OptionError: (a ``ValueError``) naming the option at fault
    """
    requests, label_types = _prepared(samples, request)
    writes = plan_writes(samples, requests, label_types[0], confine=confine)
    return check_writes(samples, writes + [w for w, _ in files])


def _steps(
    samples: foc.SampleCollection,
    requests: list[RunRequest],
    outcomes: list[Outcome],
    writes: list[Write],
    files: Sequence[FileOutput],
    confine: bool = False,
) -> list[Any]:
    """The steps that carry out ``writes`` (and ``files``) with the
    outcomes' results (each file's text made here, before anything is
    written: a class without an id is refused then)."""
    main, r = outcomes[0], requests[0]
    by_key = {q.run_key: o.result for q, o in zip(requests, outcomes) if q.run_key}
    extra: dict[str, Any] = {}
    if len(requests) > 1:
        extra = {"compared_with": [q.run_key for q in requests], "comparison": uuid.uuid4().hex}
    steps: list[Any] = []
    for w in writes:
        if w.kind == "run" and w.name in by_key:
            steps.append(RunStep(w, by_key[w.name], **extra))
        elif w.kind == "run":  # an overwritten comparison's old member
            steps.append(RemoveRunStep(w))
        elif w.kind == "evaluation":
            steps.append(EvaluationStep(w, main.result, samples))
        elif w.kind == "field":
            steps.append(CalibratedFieldStep(w, main.result.calibrator, samples, r.pred_field))
        elif w.kind == "file":
            fmt = export_format(w.name, r.export_format)
            ids = _export_ids(samples, r, confine) if fmt in serving.ID_FORMATS else {}
            steps.append(FileStep(w, text_writer(render(main.result, fmt, option="export_labels", **ids))))
        elif w.kind == "tag":
            steps.append(TagStep(w, main.label_plan.sample_ids))
    steps += [FileStep(w, lambda tmp, put=put: put(main, tmp)) for w, put in files]
    return steps


def new_images(samples: foc.SampleCollection, name: str) -> foc.SampleCollection:
    """The new images ``estimate_on`` names: a saved view of the dataset,
    else the samples with that tag.

    Raises:
        OptionError: when it names neither
    """
    dataset = samples._root_dataset
    if dataset.has_saved_view(name):
        return dataset.load_saved_view(name)
    tagged = dataset.match_tags(name)
    if len(tagged.limit(1)) == 0:
        raise OptionError(
            "estimate_on",
            f"Dataset '{dataset.name}' has no saved view '{name}' and no sample tagged "
            f"'{name}': name the new images by a saved view or a tag",
        )
    return tagged


def _after_deployment(samples: foc.SampleCollection, r: RunRequest, main: Outcome) -> Outcome:
    """The estimate on the new images ``estimate_on`` names, and the label
    plan asked for (tagged with the plan's other writes)."""
    new = new_images(samples, r.estimate_on)
    estimate, plan = production.estimate_and_plan(main.result, new, r.plan_labels, seed=0)
    return dataclasses.replace(main, estimate=estimate, label_plan=plan, label_tag=r.label_tag if plan else None)


def execute(
    samples: foc.SampleCollection,
    request: RunRequest,
    *,
    progress: Progress = None,
    strict_band: bool = True,
    before_store: Callable[[Outcome], None] | None = None,
    confine: bool = False,
    files: Sequence[FileOutput] = (),
) -> Outcome:
    """Runs ``request`` and its actions on ``samples``: checks the request
    and its write plan, sweeps each model, then carries out the plan all or
    nothing.

    Args:
        samples: a dataset or view
        request: a :class:`~optimal_confidence.spec.request.RunRequest`
        progress (None): FiftyOne's ``progress`` argument
        strict_band (True): see :func:`optimal_confidence.run.pipeline.run`
        before_store (None): called with the outcome before anything is
            written (the command line checks the threshold on held-out
            images there: a failure writes nothing)
        confine (False): whether the export path is confined to the
            dataset's export folder (the App's requests)
        files (()): more files to write with the plan (the command line's
            figure)

    Returns:
        the :class:`~optimal_confidence.run.pipeline.Outcome` of the first model
        (with the comparison, the file exported, the evaluation key and the
        calibrated field)

    Raises:
        OptionError: (a ``ValueError``) for bad input or a write the plan
            refuses, before anything is read or written
    """
    requests, label_types = _prepared(samples, request)
    writes = plan_writes(samples, requests, label_types[0], confine=confine)
    check_writes(samples, writes + [w for w, _ in files])  # before anything is read
    if requests[0].estimate_on is not None:
        new_images(samples, requests[0].estimate_on)
    sources = None
    if len(requests) > 1:
        sources = shared_fast_sources(samples, requests, label_types[0], progress)
    outcomes = [
        run(
            samples, r, progress=progress, strict_band=strict_band, store_result=False,
            source=s, label_type=t,
        )
        for r, t, s in zip(requests, label_types, sources or [None] * len(requests))
    ]
    comparison = (
        ModelComparison({r.pred_field: o.result for r, o in zip(requests, outcomes)})
        if len(requests) > 1 else None
    )
    main = dataclasses.replace(outcomes[0], comparison=comparison)
    if requests[0].estimate_on is not None:
        main = _after_deployment(samples, requests[0], main)
    if before_store is not None:
        before_store(main)
    apply(samples, _steps(samples, requests, [main, *outcomes[1:]], writes, files, confine))
    done = {w.kind: w.name for w in writes if w.kind in ("evaluation", "field", "file")}
    return dataclasses.replace(
        main,
        exported=done.get("file"),
        evaluation=done.get("evaluation"),
        calibrated_field=done.get("field"),
    )
