"""Per-class thresholds in the configs serving stacks read (the formats of
:func:`optimal_confidence.outputs.deployment.export` beyond JSON, YAML and
Ultralytics).

Stacks with per-class thresholds get them in their own keys, each class by
its id (a line of the model's labels file, 0 first):

- ``"deepstream"``: the ``[class-attrs-all]`` and ``[class-attrs-<id>]``
  groups (``pre-cluster-threshold``) of DeepStream's ``nvinfer`` config
  file (a GKeyFile, INI-like), to merge into the model's config;
  ``"deepstream-yaml"``: the same as ``nvinfer``'s YAML config mappings;
- ``"nvinferserver"``: ``infer_config { postprocess { detection {
  per_class_params ... } } }`` of DeepStream's Triton plugin (protobuf text);
- ``"roboflow"``: a Roboflow Workflows step
  ``roboflow_core/per_class_confidence_filter@v1`` (``class_thresholds`` by
  name and ``default_threshold``; no ids).

Engines with one scalar threshold (``"tensorrt"``: ``EfficientNMS_TRT``'s
``score_threshold``; ``"onnx"``: ``NonMaxSuppression``'s
``score_threshold`` input; ``"detectron2"``: ``MODEL.ROI_HEADS`` and
``MODEL.RETINANET`` ``SCORE_THRESH_TEST``; ``"mmdetection"``:
``model.test_cfg.score_thr`` and ``model.test_cfg.rcnn.score_thr``) get the
lowest threshold, so that the engine drops nothing a class keeps, and the
whole config with the file, for the filter after the engine
(:func:`~optimal_confidence.outputs.deployment.apply_thresholds`): on a
comment line (:data:`CONFIG_MARK`) of text formats, under the key
``"optimal_confidence"`` of JSON ones.

Pure Python: no FiftyOne, and no protobuf (the text is written by hand).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ..spec.options import OptionError

__all__ = [
    "CONFIG_MARK",
    "ID_FORMATS",
    "SERVING_FORMATS",
    "check_body",
    "class_ids",
    "classes_of",
    "config_of",
    "ids_for",
    "lowest",
    "needs_ids",
    "read_labels",
    "serving_text",
]

#: the comment line of a written file that holds the whole config
CONFIG_MARK = "# optimal_confidence: "

#: each format: the language of its file and what reads it
SERVING: dict[str, tuple[str, str]] = {
    "deepstream": ("ini", "DeepStream nvinfer per-class thresholds"),
    "deepstream-yaml": ("yaml", "DeepStream nvinfer per-class thresholds (YAML config)"),
    "nvinferserver": ("pbtxt", "DeepStream nvinferserver (Triton) per-class thresholds"),
    "roboflow": ("json", "Roboflow Workflows per-class confidence filter step"),
    "tensorrt": ("json", "TensorRT EfficientNMS_TRT score threshold"),
    "onnx": ("json", "ONNX NonMaxSuppression score threshold"),
    "detectron2": ("yaml", "Detectron2 config"),
    "mmdetection": ("py", "MMDetection config"),
}
SERVING_FORMATS = tuple(SERVING)

#: the formats that name classes by id
ID_FORMATS = ("deepstream", "deepstream-yaml", "nvinferserver")

#: the type of Roboflow's per-class confidence filter block
ROBOFLOW_TYPE = "roboflow_core/per_class_confidence_filter@v1"

_OPS = {"tensorrt": "EfficientNMS_TRT", "onnx": "NonMaxSuppression"}

_LABELS_HELP = (
    "a text file with one class per line, in the model's order (line 1 is class "
    "id 0), as DeepStream's labelfile-path"
)


def language(fmt: str) -> str:
    """The language of a format's file: json, yaml, ini, pbtxt or py."""
    return SERVING[fmt][0] if fmt in SERVING else ("json" if fmt == "json" else "yaml")


def lowest(config: Mapping[str, Any]) -> float:
    """The lowest threshold of a config: what an engine with one threshold
    keeps, so that the filter after it drops what each class drops."""
    return float(min([config["threshold"], *(config.get("class_thresholds") or {}).values()]))


def _threshold(config: Mapping[str, Any], label: str) -> float:
    return float((config.get("class_thresholds") or {}).get(label, config["threshold"]))


