"""Tests for :mod:`optimal_confidence.demo`."""

import os
import uuid

import fiftyone as fo
import pytest
from PIL import Image

from optimal_confidence.demo import make_demo_dataset


def _labels(dataset: fo.Dataset) -> list:
    return [
        dataset.values("ground_truth.detections.label"),
        dataset.values("ground_truth.detections.bounding_box"),
        dataset.values("predictions.detections.label"),
        dataset.values("predictions.detections.bounding_box"),
        dataset.values("predictions.detections.confidence"),
    ]


def test_make_demo_dataset(tmp_path):
    prefix = f"oc-test-demo-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(3)]
    images_dir = str(tmp_path / "images")
    try:
        ds = make_demo_dataset(names[0], num_samples=30, seed=3, images_dir=images_dir)
        assert len(ds) == 30
        assert ds.info["demo"] == {"seed": 3, "num_samples": 30, "version": 3}
        assert ds.count_sample_tags() == {"train": 23, "val": 7}
        assert ds.match_tags("val").values("filepath")[0].endswith("-00003.png")
        schema = ds.get_field_schema()
        for field in ("ground_truth", "predictions", "baseline"):
            assert schema[field].document_type is fo.Detections
        # the baseline is a second model, not a copy of the first
        assert ds.values("baseline") != ds.values("predictions")

        confs = ds.values("predictions.detections.confidence", unwind=True)
        assert confs and all(0.01 <= c <= 0.99 for c in confs)
        assert ds.count("ground_truth.detections") > 0
        for field in ("ground_truth", "predictions"):
            for boxes in ds.values(f"{field}.detections.bounding_box"):
                for x, y, w, h in boxes or []:
                    assert 0 <= x and 0 <= y and w > 0 and h > 0
                    assert x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9

        for filepath in ds.values("filepath"):
            assert os.path.isfile(filepath)
            with Image.open(filepath) as img:
                assert img.size == (160, 120)

        same = make_demo_dataset(
            names[1], num_samples=30, seed=3, images_dir=images_dir
        )
        assert _labels(same) == _labels(ds)
        other = make_demo_dataset(
            names[2], num_samples=30, seed=4, images_dir=images_dir
        )
        assert _labels(other) != _labels(ds)

        with pytest.raises(ValueError, match=names[0]):
            make_demo_dataset(names[0], num_samples=30, images_dir=images_dir)
        again = make_demo_dataset(
            names[0], num_samples=5, images_dir=images_dir, overwrite=True
        )
        assert len(again) == 5
    finally:
        for name in names:
            if fo.dataset_exists(name):
                fo.delete_dataset(name)
