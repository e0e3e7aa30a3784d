"""Shared fixtures. Tests use their own database and never a user's."""

import os

# Before fiftyone is imported anywhere
os.environ["FIFTYONE_DATABASE_NAME"] = os.environ.get(
    "OPTIMAL_CONFIDENCE_TEST_DATABASE", "optimal_confidence_tests"
)
os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"

import pytest  # noqa: E402

import fiftyone as fo  # noqa: E402

from helpers import make_random_dataset, make_video_dataset  # noqa: E402


def pytest_sessionstart(session):
    # A database left over from an interrupted run holds only test datasets
    for name in fo.list_datasets():
        fo.delete_dataset(name)


@pytest.fixture(scope="session")
def random_dataset():
    """Images with crowds, ties, missing confidences, empty images."""
    ds = make_random_dataset("oc-random", num_samples=60, seed=0)
    yield ds
    ds.delete()


@pytest.fixture(scope="session")
def video_dataset():
    ds = make_video_dataset("oc-video", num_samples=6, seed=1)
    yield ds
    ds.delete()
