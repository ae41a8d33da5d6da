"""Real MLflow tracking servers (and a real PostgreSQL) on 127.0.0.1 for the tests.

Each is started in its own process group and stopped by its PID (SIGTERM to the
group, SIGKILL after 10 s): ``mlflow server`` spawns many processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mlops_testkit.ci.local import LocalMlflow, free_port


class MlflowServer(LocalMlflow):
    """``mlflow server`` with a given backend store (sqlite by default, or PostgreSQL),
    artifacts under ``workdir/artifacts`` as plain paths: the kit's own ``ci-local``
    server (start, readiness, stop) with the store the test chooses."""

    def __init__(self, workdir: Path, backend_uri: str | None = None) -> None:
        super().__init__(workdir)
        self.workdir = self.folder
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend_uri = backend_uri or f"sqlite:///{self.workdir / 'mlflow.db'}"

    def stores(self) -> list[str]:
        return [
            "--backend-store-uri",
            self.backend_uri,
            "--default-artifact-root",
            str(self.workdir / "artifacts"),
        ]

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
