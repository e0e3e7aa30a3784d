"""Is an evaluation the user ran still true of the predictions?

Reusing an evaluation (``eval_key``) reads each prediction's match instead
of matching again. If confidences were edited after the evaluation ran, its
matches no longer follow from them and the counts would be wrong. FiftyOne's
COCO matcher visits the predictions of an image (or frame) and category in
descending ``confidence or -1`` order, each taking a free ground truth
object with IoU >= the threshold. So in a current evaluation no unmatched
prediction is visited before a matched one while overlapping that one's
object at the IoU: the object was still free when the unmatched prediction
came, and it would have taken it. :func:`check_still_valid` looks for such
a pair and refuses the evaluation when it finds one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator

import numpy as np

import fiftyone.core.collections as foc

from .box_matching import sort_keys
from .fields import flatten, list_path

__all__ = ["check_still_valid"]


def _suspects(
    preds: Any, gts: Any, match: list[str | None], classwise: bool
) -> Iterator[tuple[int, int, int]]:
    """``(unmatched, matched, object)`` rows: an unmatched prediction that
    FiftyOne visits before a matched one of the same image or frame and
    category, and the matched one's object."""
    gt_row = {gid: k for k, gid in enumerate(gts.ids)}
    scored = ~np.isnan(preds.confidences)
    key = sort_keys(preds.confidences)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in np.flatnonzero(scored):
        category = preds.labels[row] if classwise else None
        groups[(int(preds.sample[row]), int(preds.frame[row]), category)].append(int(row))
    for rows in groups.values():
        # the visiting order: descending key, then object order (stable)
        rows.sort(key=lambda r: (-key[r], r))
        free = []
        for r in rows:
            g = gt_row.get(match[r] or "")
            if g is None:
                free.append(r)
            else:
                yield from ((q, r, g) for q in free)


def _objects(samples: foc.SampleCollection, field: str, sample_rows: list[int]) -> dict[str, Any]:
    """The label objects of ``field`` in the samples at ``sample_rows``, by id."""
    ids = samples.values("id")
    view = samples.select([ids[i] for i in sample_rows], ordered=True)
    path = list_path(samples, field)
    return {o.id: o for _, o in flatten(view.values(path), samples._is_frame_field(field))}


def check_still_valid(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str,
    eval_key: str,
    *,
    preds: Any,
    gts: Any,
    match: list[str | None],
    iou: float,
    classwise: bool,
    iscrowd: str,
    use_masks: bool = False,
    use_boxes: bool = False,
) -> None:
    """Refuses evaluation ``eval_key`` when its matches contradict the
    current confidences (see the module's docstring).

    Raises:
        ValueError: naming the sample, the two predictions and the object
    """
    from fiftyone.utils.iou import compute_ious

    suspects = list(_suspects(preds, gts, match, classwise))
    if not suspects:
        return
    rows = sorted({int(preds.sample[q]) for q, _, _ in suspects})
    objects = {**_objects(samples, pred_field, rows), **_objects(samples, gt_field, rows)}

    def crowd(label: Any) -> bool:
        return bool(label.get_attribute_value(iscrowd, False))

    thresh = min(iou, 1 - 1e-10)  # as FiftyOne's matcher
    for q, p, g in suspects:
        qo, go = objects[preds.ids[q]], objects[gts.ids[g]]
        if crowd(go) and qo.label != go.label:
            continue  # a crowd takes only its own label
        ious = compute_ious(
            [qo], [go], iscrowd=crowd, use_masks=use_masks, use_boxes=use_boxes
        )
        if ious[0][0] >= thresh:
            raise ValueError(
                f"Evaluation '{eval_key}' does not fit the current confidences "
                f"of '{pred_field}': prediction {preds.ids[q]} (confidence "
                f"{preds.confidences[q]:g}) comes before the matched prediction "
                f"{preds.ids[p]} ({preds.confidences[p]:g}) and overlaps its "
                f"object {gts.ids[g]} at IoU {ious[0][0]:.3f}, yet the evaluation "
                f"left it unmatched. Were confidences edited after the "
                f"evaluation ran? Run it again, or sweep without eval_key"
            )
