"""A run, start to end: the pipeline (:mod:`.pipeline`: prepare, sweep,
choose, intervals, review band, store), a request with its actions
(:mod:`.jobs`: comparisons, evaluation, calibrated field, export) and
:func:`~.compare.compare_models`. What the front ends (the API, the
command line, the App) call."""
