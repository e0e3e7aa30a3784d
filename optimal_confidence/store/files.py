"""Files the package writes (deployment configs, figures): atomic, never
clobbered unasked, and confined when the App asks.

A file is a write of the write plan (:mod:`.plan`, :mod:`.transaction`):
its content is written to a temporary file in the target's folder, then
linked into place (which fails if a file appeared there meanwhile), or,
with ``overwrite``, swapped in with ``os.replace`` while the old file is
kept aside until the plan is complete. A failure removes the temporary
file and the folders the plan created.

A folder (:func:`write_folder`, the plugin that ``--install-plugin``
writes) is filled under a hidden temporary name beside its target, then
renamed into place; with ``overwrite`` the old folder is renamed aside
first and removed only once the new one is in place.

From the App (the operator's ``export_path``, the panel's Export button)
a path is confined (:func:`confined_path`): relative to the dataset's
folder under the export folder (:func:`export_root`: the environment
variable ``OPTIMAL_CONFIDENCE_EXPORT_DIR``, else
``<fo.config.default_dataset_dir>/optimal_confidence``), the dataset's name
made a safe folder name, no absolute path, no ``..``, no symlink out.
From Python and the command line the user's own path is honoured.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import re
import tempfile
from typing import Any, Callable

from ..spec.options import OptionError
from .plan import Write, inside
from .names import free_name, token
from .transaction import apply

__all__ = [
    "EXPORT_DIR_ENV",
    "FileStep",
    "confined_path",
    "dataset_folder",
    "export_root",
    "file_write",
    "free_file_name",
    "text_writer",
    "write_file",
    "write_folder",
]

#: the environment variable that sets the App's export folder
EXPORT_DIR_ENV = "OPTIMAL_CONFIDENCE_EXPORT_DIR"


def export_root() -> str:
    """The folder the App writes files under: ``$OPTIMAL_CONFIDENCE_EXPORT_DIR``,
    else ``<fo.config.default_dataset_dir>/optimal_confidence``."""
    root = os.environ.get(EXPORT_DIR_ENV)
    if not root:
        import fiftyone as fo

        root = os.path.join(fo.config.default_dataset_dir, "optimal_confidence")
    return os.path.abspath(os.path.expanduser(root))


def safe_segment(name: str) -> str:
    """``name`` as one safe folder name: a name of letters, digits, ``.``,
    ``-`` and ``_`` only (and not starting with a dot) is kept; any other
    gets those characters and ``+`` with a short hash of itself, so that
    two names never share a folder (a kept name has no ``+``)."""
    if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", name):
        return name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip(".")[:80] or "dataset"
    return f"{safe}+{hashlib.sha1(name.encode()).hexdigest()[:10]}"


def dataset_folder(dataset_name: str) -> str:
    """The folder under :func:`export_root` of a dataset's files."""
    return os.path.join(export_root(), safe_segment(dataset_name))


