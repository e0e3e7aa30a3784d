"""The table of options: every option of a run, with its group, kind,
default, range or choices, tasks, help and command-line flag (see
:class:`~optimal_confidence.spec.option_types.Option`). Checked and
re-exported by :mod:`optimal_confidence.spec.options`.

Pure Python: nothing here imports FiftyOne or numpy.
"""

from __future__ import annotations

from .option_types import OFF, ON, Choice, Option, with_when_defaults

__all__ = [
    "ACTION_OPTIONS", "BAND_OPTIONS", "GROUPS", "NOT_API_OPTIONS", "OBJECTIVES", "OPTIONS",
    "TARGET_OBJECTIVES",
]

_DETECTION = frozenset({"detection"})
#: a serving stack's format: for detectors
_SERVING = dict(tasks=_DETECTION, instead="'json', 'yaml' or 'ultralytics'")
_CLASSIFIER = frozenset({"binary", "multiclass"})

#: the groups of options, in the order forms and ``--help`` show them
GROUPS: dict[str, str] = {
    "fields": "Fields",
    "matching": "Matching",
    "thresholds": "Thresholds",
    "objective": "Objective",
    "per_class": "Per-class thresholds",
    "uncertainty": "How certain",
    "review": "Review band",
    "calibration": "Calibration",
    "storage": "Storage",
    "deployment": "Deployment",
    "after": "After deployment",
}

#: the objectives that reach a target
TARGET_OBJECTIVES = ("precision", "recall", "accuracy")


_NO_EVAL_KEY = ({"eval_key": OFF},)

#: what None means for a field: the rule of optimal_confidence.records.fields
_CHOSEN_FIELD = "chosen from the samples, as the App's form chooses it"

#: the objective choices
OBJECTIVES: tuple[Choice, ...] = (
    Choice("f1", "Best F1", "The threshold with the highest F1"),
    Choice("fbeta", "Best F-beta", "F-beta: beta > 1 favours recall, < 1 precision"),
    Choice("precision", "Precision target", "The most recall with precision >= target"),
    Choice("recall", "Recall target", "The most precision with recall >= target"),
    Choice("cost", "Lowest cost", "The least FP cost x FP + FN cost x FN"),
    Choice(
        "accuracy",
        "Accuracy target (escalation)",
        "The lowest threshold whose kept answers reach the target accuracy",
        tasks=frozenset({"multiclass"}),
        # on detections and yes/no answers the accuracy of what is kept is
        # the precision
        instead="'precision' with the same target (the share of kept answers that are right)",
    ),
)

