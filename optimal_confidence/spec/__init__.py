"""What a run asks for: every option declared once (:mod:`.options`, its
types in :mod:`.option_types`), the :class:`~.objective.Objective` that
says what "best" means, and the checked :class:`~.request.RunRequest` that
every front end builds. Pure Python; the lowest stage, it imports nothing
else of the package."""
