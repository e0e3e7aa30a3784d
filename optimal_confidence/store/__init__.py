"""Everything the package writes, through one write plan: what a request
writes is listed as :class:`~.plan.Write` s and checked as a whole before
the first write (:mod:`.plan`), then carried out all or nothing
(:mod:`.transaction`) under claims that keep other processes off the same
names (:mod:`.claims`). The writes: results as FiftyOne runs
(:mod:`.runs`), FiftyOne's evaluation at a threshold (:mod:`.evaluation`),
calibrated confidences in a new field (:mod:`.calibrated`), files
(:mod:`.files`). Knows nothing of how a result is computed: it is given
what to write."""
