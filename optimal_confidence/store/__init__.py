"""Everything the package writes: results as FiftyOne runs (:mod:`.runs`),
FiftyOne's evaluation at a threshold (:mod:`.evaluation`) and calibrated
confidences in a new field (:mod:`.calibrated`). Knows nothing of how a
result is computed: it is given what to write."""
