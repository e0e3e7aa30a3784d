"""The library installed as users install it (``pip install`` of the
repository), and the tests' own database."""

import os
import subprocess
import sys
import sysconfig

import pytest

import fiftyone as fo

from conftest import ROOT


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A new virtual environment with the package pip-installed from the
    repository. Its requirements (FiftyOne, numpy, ...) come from the
    tests' environment through a .pth file, so nothing large is installed
    again; the package itself is built and installed by pip."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    with open(os.path.join(site, "tests-deps.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--quiet", ROOT],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return venv, site


def test_pip_installs_the_library_and_its_command(fresh_venv, tmp_path):
    venv, site = fresh_venv
    elsewhere = str(tmp_path)  # not the repository: nothing on the path
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import optimal_confidence as oc, importlib.metadata as m; "
         "print(oc.__file__); print(m.version('optimal-confidence')); "
         "print(sorted(m.requires('optimal-confidence')))"],
        cwd=elsewhere, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    path, version, requires = proc.stdout.splitlines()
    assert path.startswith(site)
    assert version == __import__("optimal_confidence").__version__
    assert "fiftyone>=1.22.1" in requires and "scikit-learn>=1.3" in requires
    # the package and its subpackages, not the tests nor the plugin's root
    installed = set(os.listdir(site))
    assert "optimal_confidence" in installed and "tests" not in installed
    assert {"app", "plots"} <= set(os.listdir(os.path.join(site, "optimal_confidence")))
    assert not os.path.exists(os.path.join(site, "__init__.py"))

    proc = subprocess.run(
        [str(venv / "bin" / "optimal-confidence"), "--help"],
        cwd=elsewhere, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: optimal-confidence")
    assert "--objective" in proc.stdout and "review band:" in proc.stdout


def test_the_tests_run_on_a_database_of_their_own():
    uri = os.environ["FIFTYONE_DATABASE_URI"]
    assert fo.config.database_uri == uri
    assert uri.startswith("mongodb://127.0.0.1:") and not uri.endswith(":27017")
    assert fo.config.database_name.startswith("optimal_confidence")
    # FiftyOne started no database service of its own
    import fiftyone.core.odm.database as fod

    assert fod._db_service is None


def test_the_command_line_says_what_to_do_when_the_database_is_unreachable(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        FIFTYONE_DATABASE_URI="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "optimal_confidence", "--demo"],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: FiftyOne could not start or reach its database")
    assert "FIFTYONE_DATABASE_URI" in line and "make install" in line
