"""The bootstrap's engine: the choice of a batch of resamples, exactly, in
a few passes over the match records.

Pure numpy (and :mod:`scipy.sparse`). A resample counts each image as many
times as it was drawn, so its count at a threshold is the weighted sum over
the images of each image's count there. The records are sorted once into
blocks of consecutive thresholds; one sparse product gives every resample's
counts at every block's first threshold. Within a block the counts are
monotone (true and false positives fall, false negatives rise as the
threshold rises), so the counts at the block's two ends bound the
objective inside it, and only the blocks that could hold the choice are
counted threshold by threshold. The choice is then made by
:func:`~optimal_confidence.curves.objectives.choose` over those thresholds,
with the same float operations as over the whole curve: the chosen
threshold is the one a sweep of the resample would choose, not an
approximation.

A count matrix has one row per (class, stream, block): the true positives,
the false positives, and the ground truth objects found minus the true
positives (zero for an image whose every match is one to one, so the
product does little more work than one pass over the predictions).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..spec.objective import Objective
from .objectives import (
    UnattainableTargetError,
    choose,
    metric_curves,
    objective_curve,
    used_metrics,
)
from .sweep import Counts, MatchRecords

__all__ = ["Resampler", "draw_weights"]

# the objectives' tolerance for ties and targets (objectives._EPS), and a
# margin for the float rounding of a bound: a wider margin only counts
# more blocks threshold by threshold, it never changes a choice
_EPS = 1e-12
_MARGIN = 1e-9
_TP, _FP, _FOUND = 0, 1, 2

#: blocks the thresholds are cut into, unless told: about the square root
#: of (thresholds x candidate blocks per resample) at 100,000 images
_DEFAULT_BLOCKS = 4096


def draw_weights(rng: np.random.Generator, num_samples: int, b: int) -> np.ndarray:
    """How many times each image is drawn in each of ``b`` resamples: ``n``
    draws with replacement, i.e. a multinomial over the images.

    Returns:
        a ``float32`` array of shape ``(num_samples, b)`` (images by rows,
        the layout the sparse product reads)
    """
    n = int(num_samples)
    dtype = np.uint32 if n < 2**32 else np.int64
    draws = rng.integers(0, n, size=(b, n), dtype=dtype)
    w = np.empty((b, n), dtype=np.float32)
    for k in range(b):
        w[k] = np.bincount(draws[k], minlength=n)
    return np.ascontiguousarray(w.T)


class _Objects:
    """The scored objects, one row per object, sorted by block: the image,
    the column (``class group * 3 + stream``) and the confidence."""

    def __init__(self, records: MatchRecords, group_of: np.ndarray, cuts: np.ndarray):
        pc, gc = records.pred_conf, records.gt_conf
        p = ~np.isnan(pc)
        g = ~np.isnan(gc)
        stream = np.where(records.pred_tp[p], _TP, _FP)
        conf = np.concatenate([pc[p], gc[g]])
        img = np.concatenate([records.pred_sample[p], records.gt_sample[g]])
        group = np.concatenate([group_of[records.pred_class[p]], group_of[records.gt_class[g]]])
        col = group * 3 + np.concatenate([stream, np.full(int(g.sum()), _FOUND)])
        block = np.searchsorted(cuts, conf, side="right") - 1
        keep = block >= 0
        order = np.argsort(block[keep], kind="stable")
        self.block = block[keep][order]
        self.conf = conf[keep][order]
        self.img = img[keep][order].astype(np.int64)
        self.col = col[keep][order].astype(np.int64)
        self.start = np.searchsorted(self.block, np.arange(len(cuts) + 1), side="left")


class Resampler:
    """Chooses the threshold of many resamples of the same records.

    Args:
        records: the :class:`~optimal_confidence.curves.sweep.MatchRecords`
        thresholds: the swept thresholds, ascending
        objective: the :class:`~optimal_confidence.spec.objective.Objective`
        at: the full-data threshold, where each resample's objective is
            read (``NaN``: nothing is kept there)
        num_blocks (None): how many blocks the thresholds are cut into;
            None picks a size that keeps both passes small
    """

    def __init__(
        self,
        records: MatchRecords,
        thresholds: np.ndarray,
        objective: Objective,
        at: float,
        num_blocks: int | None = None,
    ):
        self.objective = objective
        self.thresholds = thr = np.asarray(thresholds, dtype=np.float64)
        self.by_class = objective.average == "macro" and objective.name != "cost"
        group_of = np.zeros(len(records.classes), dtype=np.int64)
        if self.by_class:
            present = [records.classes.index(c) for c in records.present_classes()]
            group_of[present] = np.arange(len(present))
            self.groups = max(len(present), 1)
        else:
            self.groups = 1
        self.cuts, self.at_block = _cut(thr, at, num_blocks)
        k = len(self.cuts)
        self.first = np.searchsorted(thr, self.cuts, side="left")
        self.last = np.append(self.first[1:], len(thr))
        self.nonempty = self.last > self.first
        self.exact = self.nonempty & (thr[np.minimum(self.first, len(thr) - 1)] == self.cuts)
        self.objects = _Objects(records, group_of, self.cuts)
        self.matrix = _count_matrix(records, group_of, self.objects, self.groups, k)

    def choose_batch(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The threshold each resample chooses, and the objective (and the
        constrained metric) at the full-data threshold in each.

        Args:
            weights: how many times each image is drawn, shape
                ``(num_samples, B)`` (see :func:`draw_weights`)

        Returns:
            ``(chosen, scores, constraint)``, arrays of shape ``(B,)``, as
            :func:`~optimal_confidence.curves.uncertainty.bootstrap` keeps
            them
        """
        g, k = self.groups, len(self.cuts)
        out = np.asarray(self.matrix @ weights, dtype=np.float64)
        inc = out[: g * 3 * k].reshape(g, 3, k, -1)
        cum = np.zeros((g, 3, k + 1, inc.shape[-1]))
        cum[:, :, :k] = np.cumsum(inc[:, :, ::-1], axis=2)[:, :, ::-1]
        cum[:, _FOUND] += cum[:, _TP]
        total = out[g * 3 * k :]
        curves = (cum[:, _TP], cum[:, _FP], total[:, None, :] - cum[:, _FOUND])
        scores, constraint = self._value_at(curves)
        cand = self._candidates(curves)
        chosen = self._refine(cand, cum, total, weights)
        return chosen, scores, constraint

    def _inputs(self, tp, fp, fn) -> tuple[Counts, Counts | None]:
        """``(counts, class_counts)`` as the objectives take them (the
        class counts stacked), from arrays whose first axis is the class
        group."""
        pooled = Counts(tp.sum(axis=0), fp.sum(axis=0), fn.sum(axis=0))
        if not self.by_class:
            return pooled, None
        return pooled, Counts(tp, fp, fn)

    def _value_at(self, curves) -> tuple[np.ndarray, np.ndarray]:
        """The objective (and the constrained metric) at the full-data
        threshold, per resample (as ``uncertainty._value_at``)."""
        k = self.at_block
        counts, classes = self._inputs(*(c[:, k] for c in curves))
        obj = self.objective
        if obj.constrained is None:
            return objective_curve(obj, counts, classes), np.full(len(counts.tp), np.nan)
        m = metric_curves(counts, classes, obj, used_metrics(obj))
        return m[obj.metric], m[obj.constrained]

    def _candidates(self, curves) -> np.ndarray:
        """Which blocks may hold each resample's choice: shape ``(K, B)``."""
        obj = self.objective
        tp, fp, fn = curves
        exact = self._inputs(tp[:, :-1], fp[:, :-1], fn[:, :-1])
        # the best each block can do: most true positives (its first
        # threshold), fewest false positives and negatives (the ends)
        lo_fp = fp[:, 1:]
        hi_fp = fp[:, :-1]
        lo_fn, hi_fn = fn[:, :-1], fn[:, 1:]
        valid = self.exact[:, None]
        nonempty = self.nonempty[:, None]
        if obj.name == "cost":
            s = objective_curve(obj, *exact)
            best = np.where(valid, s, np.inf).min(axis=0)
            # the lowest cost in a block: fewest errors of each kind (the
            # highest, for a negative cost)
            fp_end = (lo_fp if obj.fp_cost >= 0 else hi_fp).sum(axis=0)
            fn_end = (lo_fn if obj.fn_cost >= 0 else hi_fn).sum(axis=0)
            bound = obj.fp_cost * fp_end + obj.fn_cost * fn_end
            tol = _MARGIN * np.maximum(1.0, np.abs(best))
            return nonempty & (bound <= best + tol)
        used = used_metrics(obj)
        upper = metric_curves(*self._inputs(tp[:, :-1], lo_fp, lo_fn), obj, used)
        m = metric_curves(*exact, obj, used)
        s = m[obj.metric]
        if obj.constrained is None:
            best = np.where(valid, s, -np.inf).max(axis=0)
            return nonempty & (upper[obj.metric] >= best - _EPS - _MARGIN)
        reach = obj.target - _EPS
        feasible = valid & (m[obj.constrained] >= reach)
        may_reach = nonempty & (upper[obj.constrained] >= reach - _MARGIN)
        if obj.name == "accuracy":
            # up to the first block that starts at a feasible threshold
            seen = np.cumsum(feasible, axis=0)
            return may_reach & ((seen == 0) | (feasible & (seen == 1)))
        best = np.where(feasible, s, -np.inf).max(axis=0)
        return may_reach & (upper[obj.metric] >= best - _EPS - _MARGIN)

    def _refine(self, cand, cum, total, weights) -> np.ndarray:
        """Counts the candidate blocks threshold by threshold and chooses."""
        b = cand.shape[1]
        pieces = {}
        for k in np.flatnonzero(cand.any(axis=1)):
            rows = np.flatnonzero(cand[k])
            pieces[k] = (rows, self._block_counts(k, rows, cum, total, weights))
        chosen = np.full(b, np.nan)
        for r in range(b):
            blocks = np.flatnonzero(cand[:, r])
            if blocks.size == 0:
                continue
            parts = []
            for k in blocks:
                rows, arrays = pieces[k]
                j = int(np.searchsorted(rows, r))
                parts.append([a[:, :, j] for a in arrays])
            tp, fp, fn = (np.concatenate([p[i] for p in parts], axis=1) for i in range(3))
            index = np.concatenate([np.arange(self.first[k], self.last[k]) for k in blocks])
            try:
                chosen[r] = self.thresholds[index[choose(self.objective, *self._inputs(tp, fp, fn)).index]]
            except UnattainableTargetError:
                pass
        return chosen

    def _block_counts(self, k, rows, cum, total, weights):
        """``(tp, fp, fn)`` at every threshold of block ``k`` in the
        resamples ``rows``: arrays of shape ``(groups, L, len(rows))``."""
        g = self.groups
        first, last = self.first[k], self.last[k]
        n_thr = last - first
        o = self.objects
        sl = slice(o.start[k], o.start[k + 1])
        # an object counts at the block's thresholds up to its confidence
        pos = np.searchsorted(self.thresholds[first:last], o.conf[sl], side="right")
        keep = pos > 0
        cols = (o.col[sl] * n_thr + pos - 1)[keep]
        onehot = sp.csr_matrix(
            (np.ones(len(cols), dtype=weights.dtype), (cols, np.arange(len(cols)))),
            shape=(g * 3 * n_thr, len(cols)),
        )
        w = weights[np.ix_(o.img[sl][keep], rows)]
        inc = np.asarray(onehot @ w, dtype=np.float64).reshape(g, 3, n_thr, len(rows))
        counts = np.cumsum(inc[:, :, ::-1], axis=2)[:, :, ::-1]
        counts += cum[:, :, k + 1, rows][:, :, None, :]
        tp = counts[:, _TP]
        fn = total[:, None, rows] - counts[:, _FOUND]
        return tp, counts[:, _FP], fn


