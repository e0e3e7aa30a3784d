"""The write plan: everything a request will write, checked as a whole
before the first write.

A :class:`Write` names one thing the package writes: a run record
(``"run"``), a FiftyOne evaluation with the sample fields and label
attributes it creates (``"evaluation"``), a new label field
(``"field"``), a file (``"file"``) or a tag on samples (``"tag"``).
:func:`check_writes` holds a list of them against the dataset:

-   its schema: sample and frame fields, FiftyOne's reserved names, and
    the attributes of the label objects an evaluation writes onto (declared
    in the schema, built into the label types, and present in the documents
    of dynamic schemas);
-   its runs, evaluations and brain runs;
-   each other (two writes of one name, an evaluation's field that is also
    the calibrated field, ...);
-   the disk (a file that exists, a folder that cannot be written).

A conflict is refused with an :class:`~optimal_confidence.spec.options.OptionError`
naming the option, the name and what it would replace. ``overwrite``
replaces only what this package wrote: its runs (their ``method``), its
evaluations (marked in the database when they are written, with their
timestamp) and calibrated fields (marked in the field's ``info``); never
ground truth, predictions or a user's field, run or evaluation.

How a plan is carried out (all or nothing) is :mod:`.transaction`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable

from ..spec.options import OptionError, check_value
from .marks import get_mark, mark, same_time
from .names import RUN_METHOD, free_name, is_internal_key

__all__ = [
    "CALIBRATED_MARK",
    "Write",
    "check_writes",
    "evaluation_fields",
    "evaluation_label_attributes",
    "label_attributes",
    "mark_evaluation",
    "mark_field",
    "owns_evaluation",
    "owns_field",
    "owns_tag",
    "check_run_key",
    "inside",
    "suggest_eval_key",
]

#: the key of a field's ``info`` that marks a field a calibrator wrote
#: (the value: the predictions field it was calibrated from)
CALIBRATED_MARK = "optimal_confidence_calibrated_from"

#: sample and frame fields of FiftyOne's own (besides the dataset's
#: defaults, read from the dataset)
_RESERVED_FIELDS = {
    "id", "_id", "filepath", "tags", "metadata", "media_type", "_media_type",
    "created_at", "last_modified_at", "frames", "frame_number", "_rand",
    "_dataset_id", "_sample_id", "media_reference",
}

#: the sample fields an evaluation ``<key>`` writes, by suffix
_EVALUATION_FIELDS = ("_tp", "_fp", "_fn")
#: the attributes an evaluation ``<key>`` writes on each object, by suffix
_EVALUATION_ATTRIBUTES = ("", "_id", "_iou")


@dataclass(frozen=True)
class Write:
    """One thing a request writes.

    Attributes:
        kind: ``"run"``, ``"evaluation"``, ``"field"``, ``"file"`` or ``"tag"``
        name: the run key, evaluation key, field (``frames.<name>`` for a
            frame field), absolute file path, or tag
        option: the option that asks for it (named in refusals)
        overwrite: whether it may replace what this package wrote before
        label_fields: for an evaluation, the prediction and ground truth
            fields whose objects get its attributes
        video: for an evaluation, whether it also writes frame fields
        source_field: for a field, the predictions field it is written
            from (its label type must match a field it replaces)
        root: for a file, the folder it must stay inside (the App's
            export folder), checked again right before it is written
    """

    kind: str
    name: str
    option: str
    overwrite: bool = False
    label_fields: tuple[str, ...] = ()
    video: bool = False
    source_field: str | None = None
    root: str | None = None

    def __post_init__(self) -> None:
        _check_name(self)  # of the right type, before anything else reads it

    def names(self) -> list[tuple[str, str]]:
        """The ``(kind, name)`` pairs of the dataset this write touches:
        what it claims while the plan is carried out."""
        if self.kind == "evaluation":
            return [("evaluation", self.name)] + [("field", p) for p in evaluation_fields(self)]
        return [(self.kind, self.name)]


def evaluation_fields(write: Write) -> list[str]:
    """The sample (and, for video, frame) fields an evaluation writes."""
    out = [write.name + s for s in _EVALUATION_FIELDS]
    if write.video:
        out += ["frames." + write.name + s for s in _EVALUATION_FIELDS]
    return out


def evaluation_label_attributes(key: str) -> list[str]:
    """The attributes an evaluation ``key`` writes on every object."""
    return [key + s for s in _EVALUATION_ATTRIBUTES]


# ---------------------------------------------------------------------------
# What the dataset has


def _field_paths(dataset: Any) -> set[str]:
    paths = set(dataset.get_field_schema(flat=True))
    if dataset._has_frame_fields():
        paths |= {"frames." + p for p in dataset.get_frame_field_schema(flat=True)}
    return paths


def _reserved(dataset: Any) -> set[str]:
    return _RESERVED_FIELDS | set(dataset._get_default_sample_fields(include_private=True))


def _list_path(dataset: Any, field: str) -> tuple[str, bool, bool]:
    """``(path in the documents, is a list, on frames)`` of a label field."""
    frames = field.startswith("frames.")
    name = field[len("frames."):] if frames else field
    label_type = dataset._get_label_field_type(field)
    list_field = getattr(label_type, "_LABEL_LIST_FIELD", None)
    return (f"{name}.{list_field}" if list_field else name), bool(list_field), frames


def label_attributes(dataset: Any, field: str) -> set[str]:
    """Every attribute the objects of label field ``field`` have or may
    have: the label type's own, those declared in the schema, and every key
    present in the documents (a dynamic schema declares none)."""
    path, is_list, frames = _list_path(dataset, field)
    label_type = dataset._get_label_field_type(field)
    element = getattr(label_type, "_LABEL_LIST_FIELD", None)
    element_type = dataset.get_field(f"{field}.{element}").field.document_type if element else label_type
    out = {f for f in element_type._fields_ordered if f != "_cls"}
    prefix = f"{field}.{element}." if element else f"{field}."
    out |= {p[len(prefix):].split(".")[0] for p in _field_paths(dataset) if p.startswith(prefix)}
    collection = dataset._frame_collection if frames else dataset._sample_collection
    pipeline: list[dict[str, Any]] = [
        {"$match": {path: {"$exists": True, "$ne": None}}},
        {"$project": {"x": "$" + path}},
    ]
    if is_list:
        pipeline.append({"$unwind": "$x"})
    pipeline += [
        {"$project": {"k": {"$map": {"input": {"$objectToArray": "$x"}, "as": "p", "in": "$$p.k"}}}},
        {"$unwind": "$k"},
        {"$group": {"_id": "$k"}},
    ]
    keys = {d["_id"] for d in collection.aggregate(pipeline, allowDiskUse=True)}
    return out | {"id" if k == "_id" else k for k in keys if k != "_cls"}


def owns_evaluation(dataset: Any, key: str) -> bool:
    """Whether evaluation ``key`` is one this package ran (and nobody
    replaced since: the mark holds its timestamp)."""
    if key not in dataset.list_evaluations():
        return False
    m = get_mark(dataset, "evaluation", key)
    return m is not None and same_time(m.get("timestamp"), dataset.get_evaluation_info(key).timestamp)


def mark_evaluation(dataset: Any, key: str) -> None:
    """Marks evaluation ``key`` as run by this package (``overwrite`` may
    replace it later)."""
    mark(dataset, "evaluation", key, timestamp=dataset.get_evaluation_info(key).timestamp)


def owns_field(dataset: Any, path: str) -> bool:
    """Whether field ``path`` is one a calibrator wrote (its ``info``
    says so, and the mark holds its ``created_at``: not a clone or a
    namesake)."""
    if not dataset.has_field(path):
        return False
    field = dataset.get_field(path)
    m = get_mark(dataset, "field", path)
    return (
        CALIBRATED_MARK in (getattr(field, "info", None) or {})
        and m is not None
        and same_time(m.get("created_at"), getattr(field, "created_at", None))
    )


def owns_tag(dataset: Any, tag: str) -> bool:
    """Whether the samples tagged ``tag`` are those this package tagged."""
    m = get_mark(dataset, "tag", tag)
    if m is None:
        return False
    return sorted(dataset.match_tags(tag).values("id")) == sorted(m.get("ids") or [])


def mark_field(dataset: Any, path: str) -> None:
    """Marks field ``path`` as written by a calibrator."""
    dataset.reload()
    mark(dataset, "field", path, created_at=dataset.get_field(path).created_at)


def suggest_eval_key(samples: Any, base: str) -> str:
    """The first key among ``base``, ``base_2``, ... that is neither an
    evaluation, a run nor a brain run of the dataset, and none of whose
    fields (``<key>``, ``<key>_tp``, ...: on samples, frames or labels)
    exists."""
    ds = samples._root_dataset
    keys = set(ds.list_evaluations()) | set(ds.list_runs()) | set(ds.list_brain_runs())
    names = {p.rsplit(".", 1)[-1] for p in _field_paths(ds)}

    def taken(key: str) -> bool:
        return key in keys or any(n == key or n.startswith(key + "_") for n in names)

    key, i = base, 2
    while taken(key):
        key, i = f"{base}_{i}", i + 1
    return key


# ---------------------------------------------------------------------------
# The checks


class _Dataset:
    """What the checks read of a dataset, each read once."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.name = dataset.name
        self.runs = set(dataset.list_runs())
        self.evaluations = set(dataset.list_evaluations())
        self.brain_runs = set(dataset.list_brain_runs())
        self.paths = _field_paths(dataset)
        self.reserved = _reserved(dataset)
        self._attributes: dict[str, set[str]] = {}

    def attributes(self, field: str) -> set[str]:
        if field not in self._attributes:
            self._attributes[field] = label_attributes(self.dataset, field)
        return self._attributes[field]

    def run_method(self, key: str) -> str | None:
        return getattr(self.dataset.get_run_info(key).config, "method", None)


