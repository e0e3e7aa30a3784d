"""The curves panel's "After deployment" section: the shown result's
threshold estimated on the images of the App's current view, taken as
new images without labels, with the shift check; and a button that
chooses the next images to label, tags them and keeps the plan for
verifying. Functions of the panel's ``ctx``, like :mod:`.panel_deploy`.
"""

from __future__ import annotations

import json
from typing import Any

from ..result.result import OptimalConfidenceResult
from ..store.files import FileStep, confined_path, dataset_folder, file_write, free_file_name, text_writer
from ..store.tags import TagStep, tag_write
from ..store.transaction import apply
from .panel_actions import error_message, message

__all__ = ["LABEL_TAG", "estimate", "plan_labels"]

#: the tag of the images the panel chooses to label
LABEL_TAG = "label_next"


def _new_images(ctx: Any) -> Any:
    """The samples of the App's current view, with all their predictions
    (a view filtered at a clicked threshold keeps its samples, not its
    filter: the estimate needs every prediction)."""
    return ctx.dataset.select(ctx.view.values("id"), ordered=True)


def estimate(ctx: Any, run_key: str, result: OptimalConfidenceResult) -> None:
    """Estimates the result's threshold on the current view's images and
    says whether the estimate holds."""
    try:
        est = result.estimate(_new_images(ctx), seed=0)
    except ValueError as e:
        ctx.panel.state.set(error_message(e, at="after"))
        return
    lines = [f"**On the {est.num_samples:,} images of the current view:** {est.summary()}"]
    if est.shift is not None:
        lines.append(("**Shift check:** " if est.shift.holds else "**Shift check (warning):** ") + est.shift.summary())
    ctx.panel.state.set(message("\n\n".join(lines), at="after"))


def plan_labels(ctx: Any, run_key: str, result: OptimalConfidenceResult) -> None:
    """Chooses the next images of the current view to label, tags them
    ``label_next`` (moving the tag only from images the package tagged,
    never a user's) and keeps the plan in the dataset's export folder, all
    through one write plan."""
    budget = int(ctx.panel.state.get("label_budget") or 50)
    samples = _new_images(ctx)
    try:
        plan = result.plan_labels(samples, budget, seed=0)
        folder = dataset_folder(ctx.dataset.name)
        path = confined_path(ctx.dataset.name, free_file_name(folder, f"label_plan_{run_key}", ".json"))
        text = json.dumps(plan.to_dict()) + "\n"
        apply(samples, [
            TagStep(tag_write(LABEL_TAG, overwrite=True), plan.sample_ids),
            FileStep(file_write(path, option="label plan", root=folder), text_writer(text)),
        ])
    except ValueError as e:
        ctx.panel.state.set(error_message(e, at="after"))
        return
    ctx.panel.state.set(message(
        f"{plan.summary()}. Tagged `{LABEL_TAG}`: send them to annotation "
        f"(`dataset.match_tags('{LABEL_TAG}')`). The plan is kept in `{path}`; once they are "
        f"labeled, verify with `oc.verify(result, samples, plan=json.load(open('{path}')))`.",
        at="after",
    ))
    ctx.ops.notify(f"Tagged {len(plan.indices)} images '{LABEL_TAG}'", variant="success")

