"""How far the numbers can be trusted beyond the images swept, pure numpy:
thresholds with a guarantee (Learn-then-Test: :mod:`.pvalues`,
:mod:`.risks`, :mod:`.guarantee`, applied to a result by
:mod:`.certified`), calibration of the confidences and calibrators
(:mod:`.calibration`; the localization-aware error at the threshold:
:mod:`.laece`), and the held-out check's findings
(:mod:`.heldout`)."""