def _refuse(write: Write, message: str) -> OptionError:
    return OptionError(write.option, message)


def _check_run(d: _Dataset, w: Write) -> str | None:
    check_value("run_key", w.name)
    if is_internal_key(w.name):
        raise _refuse(w, f"{w.option} '{w.name}' is a name the package uses for runs being stored; choose another run key")
    if w.name not in d.runs:
        return None
    method = d.run_method(w.name)
    if method != RUN_METHOD:
        raise _refuse(
            w,
            f"Dataset '{d.name}' already has a run '{w.name}' of method {method!r}, "
            f"which optimal_confidence did not store: it is never replaced, not even "
            f"with overwrite; choose another run key",
        )
    if not w.overwrite:
        raise _refuse(
            w,
            f"Dataset '{d.name}' already has a run '{w.name}', and a run key that "
            f"already exists is never replaced unasked: choose another run key "
            f"(for example '{free_name(d.runs, w.name)}') or pass overwrite=True to "
            f"replace it",
        )
    return f"replaces the optimal_confidence run '{w.name}'"


def _check_evaluation(d: _Dataset, w: Write) -> str | None:
    key = w.name
    if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
        raise _refuse(w, f"{w.option} must be a valid identifier not starting with an underscore, e.g. 'deployed'; got {key!r}")
    if is_internal_key(key):
        raise _refuse(w, f"{w.option} '{key}' is a name the package uses for writes under way; choose another key")
    suggest = f"choose another key, e.g. '{suggest_eval_key(d.dataset, 'deployed')}'"
    if key in d.brain_runs:
        raise _refuse(w, f"'{key}' is a brain run of dataset '{d.name}'; {suggest}")
    ours = key in d.evaluations and owns_evaluation(d.dataset, key)
    if key in d.evaluations and not ours:
        raise _refuse(
            w,
            f"Dataset '{d.name}' already has an evaluation '{key}' that optimal_confidence "
            f"did not run: it is never replaced, not even with overwrite; {suggest}",
        )
    if ours and not w.overwrite:
        raise _refuse(
            w,
            f"Dataset '{d.name}' already has an evaluation '{key}'; choose another key "
            f"or pass overwrite=True to replace it",
        )
    replaced_fields: set[str] = set()
    if ours:
        old = d.dataset.get_evaluation_info(key).config
        replaced_fields = {old.pred_field, old.gt_field}
    else:
        for path in evaluation_fields(w):
            if path in d.paths or path.split(".")[-1] in d.reserved:
                raise _refuse(
                    w,
                    f"{w.option} '{key}' would write the field '{path}', which dataset "
                    f"'{d.name}' already has (or FiftyOne reserves); {suggest}",
                )
    for field in w.label_fields:
        if field in replaced_fields:  # the attributes are the replaced evaluation's
            continue
        clash = sorted(set(evaluation_label_attributes(key)) & d.attributes(field))
        if clash:
            raise _refuse(
                w,
                f"{w.option} '{key}' would write the attribute '{clash[0]}' of every "
                f"object of '{field}', which its objects already have: FiftyOne's "
                f"evaluation would overwrite it; {suggest}",
            )
    return f"replaces the evaluation '{key}' optimal_confidence ran, and its fields" if ours else None


