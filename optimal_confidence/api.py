"""The public entry point: :func:`compute_optimal_confidence`.

Its options are declared once in :mod:`optimal_confidence.spec.options`; the
signature below repeats their names and defaults for readers and type
checkers (a test holds the two to each other). The work is the pipeline in
:mod:`optimal_confidence.run.pipeline`; the result is
:class:`~optimal_confidence.result.OptimalConfidenceResult`, stored as a
FiftyOne run by :mod:`optimal_confidence.store.runs`.
"""

from __future__ import annotations

from typing import Callable

import fiftyone.core.collections as foc

from .certainty.heldout import HeldOutCheck
from .spec.objective import Objective
from .run.pipeline import run
from .spec.request import RunRequest
from .result.result import ClassChoice, OptimalConfidenceResult, SweepConfig
from .result.stored import load_optimal_confidence
from .store.runs import RUN_METHOD, list_optimal_confidence_runs, suggest_run_key

__all__ = [
    "RUN_METHOD",
    "ClassChoice",
    "HeldOutCheck",
    "Objective",
    "OptimalConfidenceResult",
    "SweepConfig",
    "compute_optimal_confidence",
    "list_optimal_confidence_runs",
    "load_optimal_confidence",
    "suggest_run_key",
]


def compute_optimal_confidence(
    samples: foc.SampleCollection,
    pred_field: str,
    gt_field: str = "ground_truth",
    *,
    iou: float | None = None,
    classwise: bool | None = None,
    engine: str = "auto",
    eval_key: str | None = None,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    num_thresholds: int | None = None,
    run_key: str | None = None,
    overwrite: bool = False,
    objective: str = "f1",
    beta: float = 1.0,
    target: float | None = None,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
    average: str = "micro",
    per_class: bool = False,
    min_support: int = 1,
    guarantee: float | None = None,
    calibrate: str | None = None,
    n_bootstrap: int | None = None,
    seed: int | None = None,
    ci_level: float = 0.95,
    positive_label: str | None = None,
    use_masks: bool = False,
    use_boxes: bool = False,
    iscrowd: str = "iscrowd",
    num_workers: int | None = None,
    progress: bool | Callable | None = None,
) -> OptimalConfidenceResult:
    """Sweeps the confidence threshold of ``pred_field`` against
    ``gt_field`` and finds the best threshold: by default the one with the
    best F1, or by another ``objective``.

    The counts at threshold ``t`` are exactly those of the
    filter-and-evaluate definition::

        view = samples.filter_labels(
            pred_field, F("confidence") >= t, only_matches=False
        )
        view.evaluate_detections(
            pred_field, gt_field=gt_field, iou=iou, classwise=classwise,
            eval_key="tmp",
        )
        # TP, FP, FN = the sums of tmp_tp, tmp_fp, tmp_fn

    but they come from one matching pass for every threshold at once. A
    prediction is kept when its confidence is ``>= t``: equal confidences
    are kept or dropped together, and a prediction without a confidence is
    never kept. A crowd object (``iscrowd``) can absorb several predictions,
    each a true positive; it is one false negative when none of them is
    kept. Images left without predictions still count their ground truth as
    false negatives.

    Nothing is written to ``samples`` except, when ``run_key`` is given, a
    custom run holding the result.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` (a
            dataset or a view; only its samples are swept)
        pred_field: the ``Detections``, ``Polylines`` or ``Classification``
            field of predictions (``frames.<field>`` for video frames);
            None chooses it as the App's form does
            (:func:`optimal_confidence.records.fields.default_fields`)
        gt_field ("ground_truth"): the ground truth field, of the same
            type; None chooses it as the App's form does
        iou (None): the IoU a prediction needs to match, in ``(0, 1]``;
            None means 0.5, or the IoU of ``eval_key``
        classwise (None): whether only objects of the same label can match;
            None means True, or the setting of ``eval_key``
        engine ("auto"): how predictions are matched: ``"fast"``, a numpy
            matcher that reproduces FiftyOne's COCO matching of boxes exactly
            from ``values()`` reads; ``"fiftyone"``, one
            ``evaluate_detections`` pass; ``"auto"``, the fast matcher where
            it applies (box ``Detections``) and ``evaluate_detections`` for
            masks, polylines and anything else
        eval_key (None): reuse this detection evaluation, which you already
            ran on the dataset (``evaluate_detections(..., eval_key=...)``):
            each prediction's ``<eval_key>`` and ``<eval_key>_id`` are read
            and nothing is matched again. It must have evaluated
            ``pred_field`` against ``gt_field`` over every prediction in
            ``samples``; ``iou`` and ``classwise``, if given, must agree
            with it
        lower_bound (None): the smallest threshold; defaults to the smallest
            confidence in ``samples``
        upper_bound (None): the largest threshold; defaults to the largest
            confidence in ``samples``
        num_thresholds (None): ``None`` sweeps every distinct confidence
            within the bounds (exact); an integer ``n`` sweeps ``n`` evenly
            spaced thresholds from ``lower_bound`` to ``upper_bound``
        run_key (None): a run key to store the result under on the dataset
        overwrite (False): whether to replace an existing run ``run_key``
        objective ("f1"): what "best" means: ``"f1"``, ``"fbeta"`` (with
            ``beta``), ``"precision"`` (the highest recall among thresholds
            with precision >= ``target``), ``"recall"`` (the highest
            precision among thresholds with recall >= ``target``) or
            ``"cost"`` (the lowest ``fp_cost * FP + fn_cost * FN``); see
            :mod:`optimal_confidence.curves.objectives` for the tie rules
        beta (1.0): the beta of ``"fbeta"``
        target (None): the precision or recall to reach, in ``(0, 1]``
        fp_cost (1.0): the cost of a false positive, for ``"cost"``
        fn_cost (1.0): the cost of a false negative, for ``"cost"``
        average ("micro"): ``"micro"`` pools all classes; ``"macro"``
            averages the per-class metric at each threshold
        per_class (False): whether to also choose a threshold per class (by
            the same objective; needs ``classwise=True``), see
            :attr:`OptimalConfidenceResult.class_thresholds`
        min_support (1): with ``per_class``, classes with fewer ground truth
            objects keep the global threshold
        guarantee (None): with a target objective, the probability that
            the chosen threshold reaches the target on new images like
            these (e.g. 0.9): Learn-then-Test chooses the riskiest threshold
            it certifies that also reaches the target on these images, and :attr:`OptimalConfidenceResult.guarantee`
            says what is guaranteed (per class, the level is split between
            the classes); None keeps the point estimate
        calibrate (None): ``"isotonic"`` or ``"sigmoid"`` (Platt scaling):
            fit a map from confidence to the chance of being right on these
            predictions and keep it with the result
            (:attr:`OptimalConfidenceResult.calibrator`; stored with the
            run). Measure it on other images
        n_bootstrap (None): the number of bootstrap resamples of the images
            for :attr:`OptimalConfidenceResult.threshold_ci` and
            :attr:`OptimalConfidenceResult.score_ci`; None for none
        seed (None): the bootstrap's random seed
        ci_level (0.95): the confidence level of the bootstrap intervals
        positive_label (None): for ``Classification`` fields, the positive
            class of a binary task (P/R/F1 of "positive" against the
            threshold, with FiftyOne's binary convention); without it a
            ``Classification`` field is a multiclass task where answers
            below the threshold are escalated (see
            :mod:`optimal_confidence.records.classification`)
        use_masks (False): whether to compute IoUs of ``Detections`` from
            their instance masks
        use_boxes (False): whether to compute IoUs of ``Polylines`` from
            their bounding boxes
        iscrowd ("iscrowd"): the name of the crowd attribute of ground truth
            objects
        num_workers (None): the processes that match ``Detections`` in
            parallel, each reading its own range of sample ids; the result
            is the same as one process's. None: FiftyOne's default for its
            parallel map (``fo.config.default_process_pool_workers``, else
            the CPU count) from 10,000 samples on, one process below; 1:
            one process
        progress (None): whether to show a progress bar (True/False/None for
            FiftyOne's default), or a callable that receives FiftyOne's
            progress bar

    Returns:
        an :class:`OptimalConfidenceResult`

    Raises:
        UnattainableTargetError: (a ``ValueError``) if no threshold reaches
            the ``target``; its message gives the best attainable value and
            where, and its ``result`` attribute holds the curves chosen by
            F1. Nothing is stored
        ValueError: if an argument is invalid or ``samples`` has nothing to
            sweep; also objects without a label, malformed boxes,
            ``use_masks`` without masks, an ``eval_key`` whose matches
            contradict the current confidences, and a ``run_key`` that exists
            (also when another process stores it at the same moment). The
            dataset is left untouched. A stored run is complete or absent,
            even when the process is killed while storing it
    """
    # every argument but these two is an option of the spec, checked there
    options = dict(locals())
    samples, progress = options.pop("samples"), options.pop("progress")
    return run(samples, RunRequest.build(**options), progress=progress).result
