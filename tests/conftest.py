"""Shared fixtures. Tests use their own MongoDB (tests/database.py) and
never a user's."""

import atexit
import os
import shutil
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The plugin as `fiftyone plugins download` would install it: a copy of the
# folder that holds fiftyone.yml, in a plugins directory of the tests' own
PLUGINS_DIR = tempfile.mkdtemp(prefix="oc-plugins-")
atexit.register(shutil.rmtree, PLUGINS_DIR, ignore_errors=True)
shutil.copytree(
    ROOT,
    os.path.join(PLUGINS_DIR, "optimal_confidence"),
    ignore=shutil.ignore_patterns(
        ".git", ".venv", "tests", "__pycache__", "*.pyc", ".pytest_cache",
        "*.egg-info", "build", "dist", "demo_output",
    ),
)
os.environ["FIFTYONE_PLUGINS_DIR"] = PLUGINS_DIR

# Before fiftyone is imported anywhere: a MongoDB of the tests' own (never
# the user's database service, nor a race with another FiftyOne starting
# one), which every process the tests start inherits
import database  # noqa: E402

os.environ["FIFTYONE_DATABASE_URI"] = database.start()
os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
os.environ["FIFTYONE_DATABASE_NAME"] = os.environ.get(
    "OPTIMAL_CONFIDENCE_TEST_DATABASE", "optimal_confidence_tests"
)
os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"

import pytest  # noqa: E402

import fiftyone as fo  # noqa: E402

from helpers import make_random_dataset, make_video_dataset  # noqa: E402


def pytest_sessionstart(session):
    # Datasets an interrupted run left behind; test datasets are all "oc-*"
    for name in fo.list_datasets("oc-*"):
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


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory):
    """The demo dataset at its default size (200 images, train/val tags,
    two models): enough images for a guarantee to certify something."""
    from optimal_confidence.demo import make_demo_dataset

    ds = make_demo_dataset(
        "oc-demo-200", images_dir=str(tmp_path_factory.mktemp("demo-images")), overwrite=True
    )
    yield ds
    ds.delete()
