"""Counting and choosing, pure numpy: match records and the exact counts
at every threshold (:mod:`.sweep`), the curves of a sweep
(:mod:`.sweep_curves`), objectives and the choice (:mod:`.objectives`),
per-class thresholds (:mod:`.per_class`), the human-review band
(:mod:`.review`) and bootstrap intervals (:mod:`.uncertainty`). Imports
only :mod:`optimal_confidence.spec`."""
