"""Tags on samples, through the write plan: the images a label plan
chooses, tagged so that they can be sent to annotation
(``samples.match_tags(tag)``).

A tag that some sample of the dataset already has is refused, unless it
is one this package wrote (marked when written) and ``overwrite`` is
given: then the tag moves to the new samples. The samples that had the
tag get it back if the plan fails.
"""

from __future__ import annotations

from typing import Any, Sequence

import fiftyone.core.collections as foc

from ..spec.options import OptionError
from .marks import mark, unmark
from .plan import Write, owns_tag
from .transaction import apply

__all__ = ["TagStep", "owns_tag", "tag_samples", "tag_write"]


def tag_write(tag: Any, *, overwrite: bool = False, option: str = "tag") -> Write:
    if not isinstance(tag, str) or not tag.strip():
        raise OptionError(option, f"{option} must be a non-empty tag, e.g. 'label_next'; got {tag!r}")
    return Write("tag", tag, option, overwrite=overwrite)


class TagStep:
    """Tags the samples ``ids`` with the tag of ``write`` (a step of a
    write plan); with ``overwrite``, only they have it afterwards."""

    def __init__(self, write: Write, ids: Sequence[str]) -> None:
        self.write, self.ids = write, list(ids)
        self.before: list[str] | None = None
        self.done = False

    def stage(self, samples: foc.SampleCollection) -> None:
        pass  # a tag is written in one update: nothing to stage

    def commit(self, samples: foc.SampleCollection) -> None:
        dataset, tag = samples._root_dataset, self.write.name
        self.before = dataset.match_tags(tag).values("id")
        self.done = True
        if self.before:
            dataset.select(self.before).untag_samples(tag)
        dataset.select(self.ids).tag_samples(tag)
        mark(dataset, "tag", tag, ids=sorted(self.ids))

    def undo(self, samples: foc.SampleCollection) -> None:
        if not self.done:
            return
        dataset, tag = samples._root_dataset, self.write.name
        dataset.match_tags(tag).untag_samples(tag)
        if self.before:
            dataset.select(self.before).tag_samples(tag)
        unmark(dataset, "tag", tag)
        self.done = False

    def discard(self, samples: foc.SampleCollection) -> None:
        pass

    def cleanup(self, samples: foc.SampleCollection) -> None:
        pass


def tag_samples(
    samples: foc.SampleCollection, ids: Sequence[str], tag: str, *, overwrite: bool = False
) -> int:
    """Tags the samples ``ids`` of ``samples``' dataset with ``tag``,
    through the write plan. Returns how many were tagged."""
    if not isinstance(samples, foc.SampleCollection):
        raise OptionError("samples", f"samples must be a FiftyOne dataset or view; got {type(samples).__name__}")
    apply(samples, [TagStep(tag_write(tag, overwrite=overwrite), ids)])
    return len(set(ids))
