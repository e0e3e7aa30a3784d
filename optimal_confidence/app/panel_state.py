"""What the curves panel keeps and computes outside its class: the cached
current result, JSON-safe state, the counts at a clicked threshold, the
review band from the panel's inputs, and saving views without
overwriting."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

import fiftyone.core.stages as fost
import fiftyone.core.utils as fou

from ..spec.objective import Objective
from ..spec.options import OptionError, check_number
from ..spec.request import RunRequest
from ..result.result import OptimalConfidenceResult
from ..curves.review import ReviewBand
from ..result.stored import load_optimal_confidence
from ..curves.sweep import count_at, point_metrics

#: the class selector's value for all classes pooled
ALL = "__all__"

#: the state path of the threshold box (under the threshold plot)
THRESHOLD_BOX = "threshold_input"

#: the review band's inputs before the user types any
BAND_DEFAULTS = {"precision": 0.9, "max_lost": 0.05, "review_cost": None}

#: a few recently loaded results, keyed by dataset, run key and timestamp,
#: so that clicks do not read the stored result again
_CACHE: dict[tuple, OptimalConfidenceResult] = {}
_CACHE_SIZE = 8  # a run and the models it was compared with


def load_result(dataset: Any, run_key: str) -> OptimalConfidenceResult:
    """Run ``run_key`` of ``dataset``, from the cache while it is unchanged."""
    info = dataset.get_run_info(run_key)
    key = (dataset._doc.id, run_key, str(info.timestamp))
    result = _CACHE.get(key)
    if result is None:
        result = load_optimal_confidence(dataset, run_key)
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = result
    return result


def jsonable(value: Any) -> Any:
    """``value`` with every non-finite float as None: the App parses panel
    state as strict JSON, where ``NaN`` is an error."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def counts_at(result: OptimalConfidenceResult, threshold: float, class_name: str) -> dict[str, Any]:
    """The counts at ``threshold`` of the classes shown, exact at any
    threshold (also between the swept ones)."""
    t = np.array([threshold])
    records = result.records if class_name == ALL else result.records.restrict_to_class(class_name)
    return {
        "task": result.config.task,
        "threshold": float(threshold),
        **point_metrics(count_at(records, t)),
        # NaN (no confidence) is never kept
        "kept": int((result.records.pred_conf >= threshold).sum()),
        "total": int(result.records.num_preds),
        "scope": "all classes" if class_name == ALL else class_name,
    }


def clicked_threshold(params: Mapping[str, Any]) -> float | None:
    """The threshold of a clicked point: every trace carries its thresholds
    in ``ids``; the threshold plot's ``x`` is the threshold too."""
    point_id = params.get("id")
    if point_id is not None:
        try:
            return float(point_id)
        except (TypeError, ValueError):
            pass
    path = params.get("path") or ""
    x = params.get("x")
    if path.endswith("threshold") and isinstance(x, (int, float)):
        return float(x)
    return None


