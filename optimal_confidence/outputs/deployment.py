"""The chosen operating point, carried to deployment: a plain config
(:func:`deployment_config`), written as JSON, YAML or for Ultralytics
(:func:`export`), and a filter that keeps what the config keeps
(:func:`apply_thresholds`) for FiftyOne ``Detections``, Roboflow's
``supervision.Detections`` or plain ``(label, confidence)`` pairs.

Formats (:func:`render`): ``"json"`` and ``"yaml"`` hold the whole config;
``"ultralytics"`` is a YAML predict config that Ultralytics accepts as it
is (``model.predict(**yaml.safe_load(f))`` or ``yolo predict cfg=FILE``):
only keys of Ultralytics' own default config (``conf``: the lowest
threshold, so that nothing a class keeps is dropped; ``task``, one of
Ultralytics' task names), with the whole config, per-class thresholds
included, in a comment line that :func:`apply_thresholds` reads. The
serving stacks' formats (DeepStream, nvinferserver, Roboflow Workflows,
TensorRT, ONNX, Detectron2, MMDetection) are in :mod:`.serving`. A path's
extension decides the format when none is given (:data:`EXTENSIONS`, else
JSON), and a format whose language it contradicts (a ``.json`` file of
YAML, ...) is refused before anything is written; :func:`apply_thresholds`
reads every format whatever the extension.

Nothing here imports FiftyOne (a FiftyOne ``Detections`` is recognized by
its ``detections`` list), so deployment code can use it alone.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from ..curves.sweep import point_metrics, positive_score
from ..spec.options import OptionError
from . import serving

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = [
    "apply_thresholds",
    "deployment_config",
    "export",
    "export_format",
    "load_config",
    "render",
    "threshold_for",
]

#: the formats :func:`export` writes
FORMATS = ("json", "yaml", "ultralytics", *serving.SERVING_FORMATS)

#: the format a path's extension stands for when none is given
EXTENSIONS = {
    ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".ini": "deepstream",
    ".pbtxt": "nvinferserver", ".prototxt": "nvinferserver", ".py": "mmdetection",
}

#: the comment line of an Ultralytics config (and of the serving formats'
#: text files) that holds the whole config
ULTRALYTICS_MARK = serving.CONFIG_MARK

#: the tasks of a deployment config
TASKS = ("detection", "binary", "multiclass")

#: the label lists of FiftyOne's label containers
_LABEL_LISTS = ("detections", "polylines", "classifications")


def deployment_config(result: "OptimalConfidenceResult") -> dict[str, Any]:
    """The operating point as a plain, JSON-safe dict.

    Keys: ``threshold`` (the global one), ``class_thresholds`` (with
    per-class thresholds), ``task`` (``"detection"``, ``"binary"`` or
    ``"multiclass"``), ``positive_label`` (binary: an image is called
    positive when its positive score, the confidence of a positive answer
    or one minus that of a negative one, is at least the threshold),
    ``iou``, ``classwise``, ``pred_field``,
    ``gt_field``, ``objective`` (its name, parameters, label and score),
    ``counts`` (TP, FP, FN, precision, recall, F1 where every class is kept
    at its threshold), ``dataset``, ``run_key``, ``created`` (UTC, ISO
    8601), and when the result has them ``interval`` (bootstrap),
    ``guarantee`` and ``class_guarantees`` (class -> guarantee, or why the
    class has none).
    """
    c, o = result.config, result.objective
    out: dict[str, Any] = {
        "threshold": result.best_threshold,
        "task": c.task,
        "iou": c.iou,
        "classwise": c.classwise,
        "pred_field": c.pred_field,
        "gt_field": c.gt_field,
        "label_type": c.label_type,
        "objective": {**o.to_dict(), "label": o.label, "score": _finite(result.best_score)},
        "counts": point_metrics(result.operating_counts()),
        "dataset": getattr(c, "dataset", None),
        "run_key": result.run_key,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if c.task == "binary":
        out["positive_label"] = c.positive_label
    if o.per_class:
        out["class_thresholds"] = dict(result.class_thresholds)
    if result.uncertainty is not None:
        u = result.uncertainty
        out["interval"] = {
            "level": u.level,
            "threshold": [_finite(x) for x in u.threshold_ci],
            "score": [_finite(x) for x in u.score_ci],
            "n_bootstrap": u.n_bootstrap,
        }
    guarantee = getattr(result, "guarantee", None)
    if guarantee is not None:
        out["guarantee"] = guarantee.to_dict()
    by_class = getattr(result, "class_guarantees", None) if o.per_class else None
    if by_class:
        out["class_guarantees"] = {
            k: g if isinstance(g, str) else g.to_dict() for k, g in by_class.items()
        }
    return out


def _finite(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _ultralytics_task(config: Mapping[str, Any]) -> str:
    """Ultralytics' name of the config's task."""
    if config.get("task") in ("binary", "multiclass"):
        return "classify"
    if config.get("label_type") == "Polylines" or config.get("use_masks"):
        return "segment"
    return "detect"


def _ultralytics(config: Mapping[str, Any]) -> str:
    """An Ultralytics predict config: ``conf`` (one scalar: the lowest
    threshold, so that nothing a class keeps is dropped) and ``task``; the
    whole config in a comment line, for :func:`apply_thresholds`."""
    import yaml

    cfg = {"task": _ultralytics_task(config), "conf": serving.lowest(config)}
    lines = [
        "# Ultralytics predict config written by optimal_confidence: model.predict(**cfg)",
        "# or `yolo predict cfg=THIS_FILE`. conf is the lowest threshold; filter the",
        "# results with optimal_confidence.apply_thresholds(results, THIS_FILE), which",
        "# reads the per-class thresholds from the next line.",
        ULTRALYTICS_MARK + json.dumps(config, separators=(",", ":")),
    ]
    return "\n".join(lines) + "\n" + yaml.safe_dump(cfg, sort_keys=False)


def export_format(path: str, format: str | None = None) -> str:
    """The format a file is written in: ``format``, else by the extension
    (:data:`EXTENSIONS`: ``.yaml``/``.yml`` YAML, ``.ini`` DeepStream,
    ``.pbtxt`` nvinferserver, ``.py`` MMDetection; else JSON).

    Raises:
        ValueError: for an unknown format, or one its extension
            contradicts (a ``.json`` file of YAML, ...)
    """
    if format is not None and format not in FORMATS:
        raise OptionError("export_format", f"export_format must be one of {list(FORMATS)}; got {format!r}")
    ext = os.path.splitext(os.fspath(path).lower())[1]
    fmt = format or EXTENSIONS.get(ext, "json")
    written, named = serving.language(fmt), serving.language(EXTENSIONS[ext]) if ext in EXTENSIONS else None
    if named is not None and named != written:
        raise OptionError(
            "export_format",
            f"format {fmt!r} writes {written.upper()}, and {os.fspath(path)} is named {ext}: name a "
            f"file of that language (or none of these extensions) or drop the format",
        )
    return fmt


def render(
    result: "OptimalConfidenceResult", format: str, *, labels: Any = None,
    classes: Sequence[str] | None = None, option: str = "labels",
) -> str:
    """The text of :func:`deployment_config` in ``format``; the formats
    that name classes by id take them from ``labels`` or ``classes`` (see
    :func:`~optimal_confidence.outputs.serving.ids_for`, whose errors name
    ``option``)."""
    config = deployment_config(result)
    if format == "json":
        return json.dumps(config, indent=2) + "\n"
    if format == "ultralytics":
        return _ultralytics(config)
    if format in serving.SERVING_FORMATS:
        ids = serving.ids_for(config, format, labels=labels, classes=classes, option=option)
        return serving.serving_text(config, format, ids)
    import yaml

    return yaml.safe_dump(config, sort_keys=False)


def export(
    result: "OptimalConfidenceResult", path: str, format: str | None = None, *,
    labels: Any = None, classes: Sequence[str] | None = None,
    overwrite: bool = False, option: str = "path", root: str | None = None,
) -> str:
    """Writes :func:`deployment_config` to ``path``, atomically (see
    :mod:`optimal_confidence.store.files`).

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
        path: the file to write (its folder is created)
        format (None): one of :data:`FORMATS` (see the module and
            :mod:`.serving`); by default from the file's extension
            (:data:`EXTENSIONS`, else JSON)
        labels (None): for the formats that name classes by id
            (DeepStream, nvinferserver): the path of a labels file (one
            class per line, line index = class id, as DeepStream's
            ``labelfile-path``), a list of class names or a dict of class
            to id; the other formats ignore it
        classes (None): the dataset's class list, the ids when ``labels``
            is not given
        overwrite (False): whether to replace a file that exists; without
            it an existing file is refused and nothing is written
        option ("path"): the name of ``path`` in messages
        root (None): a folder the file must stay inside (symlinks
            resolved), checked again right before it is written

    Returns:
        the absolute path written

    Raises:
        ValueError: for an unknown format or one the extension
            contradicts, a class of the thresholds without an id, an
            existing file (without ``overwrite``), or a path that cannot
            be written; nothing is written then
    """
    from ..store.files import file_write, text_writer, write_file

    write = file_write(path, overwrite=overwrite, option=option, root=root)
    fmt = export_format(write.name, format)
    text = render(result, fmt, labels=labels, classes=classes)  # refusals before anything is written
    try:
        return write_file(write, text_writer(text))
    except OSError as e:
        raise OptionError(option, f"Cannot write {write.name}: {e.strerror or e}") from None


def _parse_as(text: str, kind: str) -> Any:
    if kind == "JSON":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _parse(text: str, path: str) -> Any:
    """A config file's content, whatever its extension: the config an
    Ultralytics file carries in its comment line, else the format its
    extension names, else the other one."""
    for line in text.splitlines():
        if line.startswith(ULTRALYTICS_MARK):
            try:
                config = json.loads(line[len(ULTRALYTICS_MARK):])
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: its '{ULTRALYTICS_MARK.strip()}' line is not JSON: {e}") from None
            if isinstance(config, Mapping) and config.get("format") in serving.SERVING_FORMATS:
                serving.check_body(text, config, path)
            else:
                _check_conf(text, config, path)
            return config
    kinds = ["YAML", "JSON"] if path.lower().endswith((".yaml", ".yml")) else ["JSON", "YAML"]
    first_error = None
    for kind in kinds:
        try:
            config = _parse_as(text, kind)
        except ImportError:  # deployment code without PyYAML
            continue
        except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
            first_error = first_error or e
            continue
        carried = serving.config_of(config, path)
        if carried is not None:  # a Roboflow step, an engine's JSON
            return carried
        if isinstance(config, Mapping) and "threshold" not in config and "conf" in config:
            # an Ultralytics config without our line: its conf is the threshold
            return {"threshold": config["conf"]}
        return config
    raise ValueError(f"{path} is not a {kinds[0]} deployment config: {first_error}")


def _check_conf(text: str, config: Any, path: str) -> None:
    """An Ultralytics config whose ``conf`` was edited no longer matches
    the thresholds on its comment line: refused, rather than one threshold
    for Ultralytics and another for :func:`apply_thresholds`."""
    try:
        import yaml

        conf = (yaml.safe_load(text) or {}).get("conf")
    except Exception:  # no PyYAML, or a body that is not YAML: the line decides
        return
    if not isinstance(config, Mapping) or conf is None or not _number(config.get("threshold")):
        return
    lowest = serving.lowest(config)
    if not _number(conf) or abs(float(conf) - float(lowest)) > 1e-9:
        raise ValueError(
            f"{path}: conf is {conf!r} but the thresholds on its '{ULTRALYTICS_MARK.strip()}' "
            f"line start at {lowest:g}: it was edited; export it again (or edit both)"
        )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(float(value))


def _check_config(config: Any, source: str) -> Mapping[str, Any]:
    """Refuses what no :func:`deployment_config` could have made (a hand
    edit gone wrong), saying what to fix."""
    fix = "pass the dict of result.deployment_config() or the path of a file result.export() wrote"
    if not isinstance(config, Mapping) or "threshold" not in config:
        raise ValueError(f"{source} has no 'threshold': {fix}")
    if not _number(config["threshold"]):
        raise ValueError(f"{source}: 'threshold' must be a finite number; got {config['threshold']!r}")
    by_class = config.get("class_thresholds")
    if by_class is not None:
        if not isinstance(by_class, Mapping):
            raise ValueError(
                f"{source}: 'class_thresholds' must map each class to its threshold "
                f"({{class: threshold}}); got {type(by_class).__name__}"
            )
        keys = [k for k in by_class if not isinstance(k, str)]
        if keys:
            raise ValueError(
                f"{source}: class names must be text; got {keys[0]!r} (in YAML, quote names "
                f"such as 1, yes or null)"
            )
        bad = [k for k, v in by_class.items() if not _number(v)]
        if bad:
            raise ValueError(
                f"{source}: the threshold of class {bad[0]!r} must be a finite number; "
                f"got {by_class[bad[0]]!r}"
            )
    task = config.get("task")
    if task is not None and task not in TASKS:
        raise ValueError(f"{source}: 'task' must be one of {list(TASKS)}; got {task!r}")
    if task == "binary" and config.get("positive_label") is None:
        raise ValueError(
            "This config is of a binary classifier but names no positive_label: without "
            "it an answer's positive score is unknown; export the config again"
        )
    return config


def load_config(config: Mapping[str, Any] | str | os.PathLike) -> Mapping[str, Any]:
    """The config, read from its file when given a path (any format
    :func:`export` writes, whatever the extension), and checked.

    Raises:
        ValueError: for a file that cannot be read or parsed, or a config
            that no :func:`deployment_config` could have made, saying what
            to fix
    """
    source = "The config given"
    if isinstance(config, (str, os.PathLike)):
        source = path = os.fspath(config)
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise ValueError(f"Cannot read the deployment config {path}: {e.strerror or e}") from None
        config = _parse(text, path)
    return _check_config(config, source)


def threshold_for(config: Mapping[str, Any], label: Any) -> float:
    """The threshold a config keeps ``label`` at: its class's, else the
    global one."""
    by_class = config.get("class_thresholds") or {}
    return float(by_class.get(label, config["threshold"]))


def _kept(config: Mapping[str, Any], pairs: Iterable[tuple[Any, Any]]) -> list[bool]:
    """Whether each ``(label, confidence)`` is kept: confidence >= its
    threshold (for a binary config, the positive score: an answer kept is
    one that calls the image positive); a missing confidence never is."""
    positive = config.get("positive_label") if config.get("task") == "binary" else None
    out = []
    for label, conf in pairs:
        ok = conf is not None and np.isfinite(float(conf))
        if ok and positive is not None:
            score = float(positive_score(label == positive, conf))
            out.append(bool(score >= float(config["threshold"])))
            continue
        out.append(bool(ok and float(conf) >= threshold_for(config, label)))
    return out


def _supervision_labels(
    detections: Any, class_names: Mapping[int, str] | None, config: Mapping[str, Any]
) -> list[Any]:
    data = getattr(detections, "data", None) or {}
    if "class_name" in data:
        return list(data["class_name"])
    if class_names is None and isinstance(config.get("class_ids"), Mapping):
        # a DeepStream or nvinferserver file numbers its classes
        class_names = {int(i): name for name, i in config["class_ids"].items()}
    if class_names is None:
        raise ValueError(
            "These supervision.Detections carry no 'class_name' in their data: "
            "pass class_names (class_id -> name, e.g. model.names)"
        )
    return [class_names[int(i)] for i in detections.class_id]


def apply_thresholds(
    detections: Any,
    config: Mapping[str, Any] | str,
    *,
    class_names: Mapping[int, str] | None = None,
) -> Any:
    """Keeps what the config keeps: predictions with a confidence at or
    above their class's threshold (the global one for other classes). For a
    binary classifier's config, the answers that call the image positive:
    positive score (the confidence of a ``positive_label`` answer, one minus
    that of another) at or above the threshold.

    Args:
        detections: a FiftyOne ``Detections``, ``Polylines`` or
            ``Classifications`` (a copy is returned, with the container's
            other attributes and the kept labels shared with it), a
            FiftyOne ``Classification`` (itself if kept, else None), a
            ``supervision.Detections``
            (the kept rows; class names from ``data["class_name"]`` or
            ``class_names``), or ``(label, confidence)`` pairs (a list of
            the kept pairs)
        config: a :func:`deployment_config` dict, or the path (``str`` or
            ``os.PathLike``) of a file :func:`export` wrote
        class_names (None): for ``supervision.Detections`` without class
            names in their data: ``class_id`` to name

    Returns:
        the kept predictions, of the type given

    Raises:
        ValueError: for a config file that cannot be read or parsed, a
            config without a ``threshold``, or a binary classifier's config
            without its ``positive_label``
    """
    config = load_config(config)
    for attr in _LABEL_LISTS:  # FiftyOne Detections, Polylines, Classifications
        if hasattr(detections, attr):
            dets = list(getattr(detections, attr) or [])
            keep = _kept(config, ((d.label, d.confidence) for d in dets))
            out = detections.copy() if hasattr(detections, "copy") else type(detections)()
            setattr(out, attr, [d for d, k in zip(dets, keep) if k])
            return out
    if hasattr(detections, "label") and hasattr(detections, "confidence"):  # a Classification
        return detections if _kept(config, [(detections.label, detections.confidence)])[0] else None
    if hasattr(detections, "xyxy") and hasattr(detections, "confidence"):  # supervision
        labels = _supervision_labels(detections, class_names, config)
        conf = detections.confidence
        keep = _kept(config, zip(labels, [None] * len(labels) if conf is None else conf))
        return detections[np.asarray(keep, dtype=bool)]
    try:
        items = list(detections)
        pairs = [tuple(p) for p in items]
        if any(len(p) != 2 for p in pairs):
            raise TypeError
    except TypeError:
        raise ValueError(
            f"apply_thresholds takes FiftyOne labels, supervision.Detections or "
            f"(label, confidence) pairs; got {type(detections).__name__}"
        ) from None
    return [p for p, k in zip(items, _kept(config, pairs)) if k]