#: every option of a run, by group
OPTIONS: tuple[Option, ...] = (
    # -- fields
    Option(
        "pred_field", "field", "fields", "Predictions field",
        "the field of model predictions, with confidences",
        none=_CHOSEN_FIELD, cli="--pred", metavar="FIELD", cli_extra="compare_with",
        cli_help="the field of model predictions, with confidences (repeat "
        "--pred to compare models)",
    ),
    Option(
        "gt_field", "field", "fields", "Ground truth field",
        "the field of ground truth objects", default="ground_truth",
        none=_CHOSEN_FIELD, cli="--gt", metavar="FIELD",
    ),
    Option(
        "compare_with", "fields", "fields", "Compare with",
        "other prediction fields to compare with pred_field, with the same "
        "options (each model's run is stored under the run key followed by "
        "an underscore and the model's field)",
        none="no comparison", tasks=_DETECTION, cli="--compare", metavar="FIELD",
    ),
    Option(
        "positive_label", "str", "fields", "Positive label",
        "Classification fields: the positive class of a yes/no question "
        "(P/R/F1 of 'positive' against the threshold)",
        none="a multiclass task: answers below the threshold go to a person",
        tasks=_CLASSIFIER, metavar="LABEL",
    ),
    # -- matching
    Option(
        "iou", "float", "matching", "IoU",
        "the intersection over union a match needs",
        none="0.5, or the IoU of eval_key", low=0, high=1, low_open=True,
        tasks=_DETECTION, when=_NO_EVAL_KEY, form_default=0.5,
    ),
    Option(
        "classwise", "bool", "matching", "Classwise",
        "only match objects with the same label (off: any label can match, "
        "and a match across labels counts as FP and FN)",
        none="True, or the setting of eval_key", tasks=_DETECTION,
        when=_NO_EVAL_KEY, form_default=True, cli="--any-class",
        cli_flag=False,
        cli_help="let objects of different labels match (classwise=False)",
    ),
    Option(
        "eval_key", "eval_key", "matching", "Reuse an evaluation",
        "read the matches of an evaluation you already ran of the two "
        "fields instead of matching again (its IoU and classwise are used)",
        none="match now", tasks=_DETECTION, metavar="KEY",
    ),
    Option(
        "engine", "choice", "matching", "Matching engine",
        "how predictions are matched: the fast exact matcher for box "
        "Detections (auto, fast) or one pass of FiftyOne's own detection "
        "evaluation (fiftyone)",
        default="auto", tasks=_DETECTION, when=_NO_EVAL_KEY,
        choices=(
            Choice("auto", "Auto", "The fast matcher where it applies"),
            Choice("fast", "Fast", "The fast exact matcher (box Detections)"),
            Choice("fiftyone", "FiftyOne", "One evaluate_detections pass"),
        ),
    ),
    Option(
        "use_masks", "bool", "matching", "Use instance masks",
        "match instance masks instead of boxes", default=False,
        tasks=_DETECTION, when=_NO_EVAL_KEY, cli_flag=True,
    ),
    Option(
        "use_boxes", "bool", "matching", "Use boxes of polylines",
        "match polylines by their bounding boxes", default=False,
        tasks=_DETECTION, when=_NO_EVAL_KEY, cli_flag=True,
    ),
    Option(
        "iscrowd", "str", "matching", "Crowd attribute",
        "the name of the crowd attribute of ground truth objects",
        default="iscrowd", tasks=_DETECTION, when=_NO_EVAL_KEY,
        metavar="NAME",
    ),
    Option(
        "num_workers", "int", "matching", "Worker processes",
        "processes that match the samples in parallel, each reading its own "
        "range of sample ids (the fast matcher; the result is the same as "
        "one process's); 1: one process",
        none="FiftyOne's default for its parallel map (its "
        "default_process_pool_workers, else the CPU count), from 10,000 "
        "samples on", low=1, high=256,
        tasks=_DETECTION, when=_NO_EVAL_KEY, metavar="N",
        limit="more processes than cores only add start-up time",
    ),
    # -- thresholds
    Option(
        "lower_bound", "float", "thresholds", "Lower bound",
        "the smallest threshold", none="the smallest confidence",
    ),
    Option(
        "upper_bound", "float", "thresholds", "Upper bound",
        "the largest threshold", none="the largest confidence",
    ),
    Option(
        "num_thresholds", "int", "thresholds", "Number of thresholds",
        "evenly spaced thresholds between the bounds",
        none="the exact sweep, every distinct confidence", low=1, high=1_000_000,
        limit="a finer grid costs memory and time and cannot show more than "
        "the exact sweep, which has a threshold at every distinct confidence",
    ),
    # -- objective
    Option(
        "objective", "choice", "objective", "Objective",
        "what the best threshold is best at: f1; fbeta (beta); precision: "
        "the most recall with precision >= target; recall: the most "
        "precision with recall >= target; cost: the least fp_cost x FP + "
        "fn_cost x FN; accuracy: the lowest threshold whose answers reach "
        "the target accuracy",
        default="f1", choices=OBJECTIVES,
    ),
    Option(
        "beta", "float", "objective", "Beta",
        "the beta of fbeta: 2 counts recall twice as much as precision",
        default=1.0, low=0, high=1000, low_open=True, when=({"objective": ("fbeta",)},),
        limit="beyond that F-beta is the recall, and beta squared overflows",
    ),
    Option(
        "target", "float", "objective", "Target",
        "the precision, recall or accuracy to reach, for example 0.95",
        none="no target (f1, fbeta, cost)", low=0, high=1, low_open=True,
        when=({"objective": TARGET_OBJECTIVES},),
    ),
    Option(
        "guarantee", "float", "objective", "Guarantee",
        "certify the target on new images like these with this probability, "
        "for example 0.9 (Learn-then-Test): the threshold chosen is the "
        "riskiest one certified that reaches the target on these images",
        none="a point estimate: the best threshold on these images",
        low=0, high=1, low_open=True, high_open=True, metavar="P",
        when=({"objective": TARGET_OBJECTIVES, "target": ON},),
    ),
    Option(
        "fp_cost", "float", "objective", "Cost of a false positive",
        "the cost of a false positive (objective cost, review band cost)",
        default=1.0, low=0, when=({"objective": ("cost",)}, {"review_cost": ON}),
    ),
    Option(
        "fn_cost", "float", "objective", "Cost of a false negative",
        "the cost of a false negative (objective cost, review band cost)",
        default=1.0, low=0, when=({"objective": ("cost",)}, {"review_cost": ON}),
    ),
    Option(
        "average", "choice", "objective", "Averaging",
        "pool all classes (micro) or average per-class metrics (macro)",
        default="micro",
        choices=(
            Choice("micro", "Pool all classes (micro)"),
            Choice("macro", "Average per class (macro)"),
        ),
    ),
    # -- per class
    Option(
        "per_class", "bool", "per_class", "A threshold per class",
        "also choose each class's own threshold by the objective",
        default=False, cli_flag=True,
    ),
    Option(
        "min_support", "int", "per_class", "Minimum support",
        "with per_class, classes with fewer ground truth objects keep the "
        "global threshold",
        default=1, low=1, when=({"per_class": ON},),
    ),
    # -- uncertainty
    Option(
        "n_bootstrap", "int", "uncertainty", "Bootstrap resamples",
        "resample the images this many times (e.g. 1000) for an interval "
        "of the threshold and the objective",
        none="no bootstrap", low=1, high=100_000, cli="--bootstrap", metavar="N",
        limit="each resample sweeps every image again: 100,000 take minutes, "
        "and the interval's ends settle long before",
    ),
    Option(
        "seed", "int", "uncertainty", "Seed",
        "the bootstrap's random seed, for reproducible intervals",
        none="a random seed", low=0, when=({"n_bootstrap": ON},),
    ),
    Option(
        "ci_level", "float", "uncertainty", "Interval level",
        "the confidence level of the bootstrap intervals",
        default=0.95, low=0, high=1, low_open=True, high_open=True,
        when=({"n_bootstrap": ON},),
    ),
    # -- review band
    Option(
        "review_precision", "float", "review", "Review band: precision to accept",
        "find a review band: accept predictions automatically where the "
        "accepted ones reach this precision (e.g. 0.95), review the "
        "uncertain ones", none="no band", low=0, high=1, low_open=True,
        metavar="P",
    ),
    Option(
        "max_lost", "float", "review", "Review band: true detections that may be dropped",
        "with review_precision: the share of true detections the dropped "
        "predictions may hold", default=0.05, low=0, high=1,
    ),
    Option(
        "review_cost", "float", "review", "Review band: cost per review",
        "the cost of reviewing one prediction (the band's cost also counts "
        "fp_cost per accepted false positive and fn_cost per miss)",
        none="no cost", low=0,
    ),
    # -- storage
    Option(
        "run_key", "run_key", "storage", "Run key",
        "store the result on the dataset under this run key",
        none="not stored", cli="--save-run", metavar="KEY",
    ),
    Option(
        "overwrite", "bool", "storage", "Overwrite",
        "replace an existing run (or evaluation) with this key, or a calibrated "
        "field a calibrator wrote", default=False, cli_flag=True,
    ),
    # -- calibration
    Option(
        "calibrate", "choice", "calibration", "Calibrate the confidences",
        "fit a monotone map from confidence to the chance of being right "
        "(isotonic, or sigmoid: Platt scaling), per class where there are "
        "enough predictions, stored with the run",
        none="no calibrator",
        choices=(
            Choice("isotonic", "Isotonic", "Flexible; needs a few hundred predictions"),
            Choice("sigmoid", "Sigmoid (Platt)", "Two parameters; robust with few predictions"),
        ),
    ),
    Option(
        "calibrated_field", "new_key", "calibration", "Write calibrated confidences to",
        "a new field: a copy of the predictions with calibrated confidences, "
        "for every sample of the dataset (the predictions are not touched)",
        none="no new field", metavar="FIELD", when=({"calibrate": ON},),
    ),
    # -- deployment
    Option(
        "evaluate_key", "new_key", "deployment", "Evaluate at the chosen threshold",
        "store FiftyOne's detection evaluation at the chosen threshold under "
        "this evaluation key (FiftyOne's Model Evaluation panel shows it)",
        none="no evaluation", tasks=_DETECTION, metavar="KEY",
    ),
    Option(
        "export_path", "str", "deployment", "Export the operating point to",
        "write the deployment config (threshold, per-class thresholds, IoU, "
        "objective, counts) to this file", none="no export", cli="--export",
        metavar="PATH",
    ),
    Option(
        "export_format", "choice", "deployment", "Export format",
        "json or yaml (the whole config); a serving stack's own config: deepstream "
        "(nvinfer class-attrs groups), deepstream-yaml, nvinferserver (Triton, protobuf "
        "text), roboflow (Workflows per-class filter); or one score threshold for the "
        "engine (the lowest) with the per-class thresholds for the filter after the "
        "model: tensorrt, onnx, detectron2, mmdetection, ultralytics",
        none="by the file's extension",
        choices=(
            Choice("json", "JSON"),
            Choice("yaml", "YAML"),
            Choice("deepstream", "DeepStream nvinfer", "[class-attrs-<id>] pre-cluster-threshold", **_SERVING),
            Choice("deepstream-yaml", "DeepStream nvinfer (YAML)", "class-attrs-<id>: mappings", **_SERVING),
            Choice("nvinferserver", "DeepStream nvinferserver", "per_class_params pre_threshold", **_SERVING),
            Choice("roboflow", "Roboflow Workflows", "per-class confidence filter step", **_SERVING),
            Choice("tensorrt", "TensorRT EfficientNMS_TRT", "score_threshold, then post-filter", **_SERVING),
            Choice("onnx", "ONNX NonMaxSuppression", "score_threshold, then post-filter", **_SERVING),
            Choice("detectron2", "Detectron2", "SCORE_THRESH_TEST, then post-filter", **_SERVING),
            Choice("mmdetection", "MMDetection", "test_cfg score_thr, then post-filter", **_SERVING),
            Choice("ultralytics", "Ultralytics", "conf, then post-filter"),
        ),
        when=({"export_path": ON},),
    ),
    Option(
        "export_labels", "str", "deployment", "Class ids from a labels file",
        "for the formats that name classes by id (deepstream, deepstream-yaml, "
        "nvinferserver): a text file with one class per line in the model's order "
        "(line 1 is id 0), as DeepStream's labelfile-path; the other formats ignore it",
        none="the dataset's class list", metavar="PATH", when=({"export_path": ON},),
    ),
    # -- after deployment
    Option(
        "estimate_on", "str", "after", "Estimate on new images",
        "a saved view, or else a tag, of new images without labels: estimate "
        "precision, recall and F1 at the chosen threshold there, and check for a shift",
        none="no estimate", tasks=_DETECTION, metavar="TAG_OR_VIEW",
    ),
    Option(
        "plan_labels", "int", "after", "Images to label",
        "choose this many images of the new ones to label to verify the threshold "
        "(the fewest for the narrowest interval), and tag them",
        none="no label plan", low=2, high=100_000, tasks=_DETECTION, metavar="N",
        when=({"estimate_on": ON},),
    ),
    Option(
        "label_tag", "str", "after", "Tag of the images to label",
        "the tag the images chosen to label get (a tag of yours is never moved)",
        default="label_next", tasks=_DETECTION, metavar="TAG", when=({"plan_labels": ON},),
    ),
)
OPTIONS = with_when_defaults(OPTIONS)


#: the options of the review band: not keywords of compute_optimal_confidence
#: but of ``OptimalConfidenceResult.review_band``, asked for with the run by
#: the command line and the operator
BAND_OPTIONS = ("review_precision", "max_lost", "review_cost")

#: what the command line and the operator do with a result besides storing
#: it: compare models (``compare_models``), evaluate and export it
#: (``OptimalConfidenceResult.evaluate`` and ``.export``)
ACTION_OPTIONS = (
    "compare_with", "evaluate_key", "export_path", "export_format", "export_labels",
    "calibrated_field",
    "estimate_on", "plan_labels", "label_tag",
)

#: the options that are not keywords of compute_optimal_confidence
NOT_API_OPTIONS = BAND_OPTIONS + ACTION_OPTIONS
