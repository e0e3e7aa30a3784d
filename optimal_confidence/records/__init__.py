"""Everything read from FiftyOne: which label fields qualify
(:mod:`.fields`), where match records come from (the fast box matcher,
:mod:`.fast_matching` with its rules in :mod:`.box_matching`; one
evaluation pass or an existing evaluation, :mod:`.matching` and
:mod:`.eval_reuse`; classifications, :mod:`.classification`; chosen by
:mod:`.sources`), the sweep stage that counts them (:mod:`.sweeping`), and
views of the predictions a result keeps (:mod:`.views`). Reads only."""