def _check_field(d: _Dataset, w: Write) -> str | None:
    path = w.name
    name = path.split(".")[-1]
    if name in d.reserved:
        raise _refuse(w, f"{w.option} '{name}' is a field FiftyOne reserves; name a new field")
    if is_internal_key(name):
        raise _refuse(w, f"{w.option} '{name}' is a name the package uses for writes under way; name another field")
    if path not in d.paths:
        return None
    field = d.dataset.get_field(path)
    source = (getattr(field, "info", None) or {}).get(CALIBRATED_MARK)
    ours = owns_field(d.dataset, path)
    if not w.overwrite:
        unless = " or pass overwrite=True to replace it" if ours else " (a calibrator did not write it: it is never replaced)"
        raise _refuse(w, f"Dataset '{d.name}' already has a field '{path}'; name a new field{unless}")
    if not ours:
        raise _refuse(
            w,
            f"Field '{path}' of dataset '{d.name}' was not written by a calibrator, and "
            f"overwrite only replaces calibrated confidences: name a new field (or "
            f"delete '{path}' yourself if you mean to)",
        )
    if w.source_field is not None:
        want = d.dataset._get_label_field_type(w.source_field)
        if getattr(field, "document_type", None) is not want:
            raise _refuse(
                w,
                f"Field '{path}' holds {getattr(field.document_type, '__name__', field)} "
                f"calibrated earlier, and '{w.source_field}' holds {want.__name__}: name a "
                f"new field",
            )
    return f"replaces the calibrated confidences in '{path}' (from '{source}')"


