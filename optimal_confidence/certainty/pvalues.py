"""The p-values and bounds of Learn-then-Test
(:mod:`optimal_confidence.certainty.guarantee`): Hoeffding, Bentkus, their
combination, the exact binomial tail, fixed-sequence testing and the upper
confidence bound they give. Pure numpy and scipy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import rel_entr
from scipy.stats import binom

__all__ = [
    "bentkus_p_value",
    "binomial_p_value",
    "fixed_sequence_test",
    "hoeffding_bentkus_p_value",
    "hoeffding_p_value",
    "upper_confidence_bound",
]


def hoeffding_p_value(risk: Any, n: Any, alpha: Any) -> np.ndarray:
    """Hoeffding's p-value for ``H: R > alpha`` from the mean ``risk`` of
    ``n`` independent losses in ``[0, 1]``: ``exp(-n h(min(risk, alpha),
    alpha))`` with ``h(a, b) = a log(a / b) + (1 - a) log((1 - a) / (1 -
    b))``, the relative entropy of two Bernoulli laws (Hoeffding, 1963,
    eq. 2.1). Arguments broadcast; returns a ``float64`` array."""
    r, n, a = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (risk, n, alpha)))
    m = np.minimum(r, a)
    h = rel_entr(m, a) + rel_entr(1 - m, 1 - a)
    with np.errstate(invalid="ignore"):
        p = np.exp(-n * h)
    return np.where(np.isnan(p), 1.0, p)


def bentkus_p_value(risk: Any, n: Any, alpha: Any) -> np.ndarray:
    """Bentkus's p-value for ``H: R > alpha`` from the mean ``risk`` of
    ``n`` independent losses in ``[0, 1]``: ``e * P(Binomial(n, alpha) <=
    ceil(n * risk))`` (Bentkus, 2004). Arguments broadcast; returns a
    ``float64`` array."""
    r, n, a = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (risk, n, alpha)))
    # round first: a mean of k / n must not become k + 1 by float noise
    k = np.ceil(np.round(n * r, 9))
    return math.e * binom.cdf(k, n, a)


def hoeffding_bentkus_p_value(risk: Any, n: Any, alpha: Any) -> np.ndarray:
    """The Hoeffding-Bentkus p-value of Learn-then-Test: the smaller of
    :func:`hoeffding_p_value` and :func:`bentkus_p_value`, capped at 1."""
    p = np.minimum(hoeffding_p_value(risk, n, alpha), bentkus_p_value(risk, n, alpha))
    return np.minimum(p, 1.0)


def binomial_p_value(k: Any, n: Any, alpha: Any) -> np.ndarray:
    """The exact p-value for ``H: R > alpha`` from ``k`` errors among ``n``
    independent 0/1 losses: ``P(Binomial(n, alpha) <= k)`` (1 when ``n`` is
    0). Arguments broadcast; returns a ``float64`` array."""
    k, n, a = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (k, n, alpha)))
    return np.asarray(binom.cdf(k, n, a), dtype=np.float64)


def fixed_sequence_test(p_values: Any, delta: float) -> int:
    """Fixed-sequence testing: rejects the hypotheses in the order given
    while their p-value is ``<= delta``, and stops at the first that is not
    (or is ``NaN``). With the order fixed before the data are seen, the
    chance of rejecting any true null is at most ``delta`` with no
    multiplicity correction: that needs the first true null in the order to
    be rejected, a single test at level ``delta``.

    Returns:
        the number of hypotheses rejected: the first that many in the order
    """
    p = np.asarray(p_values, dtype=np.float64)
    failed = np.flatnonzero(~(p <= delta))
    return int(failed[0]) if failed.size else int(p.size)


def upper_confidence_bound(
    risk: Any, n: Any, delta: float, *, binary: bool = False
) -> np.ndarray:
    """The upper confidence bound at level ``1 - delta`` on the expected
    loss: the smallest ``alpha`` whose p-value is ``<= delta`` (the
    Hoeffding-Bentkus p-value, or the binomial one when ``binary``), by
    bisection. 1 where ``n`` is 0.

    Returns:
        a ``float64`` array shaped like ``risk``
    """
    r, n = np.broadcast_arrays(np.asarray(risk, dtype=np.float64), np.asarray(n, dtype=np.float64))
    lo, hi = r.copy(), np.ones_like(r)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if binary:
            p = binomial_p_value(np.rint(r * n), n, mid)
        else:
            p = hoeffding_bentkus_p_value(r, n, mid)
        ok = p <= delta
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi
