"""The optimal_confidence FiftyOne plugin.

FiftyOne imports this file as the plugin's package and calls
:func:`register`. The operator and the panel live in
``optimal_confidence/app/``; the library they call, usable without the
App, is ``optimal_confidence/``.
"""

from .optimal_confidence.app import ConfidenceCurves, OptimalConfidence
from .optimal_confidence.app.shards import SweepShard


def register(p):
    p.register(OptimalConfidence)
    p.register(ConfidenceCurves)
    p.register(SweepShard)
