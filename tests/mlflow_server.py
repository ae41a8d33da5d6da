"""Real MLflow tracking servers (and a real PostgreSQL) on 127.0.0.1 for the tests.

Each is started in its own process group and stopped by its PID (SIGTERM to the
group, SIGKILL after 10 s): ``mlflow server`` spawns many processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class MlflowServer:
    """``mlflow server`` with a given backend store, on a free loopback port."""

    def __init__(self, workdir: Path, backend_uri: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend_uri = backend_uri or f"sqlite:///{self.workdir / 'mlflow.db'}"
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = self.workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> MlflowServer:
        mlflow_cmd = Path(sys.executable).with_name("mlflow")
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(mlflow_cmd),
                    "server",
                    "--backend-store-uri",
                    self.backend_uri,
                    "--default-artifact-root",
                    str(self.workdir / "artifacts"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"mlflow server not ready in {timeout} s:\n{self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's postgresql package).

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres``
    user and its commands run through ``runuser``.
    """

    def __init__(self, workdir: Path) -> None:
        # As root the cluster belongs to ``postgres``, which must reach its folder: one of
        # its own under /tmp, not under pytest's basetemp (every pytest session that starts
        # meanwhile, e.g. on the other xdist worker, resets /tmp/pytest-of-<user> to 0700).
        self.own = os.geteuid() == 0
        self.workdir = Path(tempfile.mkdtemp(prefix="mltk-pg-")) if self.own else Path(workdir)
        self.data = self.workdir / "pgdata"
        self.port = free_port()
        self.uri = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/mlflow"

    @staticmethod
    def bindir() -> Path | None:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
        found = shutil.which("initdb")
        return Path(found).parent if found else None

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *cmd], capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} exited {done.returncode}: "
                f"{(done.stdout + done.stderr).decode(errors='replace')[-2000:]}"
            )

    def start(self) -> Postgres:
        bindir = self.bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (make install-postgres)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.own:
            shutil.chown(self.workdir, "postgres")
            os.chmod(self.workdir, 0o755)
        self._run(str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self._run(
            str(bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "postgres.log"),
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.workdir}",
            "-w",
            "start",
        )
        self._run(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "mlflow",
        )
        return self

    def stop(self) -> None:
        bindir = self.bindir()
        try:
            if bindir is not None and (self.data / "postmaster.pid").exists():
                self._run(str(bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            if self.own:
                shutil.rmtree(self.workdir, ignore_errors=True)