def _number(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return value  # the request names the option and the bad value


def band_from_inputs(result: OptimalConfidenceResult, inputs: Mapping[str, Any]) -> ReviewBand:
    """The review band for the panel's inputs, through the result's
    request, so that the inputs are checked like the operator's and the
    band is priced with the objective's costs.

    Raises:
        ValueError: for a bad input or a precision no threshold reaches
    """
    values = {**BAND_DEFAULTS, **inputs}
    request = RunRequest.of_result(result).replace(
        review_precision=_number(values["precision"]),
        max_lost=_number(values["max_lost"]),
        review_cost=_number(values["review_cost"]),
    )
    asked = request.band()
    if asked is None:
        raise ValueError("Enter the precision the accepted predictions must reach")
    return result.review_band(**asked)


def band_object(band: Mapping[str, Any]) -> ReviewBand:
    """A :class:`ReviewBand` from its state (``to_dict()`` and a summary)."""
    names = set(ReviewBand.__dataclass_fields__)
    return ReviewBand(**{k: v for k, v in band.items() if k in names})


def view_name(pred_field: str, threshold: float) -> str:
    """A saved view's name: the field and the exact threshold."""
    return f"{pred_field}@{float(threshold)!r}"


def save_view_once(
    dataset: Any,
    name: str,
    view: Any,
    *,
    description: str = (
        "Predictions kept at this confidence threshold (saved from the "
        "confidence curves panel)"
    ),
) -> tuple[str, bool]:
    """Saves ``view`` under ``name``, or under ``name (2)``, ``name (3)``...
    when a different view holds the name (or its slug). Never overwrites.

    Returns:
        ``(name, created)``: ``created`` is False when a saved view of that
        name family already holds exactly this view
    """
    stages = view._serialize(include_uuids=False)
    existing = dataset.list_saved_views()
    slugs = {fou.to_slug(n) for n in existing}
    candidate, i = name, 1
    while candidate in existing or fou.to_slug(candidate) in slugs:
        if candidate in existing:
            saved = dataset.load_saved_view(candidate)
            if saved._serialize(include_uuids=False) == stages:
                return candidate, False
        i += 1
        candidate = f"{name} ({i})"
    dataset.save_view(candidate, view, description=description)
    return candidate, True


def threshold_in_view(view: Any, result: OptimalConfidenceResult, target: Any) -> float | None:
    """The threshold the App's ``view`` keeps the predictions at, when it is
    the result's target filtered at one (what a click in the panel set, and
    what the App keeps across a reload); else None."""
    stages = getattr(view, "_stages", [])
    if not stages or not isinstance(stages[-1], fost.FilterLabels):
        return None
    expr = stages[-1].filter  # {"$gte": ["$confidence", t]} for a kept view
    try:
        t = float(expr["$gte"][1])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    expected = result.view(target, t)._serialize(include_uuids=False)
    return t if view._serialize(include_uuids=False) == expected else None


#: the objective switch's inputs: the objective and its parameters
OBJECTIVE_INPUTS = ("objective", "target", "beta", "fp_cost", "fn_cost")


def objective_inputs(objective: Objective) -> dict[str, Any]:
    """The switch's inputs showing ``objective``."""
    d = objective.to_dict()
    return {"objective": d["name"], **{k: d[k] for k in OBJECTIVE_INPUTS[1:]}}


def objective_from_inputs(result: OptimalConfidenceResult, inputs: Mapping[str, Any]) -> Objective:
    """The objective the switch asks for, checked through the result's
    request (so the messages are the operator's), keeping the result's
    averaging and per-class setting.

    Raises:
        ValueError: for a bad value
    """
    name = inputs.get("objective") or "f1"
    values = {"objective": name}
    for key in OBJECTIVE_INPUTS[1:]:
        option_applies = {
            "target": name in ("precision", "recall", "accuracy"),
            "beta": name == "fbeta",
            "fp_cost": name == "cost",
            "fn_cost": name == "cost",
        }[key]
        if option_applies:
            values[key] = _number(inputs.get(key))
    if name not in ("precision", "recall", "accuracy"):
        values["target"] = None
    return RunRequest.of_result(result).replace(**values).objective()


def typed_threshold(value: Any) -> float:
    """A threshold typed in the panel's box.

    Raises:
        OptionError: naming ``threshold``
    """
    number = _number(value)
    if number is None:
        raise OptionError("threshold", "Type a threshold, for example 0.5")
    return check_number("threshold", number)


def selection_config(result: OptimalConfidenceResult, threshold: float | None) -> dict[str, Any]:
    """The deployment config the panel's Export writes: with no threshold
    selected, the result's own (:meth:`~OptimalConfidenceResult.deployment_config`:
    the chosen threshold, or each class at its own); with one, that
    threshold for every class. A selection overrides the per-class
    thresholds, as the view it shows keeps every class at it.

    With a selection: ``threshold`` is the selection, ``counts`` and the
    objective's ``score`` are those at it (exact, from the match records),
    and ``chosen`` keeps what the objective chose (its ``threshold`` and
    ``score``, and when the result has them ``class_thresholds``,
    ``interval``, ``guarantee`` and ``class_guarantees``, which hold of the
    chosen point, not of the selection). JSON-safe (no ``NaN``).
    """
    config = result.deployment_config()
    if threshold is None:
        return jsonable(config)
    point = result.point(float(threshold))
    chosen = {"threshold": config["threshold"], "score": config["objective"]["score"]}
    for key in ("class_thresholds", "interval", "guarantee", "class_guarantees"):
        if key in config:
            chosen[key] = config.pop(key)
    config["threshold"] = float(threshold)
    config["objective"]["score"] = point.pop("score")
    config["counts"] = point
    config["chosen"] = chosen
    return jsonable(config)


def deploy_words(info: Mapping[str, Any], selected: Mapping[str, Any] | None) -> str:
    """What the deploy buttons act on, for their labels: ``"threshold
    0.812"`` (the selection), else ``"the per-class thresholds"`` or
    ``"the chosen threshold 0.516"``."""
    if selected:
        return f"threshold {selected['threshold']:.4g}"
    if info.get("per_class"):
        return "the per-class thresholds"
    return f"the chosen threshold {info['best_threshold']:.4g}"