def _path_text(path: Any, option: str, what: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise OptionError(option, f"{option} must be {what}; got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip() or "\0" in text:
        raise OptionError(option, f"{option} must be {what}; got {path!r}")
    if text.endswith(("/", "\\", os.sep)):
        raise OptionError(option, f"{option} must name a file, not a folder; got {text!r}")
    return text


def confined_path(dataset_name: str, path: Any, option: str = "export_path") -> str:
    """``path`` resolved inside the dataset's export folder.

    Raises:
        OptionError: for an absolute path, a ``..`` part, or a path whose
            symlinks (the dataset's folder's included) lead out of the
            export folder
    """
    folder = dataset_folder(dataset_name)
    where = f"a file name relative to the export folder {folder} (set with ${EXPORT_DIR_ENV})"
    text = _path_text(path, option, where)
    parts = re.split(r"[\\/]+", text)
    if os.path.isabs(text) or text.startswith("~") or ".." in parts:
        raise OptionError(option, f"{option} must be {where}, without '..'; got {text!r}")
    full = os.path.normpath(os.path.join(folder, text))
    if not inside(full, folder) or not inside(full, export_root()):
        raise OptionError(option, f"{option} must stay inside {folder}; {text!r} leads to {os.path.realpath(full)}")
    return full


def file_write(path: Any, *, overwrite: bool = False, option: str = "path", root: str | None = None) -> Write:
    """The write of a file at ``path`` (made absolute), for the write
    plan; with ``root``, the file must stay inside that folder."""
    text = _path_text(path, option, "a file path")
    return Write("file", os.path.abspath(text), option, overwrite=overwrite, root=root)


#: the errors of a file system without hard links
_NO_LINKS = {errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
        shutil.copy2(src, dst)


def text_writer(text: str) -> Callable[[str], None]:
    """What writes ``text`` to the temporary path a :class:`FileStep` gives."""

    def put(path: str) -> None:
        with open(path, "w") as f:
            f.write(text)

    return put


def free_file_name(folder: str, base: str, extension: str) -> str:
    """``base + extension``, or ``base_2 + extension``, ... the first name
    no file of ``folder`` has (whatever its extension)."""
    taken = {os.path.splitext(f)[0] for f in os.listdir(folder)} if os.path.isdir(folder) else set()
    return free_name(taken, base) + extension


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class FileStep:
    """Writes a file (a step of a write plan); ``render(tmp_path)`` writes
    its content to the temporary path given (which keeps the target's
    extension, for writers that read it)."""

    def __init__(self, write: Write, render: Callable[[str], None]) -> None:
        self.write, self.render = write, render
        self.tmp: str | None = None
        self.backup: str | None = None
        self.created: list[str] = []
        self.linked = False

    def stage(self, samples: Any = None) -> None:
        try:
            self._stage()
        except OSError as e:  # a folder the checks could not foresee (/proc, a full disk)
            raise OptionError(
                self.write.option,
                f"{self.write.option} {self.write.name}: cannot write it ({e.strerror or e})",
            ) from None

    def _stage(self) -> None:
        path = self.write.name
        folder = os.path.dirname(path)
        missing = []
        while folder and not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for d in reversed(missing):
            try:
                os.mkdir(d)
                self.created.append(d)
            except FileExistsError:  # another writer made it meanwhile: not ours to remove
                pass
        if self.write.root is not None and not inside(path, self.write.root):
            # a symlink planted since the plan was checked
            raise OptionError(self.write.option, f"{self.write.option} must stay inside {self.write.root}")
        name = os.path.basename(path)
        fd, self.tmp = tempfile.mkstemp(
            prefix=f".{name}.", suffix=os.path.splitext(name)[1], dir=os.path.dirname(path)
        )
        os.close(fd)
        self.render(self.tmp)
        os.chmod(self.tmp, 0o666 & ~_umask())

    def commit(self, samples: Any = None) -> None:
        path = self.write.name
        if os.path.lexists(path) and self.write.overwrite:
            self.backup = f"{path}.oc-replaced-{token()}"
            _link_or_copy(path, self.backup)  # the old file stays until the plan is complete
            os.replace(self.tmp, path)
            self.linked = True
            return
        try:
            os.link(self.tmp, path)  # fails if a file appeared meanwhile
        except FileExistsError:
            raise OptionError(
                self.write.option,
                f"{path} appeared while it was being written; nothing was replaced",
            ) from None
        except OSError as e:
            if e.errno not in _NO_LINKS:
                raise
            if os.path.lexists(path):  # a file system without hard links
                raise OptionError(self.write.option, f"{path} appeared while it was being written") from None
            os.replace(self.tmp, path)
        self.linked = True
        if os.path.lexists(self.tmp):
            os.unlink(self.tmp)

    def undo(self, samples: Any = None) -> None:
        if not self.linked:
            return
        if self.backup is not None:
            os.replace(self.backup, self.write.name)
            self.backup = None
        else:
            os.unlink(self.write.name)
        self.linked = False

    def discard(self, samples: Any = None) -> None:
        if self.tmp is not None and os.path.lexists(self.tmp):
            os.unlink(self.tmp)
        for d in reversed(self.created):
            try:
                os.rmdir(d)
            except OSError:  # not empty: something else was written there
                break

    def cleanup(self, samples: Any = None) -> None:
        if self.backup is not None and os.path.lexists(self.backup):
            os.unlink(self.backup)


def write_file(write: Write, render: Callable[[str], None], samples: Any = None) -> str:
    """Writes one file through the write plan (no dataset involved unless
    ``samples`` is given: then its names are claimed too).

    Returns:
        the absolute path written
    """
    step = FileStep(write, render)
    if samples is not None:
        apply(samples, [step])
    else:
        _apply_alone(step)
    return write.name


def _apply_alone(step: FileStep) -> None:
    """A file alone, without a dataset: checked, staged, committed."""
    from .plan import check_writes

    check_writes(None, [step.write])
    try:
        step.stage()
        step.commit()
    except BaseException:
        step.undo()
        step.discard()
        raise
    step.cleanup()


def _check_folder(path: str, root: str, overwrite: bool, option: str) -> None:
    if not inside(path, root):
        raise OptionError(option, f"{path} must stay inside {root}; it leads to {os.path.realpath(path)}")
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OptionError(option, f"{path} exists and is not a folder; move it away")
    if os.path.lexists(path) and not overwrite:
        raise OptionError(option, f"{path} already exists and is never replaced unasked; pass overwrite=True to replace it")
    existing = os.path.dirname(path)
    while existing and not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    if existing and not os.access(existing, os.W_OK | os.X_OK):
        raise OptionError(option, f"Cannot write {path}: the folder {existing} is not writable")


def _swap_in(tmp: str, path: str, option: str) -> None:
    """Renames the filled folder ``tmp`` to ``path``; an old folder there
    is renamed aside first, put back if the swap fails, else removed."""
    old = None
    if os.path.lexists(path):
        old = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.oc-replaced-{token()}")
        os.rename(path, old)
    try:
        os.rename(tmp, path)  # fails on a non-empty folder that appeared meanwhile
    except OSError as e:
        if old is not None:
            os.rename(old, path)
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise OptionError(option, f"{path} appeared while it was being written; nothing was replaced") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_folder(
    path: str, fill: Callable[[str], None], *, root: str, overwrite: bool = False, option: str = "path"
) -> str:
    """Writes a folder at ``path``, which must stay inside ``root`` (its
    symlinks resolved): ``fill(tmp)`` writes the content into a hidden
    temporary folder beside it, which is then renamed into place. An
    existing ``path`` is replaced only with ``overwrite``; a failure leaves
    no temporary folder, nor the folders this call created.

    Returns:
        the absolute path written

    Raises:
        OptionError: for a path outside ``root``, an existing path without
            ``overwrite``, a folder that cannot be written
    """
    path = os.path.abspath(path)
    _check_folder(path, root, overwrite, option)
    missing, made, tmp = [], [], None
    folder = os.path.dirname(path)
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    try:
        for d in reversed(missing):
            try:
                os.mkdir(d)
                made.append(d)
            except FileExistsError:  # another writer made it meanwhile: not ours to remove
                pass
        if not inside(path, root):  # a symlink planted since the check
            raise OptionError(option, f"{path} must stay inside {root}")
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.oc-pending-", dir=os.path.dirname(path))
        os.chmod(tmp, 0o777 & ~_umask())
        fill(tmp)
        _swap_in(tmp, path, option)
    except BaseException:
        if tmp is not None and os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:  # something else was written there meanwhile
                break
        raise
    return path