def needs_ids(fmt: str | None, per_class: bool) -> bool:
    """Whether a format needs class ids: nvinferserver always (its
    thresholds are per class), DeepStream's nvinfer for per-class
    thresholds."""
    return fmt == "nvinferserver" or (fmt in ("deepstream", "deepstream-yaml") and per_class)


# -- class ids ----------------------------------------------------------------


def read_labels(path: Any, option: str = "export_labels") -> list[str]:
    """The classes of a labels file, in order (a line's index is its class
    id); trailing spaces and a last empty line are ignored.

    Raises:
        OptionError: for a file that cannot be read, is empty, has an empty
            line or a class twice
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        why = getattr(e, "strerror", None) or e
        raise OptionError(option, f"Cannot read the labels file {name} ({why}): {option} must be {_LABELS_HELP}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    if not names:
        raise OptionError(option, f"The labels file {name} is empty: {option} must be {_LABELS_HELP}")
    if "" in names:
        raise OptionError(
            option, f"Line {names.index('') + 1} of the labels file {name} is empty: every line "
            f"is a class and its index the class id; write each class's name"
        )
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise OptionError(option, f"The labels file {name} has {n!r} twice (lines {seen[n] + 1} and {i + 1}): one line per class")
        seen[n] = i
    return names


def class_ids(labels: Any, option: str = "labels") -> dict[str, int]:
    """``{class: id}`` from a labels file's path, a sequence of class
    names (index = id) or a mapping of class to id."""
    if isinstance(labels, (str, os.PathLike)):
        return {n: i for i, n in enumerate(read_labels(labels, option))}
    if isinstance(labels, Mapping):
        bad = [k for k, v in labels.items() if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int) or v < 0]
        if bad:
            raise OptionError(option, f"{option} must map each class name to its id (an int >= 0); got {bad[0]!r}: {labels[bad[0]]!r}")
        ids = list(labels.values())
        shared = sorted(k for k, v in labels.items() if ids.count(v) > 1)
        if shared:
            raise OptionError(option, f"{option} gives one id to several classes: {shared}")
        return dict(labels)
    if isinstance(labels, Sequence) and all(isinstance(n, str) and n for n in labels):
        if len(set(labels)) != len(labels):
            raise OptionError(option, f"{option} names a class twice: {list(labels)}")
        return {n: i for i, n in enumerate(labels)}
    raise OptionError(
        option, f"{option} must be the path of {_LABELS_HELP}, a list of class names (index = id) "
        f"or a dict of class name to id; got {labels!r}"
    )


def classes_of(dataset: Any, pred_field: str | None, gt_field: str | None) -> list[str] | None:
    """A dataset's class list for a sweep's fields, as FiftyOne looks it
    up: ``dataset.classes[pred_field]``, else ``[gt_field]``, else
    ``dataset.default_classes``; None without one."""
    by_field = getattr(dataset, "classes", None) or {}
    for field in (pred_field, gt_field):
        if field and by_field.get(field):
            return list(by_field[field])
    default = getattr(dataset, "default_classes", None)
    return list(default) if default else None


def check_classes(needed: Sequence[str], ids: Mapping[str, int], fmt: str, option: str, source: str) -> None:
    """Refuses ids that miss a class of the thresholds, naming them."""
    missing = [c for c in needed if c not in ids]
    if missing:
        raise OptionError(
            option,
            f"Format {fmt!r} names each class by its id, and {source} has no id for "
            f"{', '.join(repr(c) for c in missing)}: add {'it' if len(missing) == 1 else 'them'} "
            f"({option}: {_LABELS_HELP}); the thresholds name {sorted(needed)}",
        )


def no_ids(fmt: str, option: str) -> OptionError:
    return OptionError(
        option,
        f"Format {fmt!r} names each class by its id, and the dataset has no class list "
        f"(dataset.classes or dataset.default_classes): pass {option}, {_LABELS_HELP}",
    )


def check_task(fmt: str | None, task: str | None) -> None:
    if fmt in SERVING and task not in (None, "detection"):
        raise OptionError(
            "export_format",
            f"Format {fmt!r} is for detectors and this is a {task} classifier: export "
            f"'json', 'yaml' or 'ultralytics'",
        )


def ids_for(
    config: Mapping[str, Any], fmt: str, *, labels: Any = None,
    classes: Sequence[str] | None = None, option: str = "labels",
) -> dict[str, int] | None:
    """The class ids a format writes: from ``labels`` (see
    :func:`class_ids`), else ``classes`` (the dataset's list); None for
    formats that need none (``labels`` is then ignored).

    Raises:
        OptionError: for a classifier's config, no ids where the format
            needs them, or a class of the thresholds without an id
    """
    check_task(fmt, config.get("task"))
    by_class = config.get("class_thresholds") or {}
    if not needs_ids(fmt, bool(by_class)):
        return None
    if labels is not None:
        ids = class_ids(labels, option)
        source = f"the labels file {os.fspath(labels)}" if isinstance(labels, (str, os.PathLike)) else f"the {option} given"
    elif classes:
        ids, source = class_ids(list(classes), option), "the dataset's class list"
    else:
        raise no_ids(fmt, option)
    check_classes(list(by_class), ids, fmt, option, source)
    return ids


# -- the files ----------------------------------------------------------------


def _header(fmt: str, how: Sequence[str], config: Mapping[str, Any], ids: Mapping[str, int] | None) -> str:
    mark = {**config, "format": fmt, **({"class_ids": dict(ids)} if ids else {})}
    lines = [f"# {SERVING[fmt][1]}, written by optimal_confidence.", *(f"# {h}" for h in how)]
    return "\n".join([*lines, CONFIG_MARK + json.dumps(mark, separators=(",", ":"))]) + "\n"


def _by_id(config: Mapping[str, Any], ids: Mapping[str, int]) -> list[tuple[int, str, float]]:
    return sorted((i, name, _threshold(config, name)) for name, i in ids.items())


def _comment(name: str) -> str:
    return " ".join(name.split())


def _deepstream(config: Mapping[str, Any], ids: Mapping[str, int] | None, yaml_form: bool) -> str:
    groups = [("class-attrs-all", lowest(config), None)]
    if config.get("class_thresholds"):
        groups += [(f"class-attrs-{i}", t, name) for i, name, t in _by_id(config, ids or {})]
    if yaml_form:
        body = "".join(
            (f"# {_comment(n)}\n" if n else "") + f"{g}:\n  pre-cluster-threshold: {t!r}\n" for g, t, n in groups
        )
    else:
        body = "\n".join((f"# {_comment(n)}\n" if n else "") + f"[{g}]\npre-cluster-threshold={t!r}\n" for g, t, n in groups)
    how = [
        "Merge these groups into your model's nvinfer config (the file with [property]);",
        "class ids are the lines of its labelfile-path (0 = first line). class-attrs-all",
        "holds the lowest threshold. Filter again with",
        "optimal_confidence.apply_thresholds(detections, THIS_FILE), which reads the next line.",
    ]
    if yaml_form:
        how[0] = "Merge these mappings into your model's nvinfer YAML config (the one with property:);"
    return _header("deepstream-yaml" if yaml_form else "deepstream", how, config, ids) + body


def _nvinferserver(config: Mapping[str, Any], ids: Mapping[str, int] | None) -> str:
    rows = _by_id(config, ids or {})
    params = "".join(
        f"      # {_comment(name)}\n      per_class_params {{\n        key: {i}\n"
        f"        value {{ pre_threshold: {t!r} }}\n      }}\n"
        for i, name, t in rows
    )
    n = max((i for i, _, _ in rows), default=-1) + 1
    body = (
        "infer_config {\n  postprocess {\n    detection {\n"
        f"      num_detected_classes: {n}\n{params}    }}\n  }}\n}}\n"
    )
    how = [
        "Merge infer_config.postprocess.detection into your model's nvinferserver config;",
        "keys are class ids (lines of labelfile_path, 0 = first). Keep your clustering's",
        f"confidence threshold (nms, dbscan, simple_cluster) at or below {lowest(config)!r}.",
    ]
    return _header("nvinferserver", how, config, ids) + body


def _roboflow(config: Mapping[str, Any]) -> str:
    step = {
        "type": ROBOFLOW_TYPE,
        "name": "per_class_confidence_filter",
        "predictions": "$steps.model.predictions",
        "class_thresholds": {k: float(v) for k, v in (config.get("class_thresholds") or {}).items()},
        "default_threshold": float(config["threshold"]),
    }
    return json.dumps(step, indent=2) + "\n"


def _engine_json(config: Mapping[str, Any], fmt: str) -> str:
    out = {
        "op_type": _OPS[fmt],
        "score_threshold": lowest(config),
        "post_filter": "optimal_confidence.apply_thresholds(detections, THIS_FILE) keeps each class at its own threshold",
        "optimal_confidence": dict(config),
    }
    return json.dumps(out, indent=2) + "\n"


def strictly_below(t: float) -> float:
    """The largest float32 below ``t``: the threshold for an engine that
    keeps ``score > threshold`` (Detectron2, MMDetection, comparing in
    float32), so that a score exactly at ``t`` reaches the filter after it."""
    return float(np.nextafter(np.float32(t), np.float32(-np.inf)))


def _detectron2(config: Mapping[str, Any]) -> str:
    t = strictly_below(lowest(config))  # it keeps scores > SCORE_THRESH_TEST
    how = [
        "cfg.merge_from_file(THIS_FILE) after your model's config: the score threshold",
        "is just below the lowest one (Detectron2 keeps scores above it); filter the outputs with",
        "optimal_confidence.apply_thresholds(detections, THIS_FILE), which reads the next line.",
    ]
    body = f"MODEL:\n  ROI_HEADS:\n    SCORE_THRESH_TEST: {t!r}\n  RETINANET:\n    SCORE_THRESH_TEST: {t!r}\n"
    return _header("detectron2", how, config, None) + body


def _mmdetection(config: Mapping[str, Any]) -> str:
    t = strictly_below(lowest(config))  # filter_scores_and_topk keeps scores > score_thr
    how = [
        "cfg.merge_from_dict(Config.fromfile(THIS_FILE).to_dict()) into your model's config:",
        "one-stage heads read test_cfg.score_thr, two-stage ones test_cfg.rcnn.score_thr;",
        "it is just below the lowest threshold (MMDetection keeps scores above it): filter the outputs with",
        "optimal_confidence.apply_thresholds(detections, THIS_FILE), which reads the next line.",
    ]
    body = f"model = dict(test_cfg=dict(score_thr={t!r}, rcnn=dict(score_thr={t!r})))\n"
    return _header("mmdetection", how, config, None) + body


def serving_text(config: Mapping[str, Any], fmt: str, ids: Mapping[str, int] | None = None) -> str:
    """The text of ``config`` in a serving format (see the module), its
    classes numbered by ``ids`` where the format needs them."""
    if fmt in ("deepstream", "deepstream-yaml"):
        return _deepstream(config, ids, fmt == "deepstream-yaml")
    if fmt == "nvinferserver":
        return _nvinferserver(config, ids)
    if fmt == "roboflow":
        return _roboflow(config)
    if fmt in _OPS:
        return _engine_json(config, fmt)
    if fmt == "detectron2":
        return _detectron2(config)
    if fmt == "mmdetection":
        return _mmdetection(config)
    raise ValueError(f"Unknown serving format {fmt!r}; formats are {list(SERVING_FORMATS)}")


# -- reading them back ----------------------------------------------------------


def _body(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def check_body(text: str, config: Mapping[str, Any], path: str) -> None:
    """A file whose thresholds were edited after it was written no longer
    says what its comment line says: refused, rather than one threshold in
    the engine and another in the filter after it."""
    fmt = config.get("format")
    if fmt not in SERVING:
        return
    want = _body(serving_text(config, fmt, config.get("class_ids")))
    if _body(text) != want:
        raise ValueError(
            f"{path}: its thresholds differ from those on its '{CONFIG_MARK.strip()}' line: "
            f"it was edited; export it again"
        )


def config_of(parsed: Any, path: str) -> Mapping[str, Any] | None:
    """The deployment config a parsed JSON file of a serving format
    carries (a Roboflow step's thresholds, an engine's
    ``"optimal_confidence"``), else None."""
    if not isinstance(parsed, Mapping):
        return None
    if parsed.get("type") == ROBOFLOW_TYPE:
        return {
            "threshold": parsed.get("default_threshold"),
            "class_thresholds": parsed.get("class_thresholds") or {},
            "task": "detection",
        }
    inner = parsed.get("optimal_confidence")
    if not isinstance(inner, Mapping) or "score_threshold" not in parsed:
        return None
    try:
        same = abs(float(parsed["score_threshold"]) - lowest(inner)) <= 1e-12
    except (KeyError, TypeError, ValueError):
        return inner  # deployment._check_config says what is wrong
    if not same:
        raise ValueError(
            f"{path}: score_threshold is {parsed['score_threshold']!r} but the thresholds under "
            f"'optimal_confidence' start at {lowest(inner)!r}: it was edited; export it again"
        )
    return inner
