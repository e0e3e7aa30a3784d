"""The chosen operating point, carried to deployment: a plain config
(:func:`deployment_config`), written as JSON, YAML or for Ultralytics
(:func:`export`), and a filter that keeps what the config keeps
(:func:`apply_thresholds`) for FiftyOne ``Detections``, Roboflow's
``supervision.Detections`` or plain ``(label, confidence)`` pairs.

Nothing here imports FiftyOne (a FiftyOne ``Detections`` is recognized by
its ``detections`` list), so deployment code can use it alone.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

from ..curves.sweep import point_metrics, positive_score

if TYPE_CHECKING:  # pragma: no cover
    from ..result.result import OptimalConfidenceResult

__all__ = ["apply_thresholds", "deployment_config", "export", "threshold_for"]

#: the formats :func:`export` writes
FORMATS = ("json", "yaml", "ultralytics")


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


def _ultralytics(config: Mapping[str, Any]) -> dict[str, Any]:
    """What Ultralytics' ``predict`` takes: ``conf`` (one scalar: the lowest
    threshold, so that nothing a class keeps is dropped), and the per-class
    thresholds to post-filter its results with :func:`apply_thresholds`."""
    by_class = config.get("class_thresholds") or {}
    conf = min([config["threshold"], *by_class.values()])
    return {
        "conf": conf,
        "threshold": config["threshold"],
        "class_thresholds": dict(by_class),
        **{k: config[k] for k in ("task", "positive_label") if k in config},
        "source": {k: config[k] for k in ("dataset", "run_key", "pred_field", "created")},
    }


def export(result: "OptimalConfidenceResult", path: str, format: str | None = None) -> str:
    """Writes :func:`deployment_config` to ``path``.

    Args:
        result: an :class:`~optimal_confidence.result.OptimalConfidenceResult`
        path: the file to write (its folder is created)
        format (None): ``"json"``, ``"yaml"`` or ``"ultralytics"`` (``conf``
            for ``model.predict(conf=...)`` and the per-class thresholds for
            :func:`apply_thresholds`, YAML unless ``path`` ends in
            ``.json``); by default from the file's extension
            (``.yaml``/``.yml``: YAML, else JSON)

    Returns:
        the absolute path written

    Raises:
        ValueError: for an unknown format, or a path that cannot be written
    """
    path = os.fspath(path)
    yaml_path = path.lower().endswith((".yaml", ".yml"))
    fmt = format or ("yaml" if yaml_path else "json")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}; got {format!r}")
    config = deployment_config(result)
    data = _ultralytics(config) if fmt == "ultralytics" else config
    if fmt == "yaml" and path.lower().endswith(".json"):
        raise ValueError(
            f"format='yaml' with a .json path: {path} would not read back; name a "
            f".yaml file or drop format"
        )
    if fmt == "json" or (fmt == "ultralytics" and path.lower().endswith(".json")):
        text = json.dumps(data, indent=2) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False)
    target = os.path.abspath(path)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(text)
    except OSError as e:
        raise ValueError(f"Cannot write {path}: {e.strerror or e}") from None
    return target


def _load(config: Mapping[str, Any] | str | os.PathLike) -> Mapping[str, Any]:
    """The config, read from its file when given a path; refuses what no
    :func:`deployment_config` made, saying what to pass."""
    source = "The config given"
    if isinstance(config, (str, os.PathLike)):
        source = path = os.fspath(config)
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise ValueError(f"Cannot read the deployment config {path}: {e.strerror or e}") from None
        yaml_file = path.lower().endswith((".yaml", ".yml"))
        try:
            if yaml_file:
                import yaml

                config = yaml.safe_load(text)
            else:
                config = json.loads(text)
        except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
            kind = "YAML" if yaml_file else "JSON"
            raise ValueError(f"{path} is not a {kind} deployment config: {e}") from None
    if not isinstance(config, Mapping) or "threshold" not in config:
        raise ValueError(
            f"{source} has no 'threshold': pass the dict of result.deployment_config() "
            f"or the path of a file result.export() wrote"
        )
    return config


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
    if config.get("task") == "binary" and positive is None:
        raise ValueError(
            "This config is of a binary classifier but names no positive_label: without "
            "it an answer's positive score is unknown; export the config again"
        )
    out = []
    for label, conf in pairs:
        ok = conf is not None and np.isfinite(float(conf))
        if ok and positive is not None:
            score = float(positive_score(label == positive, conf))
            out.append(bool(score >= float(config["threshold"])))
            continue
        out.append(bool(ok and float(conf) >= threshold_for(config, label)))
    return out


def _supervision_labels(detections: Any, class_names: Mapping[int, str] | None) -> list[Any]:
    data = getattr(detections, "data", None) or {}
    if "class_name" in data:
        return list(data["class_name"])
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
        detections: a FiftyOne ``Detections`` (a copy is returned, with
            the container's other attributes and the kept detections shared
            with it), a ``supervision.Detections``
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
    config = _load(config)
    if hasattr(detections, "detections"):  # FiftyOne Detections
        dets = list(detections.detections or [])
        keep = _kept(config, ((d.label, d.confidence) for d in dets))
        out = detections.copy() if hasattr(detections, "copy") else type(detections)()
        out.detections = [d for d, k in zip(dets, keep) if k]
        return out
    if hasattr(detections, "xyxy") and hasattr(detections, "confidence"):  # supervision
        labels = _supervision_labels(detections, class_names)
        conf = detections.confidence
        keep = _kept(config, zip(labels, [None] * len(labels) if conf is None else conf))
        return detections[np.asarray(keep, dtype=bool)]
    pairs = list(detections)
    return [p for p, k in zip(pairs, _kept(config, pairs)) if k]
