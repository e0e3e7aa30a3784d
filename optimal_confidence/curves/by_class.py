"""Every class's counts at every threshold, a slice of thresholds at a time.

A macro average needs each class's true positives, false positives and
false negatives at each swept threshold: a (classes x thresholds) table,
which at 80 classes and a 100,000-image sweep (about 700,000 thresholds)
is 54 million entries per count. :class:`ClassCounts` never holds it
whole: it sorts the objects of each count (true positives, kept
predictions, found ground truth) once by the highest threshold each passes
and hands out the table in slices of thresholds (:meth:`ClassCounts.chunks`),
each counted by one ``bincount`` and a cumulative sum, with the counts of
the thresholds above carried down. The counts are those of
:func:`~optimal_confidence.curves.sweep.count_at` on each class's records
(:meth:`~optimal_confidence.curves.sweep.MatchRecords.restrict_to_class`),
exactly (integers).

Pure numpy.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from .sweep import Counts, MatchRecords

__all__ = ["ClassCounts", "class_mean"]

#: entries of a (classes x thresholds) slice; the slices of one count and
#: the float metrics made of them stay near 100 MB
_CHUNK_ENTRIES = 2_000_000


class ClassCounts:
    """The counts of ``classes`` at ascending ``thresholds``, stacked: a
    :class:`~optimal_confidence.curves.sweep.Counts` whose arrays have
    one row per class, served a slice of thresholds at a time.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: the thresholds, in ascending order (a ``NaN`` last,
            passed by nothing, as :func:`~optimal_confidence.curves.sweep.count_at` counts it)
        classes: the labels of the rows, each in ``records.classes``
        chunk (None): thresholds per slice; None keeps a slice near
            2 million entries

    Raises:
        ValueError: if the thresholds are not ascending, or a class is not
            in the records or is named twice
    """

    def __init__(
        self,
        records: MatchRecords,
        thresholds: np.ndarray,
        classes: Sequence[str],
        chunk: int | None = None,
    ):
        t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        nan = np.isnan(t)
        if np.any(t[1:] < t[:-1]) or np.any(nan[:-1] & ~nan[1:]):
            raise ValueError("ClassCounts needs the thresholds in ascending order (NaN, which nothing passes, last)")
        self.classes = tuple(classes)
        missing = [c for c in self.classes if c not in records.classes]
        if missing:
            raise ValueError(f"Classes {missing} are not in these records; classes are {list(records.classes)}")
        if len(set(self.classes)) < len(self.classes):
            raise ValueError(f"Classes {list(self.classes)} name a class twice")
        self.thresholds = t
        g = len(self.classes)
        # one more entry, never assigned: an object without a class (-1) is in no row
        code = np.full(len(records.classes) + 1, -1, dtype=np.int64)
        code[[records.classes.index(c) for c in self.classes]] = np.arange(g)
        pred_code, gt_code = code[records.pred_class], code[records.gt_class]
        tp = records.pred_tp.astype(bool)
        self._streams = [
            _Stream(records.pred_conf[tp], pred_code[tp], t),
            _Stream(records.pred_conf, pred_code, t),
            _Stream(records.gt_conf, gt_code, t),
        ]
        self.gt_total = np.bincount(gt_code[gt_code >= 0], minlength=g).astype(np.int64)
        self.chunk = max(1, int(chunk) if chunk else _CHUNK_ENTRIES // max(g, 1))

    def __len__(self) -> int:
        return len(self.classes)

    def chunks(self) -> Iterator[tuple[slice, Counts]]:
        """``(slice, counts)`` pairs covering the thresholds: the counts at
        ``thresholds[slice]``, arrays of shape ``(classes, len(slice))``,
        from the highest thresholds down."""
        n = len(self.thresholds)
        above = [np.zeros(len(self), dtype=np.int64) for _ in self._streams]
        for stop in range(n, 0, -self.chunk):
            start = max(0, stop - self.chunk)
            tp, kept, found = (
                s.count_ge(start, stop, len(self), a) for s, a in zip(self._streams, above)
            )
            yield slice(start, stop), Counts(tp, kept - tp, self.gt_total[:, None] - found)

    def stacked(self) -> Counts:
        """The whole table at once (small sweeps and tests)."""
        parts = list(self.chunks())[::-1]
        if not parts:
            empty = np.zeros((len(self), 0), dtype=np.int64)
            return Counts(empty, empty, empty)
        return Counts(*(np.concatenate([p[i] for _, p in parts], axis=1) for i in range(3)))


class _Stream:
    """The objects of one count (true positives, kept predictions, found
    ground truth), sorted by the highest threshold each passes."""

    def __init__(self, conf: np.ndarray, code: np.ndarray, thresholds: np.ndarray):
        # a value passes the thresholds up to the last one <= it
        keep = ~np.isnan(conf) & (code >= 0)
        top = np.searchsorted(thresholds, conf[keep], side="right") - 1
        code = code[keep]
        order = np.argsort(top, kind="stable")
        self.top, self.code = top[order], code[order]

    def count_ge(self, start: int, stop: int, g: int, above: np.ndarray) -> np.ndarray:
        """Each class's objects that pass each threshold of ``[start,
        stop)``; ``above`` holds those passing ``stop`` and is advanced to
        ``start`` (the slices must come from the top down)."""
        lo, hi = np.searchsorted(self.top, [start, stop], side="left")
        m = stop - start
        hist = np.bincount(
            self.code[lo:hi] * m + (self.top[lo:hi] - start), minlength=g * m
        ).reshape(g, m)
        counts = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1] + above[:, None]
        above += hist.sum(axis=1)
        return counts


def class_mean(values: np.ndarray) -> np.ndarray:
    """The mean over the first axis (the classes), summed in class order:
    the same floats whatever the shape of the rest (``np.mean`` switches
    to pairwise sums when the rest has one entry)."""
    total = np.array(values[0], dtype=np.float64, copy=True)
    for row in values[1:]:
        total += row
    return total / len(values)