def inside(path: str, root: str) -> bool:
    """Whether ``path``, its symlinks resolved, lies inside ``root`` (also
    resolved)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real != real_root and os.path.commonpath([real, real_root]) == real_root


def _check_file(w: Write) -> str | None:
    path = w.name
    if w.root is not None and not inside(path, w.root):
        raise _refuse(w, f"{w.option} must stay inside {w.root}; {path} leads to {os.path.realpath(path)}")
    if os.path.isdir(path):
        raise _refuse(w, f"{path} is a folder; name a file")
    folder = os.path.dirname(path)
    existing = folder
    while existing and not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    if existing and not os.access(existing, os.W_OK | os.X_OK):
        raise _refuse(w, f"Cannot write {path}: the folder {existing} is not writable")
    if os.path.lexists(path):
        if not w.overwrite:
            raise _refuse(
                w,
                f"{path} already exists and is never replaced unasked; choose another "
                f"path or pass overwrite=True to replace it",
            )
        return f"replaces the file {path}"
    return None


def _check_tag(d: _Dataset, w: Write) -> str | None:
    tagged = d.dataset.match_tags(w.name).count()
    if not tagged:
        return None
    if not (w.overwrite and owns_tag(d.dataset, w.name)):
        unless = " or pass overwrite=True to move it" if owns_tag(d.dataset, w.name) else " (not tagged by this package: never moved)"
        raise _refuse(
            w,
            f"{tagged} samples of dataset '{d.name}' already have the tag '{w.name}'; "
            f"choose another tag{unless}",
        )
    return f"moves the tag '{w.name}' from the {tagged} samples this package tagged"


def _check_name(w: Write) -> None:
    """A name of the right type, before anything else reads it."""
    if not isinstance(w.name, str) or not w.name or "\0" in w.name:
        what = {"file": "a file path", "run": "a run key", "evaluation": "an evaluation key"}.get(w.kind, "a name")
        raise _refuse(w, f"{w.option} must be {what}; got {w.name!r}")
    if not isinstance(w.overwrite, bool):
        raise OptionError("overwrite", f"overwrite must be True or False; got {w.overwrite!r}")


def _check_together(writes: list[Write]) -> None:
    """Two writes of one name, or a field that another write creates."""
    seen: dict[tuple[str, str], Write] = {}
    for w in writes:
        for kind, name in w.names():
            other = seen.get((kind, name))
            if other is not None and other is not w:
                raise OptionError(
                    w.option,
                    f"{w.option} '{w.name}' and {other.option} '{other.name}' would both "
                    f"write the {kind} '{name}'; give them different names",
                )
            seen[(kind, name)] = w


def check_run_key(samples: Any, run_key: str, overwrite: bool) -> None:
    """Refuses a run key that is not an identifier, that the dataset has
    (unless ``overwrite``), or whose run this package did not store.

    Raises:
        OptionError: naming ``run_key``
    """
    check_writes(samples, [Write("run", run_key, "run_key", overwrite=overwrite)])


def check_writes(samples: Any, writes: Iterable[Write]) -> list[str]:
    """Checks every write of a plan against the dataset of ``samples``, the
    disk and each other; nothing is written. (``samples`` may be None for
    a plan of files only.)

    Returns:
        what the plan replaces, in words (empty when it replaces nothing)

    Raises:
        OptionError: for the first conflict, naming the option, the name
            and what it would replace
    """
    writes = list(writes)
    _check_together(writes)
    d = _Dataset(samples._root_dataset) if any(w.kind != "file" for w in writes) else None
    if d is not None and samples._dataset is not samples._root_dataset:
        for w in writes:
            if w.kind in ("evaluation", "field", "tag"):
                raise _refuse(
                    w,
                    f"{w.option}: this is a patches, clips or frames view, whose samples are "
                    f"not the dataset's; write from a view of the dataset's own samples",
                )
    replaced = []
    for w in writes:
        if w.kind == "run":
            what = _check_run(d, w)
        elif w.kind == "evaluation":
            what = _check_evaluation(d, w)
        elif w.kind == "field":
            what = _check_field(d, w)
        elif w.kind == "file":
            what = _check_file(w)
        elif w.kind == "tag":
            what = _check_tag(d, w)
        else:
            raise ValueError(f"unknown write kind {w.kind!r}")
        if what:
            replaced.append(what)
    return replaced