def _cut(thresholds: np.ndarray, at: float, num_blocks: int | None):
    """The blocks' first thresholds (and the full-data threshold), and the
    index of the full-data threshold's block (one past the last when it
    is ``NaN``: nothing is counted there).

    The default number of blocks does not depend on the number of class
    groups: each group multiplies the first pass (``groups * blocks``
    counts per resample) and the counting of a candidate block
    (``groups * thresholds / blocks``) alike. Fewer blocks for more
    groups (as before) made the candidate blocks long: at 80 classes and
    700,000 thresholds a batch's block counts took over 20 GB."""
    starts = np.flatnonzero(np.r_[True, thresholds[1:] > thresholds[:-1]]) if len(thresholds) else np.zeros(0, int)
    if num_blocks is None:
        num_blocks = _DEFAULT_BLOCKS
    step = max(1, -(-len(starts) // max(int(num_blocks), 1)))
    cuts = thresholds[starts[::step]]
    if np.isnan(at):
        return cuts, len(cuts)
    cuts = np.unique(np.append(cuts, at))
    return cuts, int(np.searchsorted(cuts, at))


def _count_matrix(records, group_of, objects: _Objects, groups: int, k: int):
    """The sparse matrix whose product with the weights gives, per class
    group, the true positives, the false positives and the found ground
    truth minus the true positives in each block, then the ground truth
    totals: shape ``(groups * 3 * K + groups, num_samples)``."""
    o = objects
    stream = o.col % 3
    rows = (o.col * k + o.block).astype(np.int64)
    # a true positive also takes one off the found-minus-true-positives row
    tp = stream == _TP
    diff_rows = ((o.col[tp] // 3 * 3 + _FOUND) * k + o.block[tp]).astype(np.int64)
    found = stream == _FOUND
    rows = np.concatenate([rows[~found], rows[found], diff_rows])
    cols = np.concatenate([o.img[~found], o.img[found], o.img[tp]])
    data = np.concatenate([np.ones(int((~found).sum()) + int(found.sum())), -np.ones(int(tp.sum()))])
    # the ground truth totals: every object, found or not
    rows = np.concatenate([rows, groups * 3 * k + group_of[records.gt_class]])
    cols = np.concatenate([cols, records.gt_sample])
    data = np.concatenate([data, np.ones(records.num_gts)])
    shape = (groups * 3 * k + groups, records.num_samples)
    m = sp.csc_matrix((data, (rows, cols)), shape=shape)
    m.eliminate_zeros()
    # float32 sums stay exact while every partial sum is below 2**24
    bound = float(np.abs(m.data).max(initial=0)) * records.num_samples
    return m.astype(np.float32 if bound < 2**24 else np.float64)
