"""What a result does beyond its curves and its choice: FiftyOne views and
evaluations of it, its warnings, the operating point for deployment,
calibration, and its reports. A mixin of
:class:`~optimal_confidence.result.OptimalConfidenceResult`, whose
attributes the methods read; the work is in the modules each method names.
Nothing here imports FiftyOne at import time.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..outputs import reports

if TYPE_CHECKING:  # pragma: no cover
    import fiftyone.core.collections as foc

    from ..certainty.calibration import Calibration, Calibrator
    from ..certainty.heldout import HeldOutCheck
    from ..certainty.labeling import LabelPlan, Verification
    from ..certainty.unlabeled import Estimate

__all__ = ["ResultActions"]


class ResultActions:
    """The methods of a result that act on it (see the module)."""

    # -- FiftyOne ---------------------------------------------------------------

    def view(
        self, samples: "foc.SampleCollection", threshold: float | None = None
    ) -> "foc.SampleCollection":
        """The view of ``samples`` with the predictions kept at a threshold
        (default: the ones the result deploys); see
        :func:`optimal_confidence.records.views.kept_view`."""
        from ..records.views import kept_view

        return kept_view(self, samples, threshold)

    def check_on(self, samples: "foc.SampleCollection") -> "HeldOutCheck":
        """Checks the chosen threshold on other images (for example a
        held-out split, ``dataset.match_tags("val")``): sweeps ``samples``
        with the same fields, matching and objective and reports the
        objective at :attr:`best_threshold` there next to its value here;
        see :func:`optimal_confidence.result.checks.check_on`."""
        from .checks import check_on

        return check_on(self, samples)

    def evaluate(
        self, samples: "foc.SampleCollection", eval_key: str, *,
        threshold: float | None = None, overwrite: bool = False,
    ) -> Any:
        """Runs FiftyOne's ``evaluate_detections`` at the operating point
        (or at ``threshold``) and stores it as an ordinary evaluation under
        ``eval_key``; see :func:`optimal_confidence.store.evaluation.evaluate_at`."""
        from ..store.evaluation import evaluate_at

        return evaluate_at(self, samples, eval_key, threshold=threshold, overwrite=overwrite)

    # -- after deployment: new images without labels -----------------------------

    def estimate(self, samples: "foc.SampleCollection", **kwargs: Any) -> "Estimate":
        """Precision, recall and F1 of this threshold on new images without
        labels, with intervals and a shift check; see
        :func:`optimal_confidence.result.production.estimate`."""
        from .production import estimate

        return estimate(self, samples, **kwargs)

    def plan_labels(self, samples: "foc.SampleCollection", budget: int, **kwargs: Any) -> "LabelPlan":
        """Which ``budget`` new images to label to verify this threshold;
        see :func:`optimal_confidence.result.production.plan_labels`."""
        from .production import plan_labels

        return plan_labels(self, samples, budget, **kwargs)

    def verify(self, samples: "foc.SampleCollection", **kwargs: Any) -> "Verification":
        """This threshold on new images, from a few of them labeled; see
        :func:`optimal_confidence.result.production.verify`."""
        from .production import verify

        return verify(self, samples, **kwargs)

    # -- deployment -------------------------------------------------------------

    @cached_property
    def warnings(self) -> list[str]:
        """What to beware of, in sentences (a threshold at the confidence
        floor the predictions were saved with, ...); see
        :func:`optimal_confidence.outputs.reports.warnings_of`."""
        return reports.warnings_of(self)

    def deployment_config(self) -> dict[str, Any]:
        """The operating point as a plain dict; see
        :func:`optimal_confidence.outputs.deployment.deployment_config`."""
        from ..outputs.deployment import deployment_config

        return deployment_config(self)

    def export(
        self, path: str, format: str | None = None, *, labels: Any = None,
        overwrite: bool = False, root: str | None = None,
    ) -> str:
        """Writes :meth:`deployment_config` as JSON, YAML, or the config a
        serving stack reads (``format``: ``"deepstream"``,
        ``"nvinferserver"``, ``"roboflow"``, ``"tensorrt"``, ``"onnx"``,
        ``"detectron2"``, ``"mmdetection"``, ``"ultralytics"``, ...),
        atomically; an existing file is replaced only with
        ``overwrite=True``; with ``root``, the file must stay inside that
        folder. The formats that name classes by id (DeepStream,
        nvinferserver) number them by ``labels`` (a labels file, one class
        per line, line index = id; or a list of names, or a dict of name to
        id), else by the dataset's class list. See
        :func:`optimal_confidence.outputs.deployment.export`."""
        from ..outputs import serving
        from ..outputs.deployment import export, export_format

        classes = None  # a path of the wrong kind: export says so
        named = isinstance(path, (str, os.PathLike))
        if labels is None and named and export_format(path, format) in serving.ID_FORMATS:
            classes = self._dataset_classes()
        return export(self, path, format, labels=labels, classes=classes, overwrite=overwrite, root=root)

    def _dataset_classes(self) -> list[str] | None:
        """The class list of the dataset this result was swept on (FiftyOne's
        ``classes`` of its fields, else ``default_classes``), if it exists."""
        import fiftyone as fo

        from ..outputs.serving import classes_of

        name = getattr(self.config, "dataset", None)
        if not name or not fo.dataset_exists(name):
            return None
        return classes_of(fo.load_dataset(name), self.config.pred_field, self.config.gt_field)

    # -- calibration ------------------------------------------------------------

    def calibration(self, num_bins: int = 10) -> "Calibration":
        """How far the confidences are from the chance of being right: a
        reliability diagram and its expected calibration error over all the
        predictions (D-ECE), by the sweep's own matching (a prediction is
        right when it is a true positive); and the localization-aware ECE of
        the predictions kept at the operating threshold (``laece``: each
        class at :attr:`class_thresholds` with per-class thresholds). See
        :func:`optimal_confidence.certainty.calibration.calibration` and
        :mod:`optimal_confidence.certainty.laece`.

        Example::

            cal = result.calibration()
            cal.ece, cal.per_class     # 0.045, {"car": 0.05, ...}
            cal.laece.value            # 0.08: LaECE at the best threshold
            print(cal.summary())

        ``cal.laece`` is None for a result stored before the IoUs of the
        matches were kept (sweep again).

        Raises:
            ValueError: for confidences outside [0, 1], or no confidences
        """
        from ..certainty.calibration import calibration

        c = self.config
        return calibration(
            self.records, num_bins=num_bins, threshold=self.best_threshold,
            class_thresholds=self.class_thresholds if self.objective.per_class else None,
            iou=c.iou if c.task == "detection" else None,
        )

    def fit_calibrator(
        self, method: str = "isotonic", *, per_class: bool = True, min_per_class: int = 50
    ) -> "Calibrator":
        """A monotone map from confidence to the chance of being right,
        fitted on this result's predictions (isotonic regression, or
        ``method="sigmoid"`` for Platt scaling); apply it to new confidences
        with ``calibrator.predict`` or write them to a new field with
        ``calibrator.apply(samples, pred_field, out_field)``. Fit on one
        split and measure on another; see
        :func:`optimal_confidence.certainty.calibration.fit_calibrator`."""
        from ..certainty.calibration import fit_calibrator

        positive = self.config.positive_label if self.config.task == "binary" else None
        return fit_calibrator(
            self.records, method=method, per_class=per_class, min_per_class=min_per_class,
            positive_label=positive,
        )

    # -- reports ---------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """The best point as a dict of plain numbers (what the operator
        returns and ``--json`` prints); see :func:`optimal_confidence.outputs.reports.metrics`."""
        return reports.metrics(self)

    def report(self, num_rows: int = 5) -> str:
        """A readable summary: the best point and a table around it (with
        per-class thresholds and intervals when the result has them).

        Args:
            num_rows (5): how many thresholds to show on each side of the
                best one
        """
        return reports.report(self, num_rows)

    def interval_summary(self) -> str | None:
        """The bootstrap intervals in one sentence, or None without them."""
        return reports.interval_summary(self)

    def class_report(self) -> str:
        """The per-class thresholds as a table, and the totals where each
        class is kept at its own threshold."""
        return reports.class_report(self)
