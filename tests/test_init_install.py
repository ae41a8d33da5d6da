"""What the CI that ``mlops-testkit init`` writes installs (issue 24 items 2 and 3).

Never a release that does not exist: until the installed kit's version is on the index,
every job installs the pinned commit of ``--source`` at ``--ref`` from git; once it is,
the release, pinned. The index is asked offline here: a folder of wheels, or a simple
index served on 127.0.0.1 by this test. The lint job installs pre-commit after the jobs'
install, whatever ``--install`` says. The slow tests run the written commands in a
fresh virtualenv: the wheel from a folder (``--find-links``), the commit from a local
git remote (``git+file://``).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mlops_testkit import __version__
from mlops_testkit.ci import init as wiring
from mlops_testkit.ci.init_install import install_command, lint_install, lookup
from mlops_testkit.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
REMOTE = ["--source", "acme/mlops-testkit", "--ref", "0123abc"]
MODEL = ["--model-name", "demo", "--train-command", "python train.py"]
GIT_PIN = "'mlops-testkit[data,mlflow] @ git+https://github.com/acme/mlops-testkit@0123abc'"
JOBS = ("lint", "test", "train", "deploy", "monitor")


@pytest.fixture(autouse=True)
def _no_index_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("MLTK_INDEX_URL", raising=False)


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / "pytest.ini").write_text("[pytest]\nmltk_model_paths = m.py\n")
    monkeypatch.chdir(root)
    return root


def github_installs(root: Path) -> dict[str, str]:
    jobs = yaml.safe_load((root / ".github" / "workflows" / "ml.yml").read_text())["jobs"]
    return {name: jobs[name]["with"]["install-command"] for name in JOBS}


def gitlab_installs(root: Path) -> dict[str, str]:
    pipeline = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    return {
        i["file"].split("/")[-1][: -len(".yml")]: i["inputs"]["install"]
        for i in pipeline["include"]
    }


def wheelhouse(folder: Path, version: str = __version__) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"mlops_testkit-{version}-py3-none-any.whl").write_bytes(b"")
    return folder


# --- the default: the git pin until the release exists --------------------------------------


def test_without_an_index_every_job_installs_the_pinned_commit(repo, capsys) -> None:
    assert cli(["init", "--ci", "github", *MODEL, *REMOTE, "--local", "--index", "none"]) == 0
    assert "installs mlops-testkit from git at 0123abc" in capsys.readouterr().out
    installs = github_installs(repo)
    for name in ("test", "train", "deploy", "monitor"):
        assert installs[name] == (
            "if [ -f requirements.txt ]; then python -m pip install -r requirements.txt; fi; "
            f"python -m pip install {GIT_PIN}"
        )
    assert installs["lint"] == installs["test"] + "; python -m pip install pre-commit"
    assert "'mlops-testkit[data,mlflow]'" not in (repo / ".github/workflows/ml.yml").read_text()


def test_gitlab_installs_the_pinned_commit_from_its_own_instance(repo) -> None:
    args = ["init", "--ci", "gitlab", *MODEL, *REMOTE, "--local", "--index", "none"]
    assert cli(args) == 0
    installs = gitlab_installs(repo)
    spec = '"mlops-testkit[data,mlflow] @ git+${CI_SERVER_URL}/acme/mlops-testkit.git@0123abc"'
    assert installs["test"].endswith(f"; pip install {spec}")
    assert installs["lint"] == installs["test"] + "; pip install pre-commit"
    assert len(set(installs.values())) == 2  # lint, and the same command for the others


def test_a_release_in_the_folder_is_pinned_and_only_that_version(repo, tmp_path, capsys) -> None:
    wheels = wheelhouse(tmp_path / "wheels", "0.0.1")  # another version only: the git pin
    args = ["init", "--ci", "github", *MODEL, *REMOTE, "--local", "--index", str(wheels)]
    assert cli([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"no release {__version__} in {wheels}" in out and GIT_PIN in out
    wheelhouse(wheels)
    assert cli(args) == 0
    assert f"installs the release mlops-testkit=={__version__}" in capsys.readouterr().out
    test = github_installs(repo)["test"]
    assert test.endswith(
        f"python -m pip install --find-links {wheels} 'mlops-testkit[data,mlflow]=={__version__}'"
    )


def test_the_index_option_wins_over_the_environment(repo, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLTK_INDEX_URL", str(wheelhouse(tmp_path / "wheels")))
    assert cli(["init", "--ci", "github", *MODEL, *REMOTE, "--local", "--index", "none"]) == 0
    assert github_installs(repo)["test"].endswith(GIT_PIN)
    (repo / ".github" / "workflows" / "ml.yml").unlink()
    assert cli(["init", "--ci", "github", *MODEL, *REMOTE, "--local"]) == 0
    assert github_installs(repo)["test"].endswith(f"=={__version__}'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--index", str(Path("/nonexistent/wheels"))], "--index '/nonexistent/wheels'"),
        (["--index", ""], "--index ''"),
        (["--index", "https://me:s3cret@pypi.example.com/simple"], "--index https://...@..."),
        (["--source", "acme/x; rm -rf ~", "--ref", "0123abc"], "--source 'acme/x; rm -rf ~'"),
        (["--source", "acme/x", "--ref", "$(id)"], "--ref '$(id)'"),
        (["--source", "acme/x", "--ref", "a..b"], "--ref 'a..b'"),
        (["--source", "https://github.com/acme/x", "--ref", "0123abc"], "--source 'https://"),
    ],
)
def test_bad_index_source_or_ref_is_refused_by_name(repo, capsys, args, message) -> None:
    remote = [] if "--source" in args else REMOTE
    assert cli(["init", "--ci", "github", *MODEL, *remote, "--local", *args]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"mlops-testkit init: REFUSED: {message}") and "nothing was written" in err
    )
    assert not (repo / ".github").exists() and not (repo / ".gitignore").exists()
    assert "s3cret" not in err


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.one_of(
        st.text(max_size=30), st.from_regex(r"[\w.-]{1,8}/[\w.-]{1,8}", fullmatch=True)
    ),
    ref=st.one_of(st.text(max_size=20), st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True)),
    index=st.sampled_from(["none", "", " ", "~nope", "file:///nonexistent", "http://[::1"]),
)
def test_hostile_source_ref_and_index_refuse_or_pin(repo, capsys, source, ref, index) -> None:
    """Any --source/--ref/--index: exit 0 with a pinned install, or a one-line refusal;
    never a traceback, never a command that carries shell syntax from the arguments."""
    capsys.readouterr()  # one example's output at a time
    args = ["init", "--ci", "github", *MODEL, f"--source={source}", f"--ref={ref}", "--local"]
    code = cli([*args, f"--index={index}", "--dry-run"])
    out, err = capsys.readouterr()
    event(f"exit {code}")
    assert code in (0, 1), err
    if code == 1:
        assert err.startswith("mlops-testkit init: REFUSED: ") and err.count("\n") == 1
    else:
        assert f"@ git+https://github.com/{source}@{ref}'" in out
        assert not set(source + ref) & set(" ;&|$`'\"\\<>()\n")


# --- item 3: --install never replaces lint's pre-commit ---------------------------------------


def test_a_custom_install_keeps_pre_commit_in_the_lint_job(repo) -> None:
    custom = "python -m pip install -e . 'mlops-testkit[data,mlflow]==0.1.0'"
    assert cli(["init", "--ci", "github", *MODEL, *REMOTE, "--local", "--install", custom]) == 0
    installs = github_installs(repo)
    assert {installs[n] for n in ("test", "train", "deploy", "monitor")} == {custom}
    assert installs["lint"] == custom + "; python -m pip install pre-commit"
    (repo / ".gitlab-ci.yml").write_text("stages: [lint, test, train, deploy, monitor]\n")
    assert cli(["init", "--ci", "gitlab", *MODEL, *REMOTE, "--local", "--install", "true"]) == 0
    assert gitlab_installs(repo) == {
        "lint": "true; pip install pre-commit",
        **{n: "true" for n in ("test", "train", "deploy")},
        "monitor": "true",
    }


def test_every_written_install_is_pinned(tmp_path) -> None:
    """Whatever the source and release, no job installs an unpinned mlops-testkit."""
    for source in ("acme/mlops-testkit", "group/sub.group/mlops_testkit"):
        for release in (None, "1.2.3"):
            opts = wiring.Options(root=tmp_path, source=source, ref="0123abc", release=release)
            for ci in ("github", "gitlab"):
                for command in (install_command(opts, ci), lint_install(opts, ci)):
                    kit = command.split("install ", 2)[-1]
                    pinned = "@0123abc" in kit if release is None else "==1.2.3'" in kit
                    assert pinned and "mlops-testkit[data,mlflow]" in kit, command


def test_the_readme_custom_install_example_keeps_lint_working() -> None:
    readme = (ROOT / "github_actions" / "README.md").read_text()
    assert "python -m pip install -e . 'mlops-testkit[data,mlflow]'`" not in readme  # unpinned
    assert "The lint job adds its\nown tool, `python -m pip install pre-commit`" in readme


# --- asking a simple index (served here, on 127.0.0.1) ----------------------------------------


class _Index(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[str, str]]] = {}

    def do_GET(self) -> None:
        kind, body = self.pages.get(self.path, ("text/plain", ""))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def index():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _html(*files: tuple[str, bool]) -> tuple[str, str]:
    links = "".join(
        f'<a href="../../f/{n}#sha256=00"{" data-yanked=" if y else ""}>{n}</a>\n'
        for n, y in files
    )
    return "text/html", f"<!DOCTYPE html><html><body>{links}</body></html>"


def _json(*files: tuple[str, bool]) -> tuple[str, str]:
    entries = [{"filename": n, "url": f"../f/{n}", "hashes": {}, "yanked": y} for n, y in files]
    return "application/vnd.pypi.simple.v1+json", json.dumps({"files": entries})


@pytest.mark.parametrize("page", [_html, _json])
def test_lookup_reads_a_simple_index(index, page) -> None:
    wheel = f"mlops_testkit-{__version__}-py3-none-any.whl"
    _Index.pages = {
        "/found/mlops-testkit/": page((f"mlops_testkit-{__version__}.tar.gz", False)),
        "/wheel/mlops-testkit/": page(
            ("mlops_testkit-0.0.1-py3-none-any.whl", False), (wheel, False)
        ),
        "/yanked/mlops-testkit/": page((wheel, True)),
        "/other/mlops-testkit/": page(("mlops_testkit-0.0.1-py3-none-any.whl", False)),
        "/prefix/mlops-testkit/": page((f"mlops_testkit-{__version__}1-py3-none-any.whl", False)),
    }
    assert lookup(f"{index}/found", __version__) == (
        True,
        f"release {__version__} on {index}/found",
    )
    assert lookup(f"{index}/wheel/", __version__)[0]
    assert lookup(f"{index}/yanked", __version__) == (
        False,
        f"release {__version__} yanked on {index}/yanked",
    )
    assert lookup(f"{index}/other", __version__) == (
        False,
        f"no release {__version__} on {index}/other",
    )
    assert not lookup(f"{index}/prefix", __version__)[0]  # 0.1.01 is not 0.1.0
    assert lookup(f"{index}/missing", __version__) == (
        False,
        f"no release {__version__} on {index}/missing",
    )


def test_an_unreachable_index_writes_the_git_pin(repo, capsys) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/simple"
    assert cli(["init", "--ci", "github", *MODEL, *REMOTE, "--local", "--index", url]) == 0
    assert f"({url} unreachable:" in capsys.readouterr().out
    assert github_installs(repo)["test"].endswith(GIT_PIN)


def test_a_release_on_another_index_installs_from_it(repo, index, capsys) -> None:
    _Index.pages = {
        "/simple/mlops-testkit/": _html((f"mlops_testkit-{__version__}-py3-none-any.whl", False))
    }
    args = ["init", "--ci", "gitlab", *MODEL, *REMOTE, "--local", "--index", f"{index}/simple"]
    assert cli(args) == 0
    assert f"release {__version__} on {index}/simple" in capsys.readouterr().out
    assert gitlab_installs(repo)["test"].endswith(
        f"pip install --index-url {index}/simple 'mlops-testkit[data,mlflow]=={__version__}'"
    )


# --- the written commands, run in a fresh virtualenv ------------------------------------------


def _clean_env(venv: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
        and not k.startswith(("PYTEST_", "MLTK_", "PIP_"))
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONNOUSERSITE="1")
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def _sh(cmd: list[str] | str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd if isinstance(cmd, list) else ["bash", "-ec", cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def kit_remote(tmp_path_factory) -> tuple[Path, str]:
    """This checkout's files (what a fresh clone has) committed to a local git remote."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    remote = tmp_path_factory.mktemp("kit") / "mlops-testkit"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (remote / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, remote / name)
    env = _clean_env(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t")
    env.update(GIT_COMMITTER_EMAIL="t@e")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "kit"]):
        assert _sh(["git", *args], remote, env).returncode == 0
    sha = _sh(["git", "rev-parse", "HEAD"], remote, env).stdout.strip()
    return remote, sha


