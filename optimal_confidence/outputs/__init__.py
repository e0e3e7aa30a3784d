"""What a result says, without FiftyOne: its text reports
(:mod:`.reports`, with :mod:`.reports_certainty` for guarantees and
calibration and :mod:`.reports_compare` for comparisons) and its operating
point as a deployment config (:mod:`.deployment`). The figures are
:mod:`optimal_confidence.plots`, one stage up."""