def _fresh_venv(home: Path) -> Path:
    venv = home / "venv"
    made = _sh(
        [sys.executable, "-m", "virtualenv", "-q", "--setuptools", "bundle", str(venv)],
        home,
        _clean_env(),
    )
    assert made.returncode == 0, made.stderr
    return venv


def _installed_version(venv: Path, cwd: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('mlops-testkit'))"
    return _sh([str(venv / "bin" / "python"), "-c", code], cwd, _clean_env(venv)).stdout.strip()


def _run_install(command: str, venv: Path, cwd: Path, **env: str) -> None:
    """The job's install as the CI shell runs it, in the fresh venv; offline: the kit's
    dependencies are not fetched (PIP_NO_DEPS), only the kit itself must resolve."""
    ran = _sh(command, cwd, _clean_env(venv, PIP_NO_INDEX="1", PIP_NO_DEPS="1", **env))
    assert ran.returncode == 0, f"{command}\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"


@pytest.mark.slow
def test_the_git_pin_installs_from_a_local_git_remote(repo, kit_remote, tmp_path) -> None:
    """The written commands, word for word; git (through pip) is pointed at the local
    remote by its own url.insteadOf, as a mirror would be."""
    remote, sha = kit_remote
    source = ["--source", "acme/mlops-testkit", "--ref", sha, "--index", "none"]
    for ci in ("github", "gitlab"):
        assert cli(["init", "--ci", ci, *MODEL, *source, "--local"]) == 0
    github, gitlab = github_installs(repo)["test"], gitlab_installs(repo)["test"]
    assert github.endswith(f"@ git+https://github.com/acme/mlops-testkit@{sha}'")
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        f'[url "file://{remote}"]\n'
        "\tinsteadOf = https://github.com/acme/mlops-testkit\n"
        "\tinsteadOf = https://gitlab.example.com/acme/mlops-testkit.git\n"
        "[protocol]\n\tallow = always\n"
    )
    venv = _fresh_venv(tmp_path)
    # the isolated build would fetch setuptools: the venv's own builds it offline
    offline_build = {"PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_CACHE_DIR": "1"}
    offline_build.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1")
    offline_build.update(CI_SERVER_URL="https://gitlab.example.com")  # GitLab sets it
    for command in (github, gitlab):
        _sh([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-qy", "mlops-testkit"],
            repo, _clean_env(venv))  # fmt: skip
        _run_install(command, venv, repo, **offline_build)
        assert _installed_version(venv, tmp_path) == __version__
    # what init used to write: a release that is on no index cannot be installed
    old = "python -m pip install 'mlops-testkit[data,mlflow]'"
    _sh([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-qy", "mlops-testkit"],
        repo, _clean_env(venv))  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = _sh(old, repo, _clean_env(venv, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty)))
    assert failed.returncode != 0 and "No matching distribution" in failed.stderr


@pytest.mark.slow
def test_the_release_pin_installs_from_a_folder_of_wheels(repo, kit_remote, tmp_path) -> None:
    remote, _ = kit_remote
    wheels = tmp_path / "wheels"
    built = _sh(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(remote)],
        tmp_path,
        _clean_env(PIP_NO_INDEX="1", PIP_NO_CACHE_DIR="1"),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    for ci in ("github", "gitlab"):
        args = ["init", "--ci", ci, *MODEL, *REMOTE, "--local", "--index", str(wheels)]
        assert cli(args) == 0
    github, gitlab = github_installs(repo)["test"], gitlab_installs(repo)["test"]
    assert f"'mlops-testkit[data,mlflow]=={__version__}'" in github and "git+" not in github
    venv = _fresh_venv(tmp_path)
    for command in (github, gitlab):
        _sh([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-qy", "mlops-testkit"],
            repo, _clean_env(venv))  # fmt: skip
        _run_install(command, venv, repo)
        assert _installed_version(venv, tmp_path) == __version__
