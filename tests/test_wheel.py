"""What users install works: the sdist and the wheel, built from the checkout's files.

Both are built once per session (the wheel from the sdist, as `python -m build` does, so
a file the sdist forgets is missing from the wheel too), checked with `twine check` and
`check-wheel-contents`, compared with the files git has under `mlops_testkit/`, and the
wheel is installed into a fresh virtualenv with the checkout off the path: nothing in it
can come from an editable install. There a smoke suite runs: every module imports, the
README's five-minute tour (`examples/tour/test_tour.py`) passes with the report options,
`pytest --markers` lists the kit's markers and `mlops-testkit --version` is the package's.

A wheel once shipped without `mlops_testkit/perturb/` because every test installed the
checkout editable (HOUSE_RULES 15). Slow (about a minute: torch is installed into the
fresh venv from the Makefile's pin, the rest from pip's cache); all tests here share one
xdist group so the build and the venv are made once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mlops_testkit"
TOUR = ROOT / "examples" / "tour" / "test_tour.py"
# The extras the tour needs; mlflow is left out: it is heavy and the tour does not use it.
EXTRAS = "data,torch"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]


def source_version() -> str:
    text = (ROOT / PACKAGE / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, flags=re.M)
    assert match, 'mlops_testkit/__init__.py must set __version__ = "X.Y.Z" (the one place)'
    return match.group(1)


def torch_pin() -> str:
    """The Makefile's pin: torch is installed before the wheel, so that `torch>=2.1` in the
    extra is already met and never resolves to a multi-GB CUDA build."""
    match = re.search(r"^TORCH_PIN \?= (\S+)", (ROOT / "Makefile").read_text(), flags=re.M)
    return match.group(1) if match else "torch==2.13.0"


def source_files() -> list[str]:
    """The files a fresh clone has (tracked ones, and new ones git does not ignore)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of mlops-testkit")
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(f for f in set(out.split("\0")) if f and (ROOT / f).is_file())


def package_files() -> set[str]:
    return {f for f in source_files() if f.startswith(f"{PACKAGE}/")}


def require_tool(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is missing: pip install -e '.[dev]' (or make install)")


# Not a user's shell: the checkout on the path, another venv, pytest or mltk settings.
# PYTHONDONTWRITEBYTECODE (set on these machines) would make every command in the fresh
# venv compile torch's modules again: pip installs with --no-compile, and the first import
# writes the bytecode of what is used.
DROPPED_ENV = {
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "PYTHONDONTWRITEBYTECODE",
}


def clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell in a fresh venv (or none)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in DROPPED_ENV and not k.startswith(("PYTEST_", "MLTK_"))
    }
    env.update(
        PYTHONNOUSERSITE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited {result.returncode} in {cwd}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


def build_isolation_flags() -> list[str]:
    """Build offline with this environment's setuptools when it meets
    `[build-system] requires`; otherwise let build fetch it (from pip's cache)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return []
    return ["--no-isolation"] if major >= 77 else []


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of the checkout's files (the build never
    writes into the checkout, and sees only what a fresh clone would have)."""
    require_tool("build")
    work = tmp_path_factory.mktemp("build")
    src, out = work / "src", work / "dist"
    for name in source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    run(
        [sys.executable, "-m", "build", *build_isolation_flags(), "--outdir", str(out), str(src)],
        cwd=work,
        env=clean_env(),
    )
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}


@pytest.fixture(scope="module")
def venv(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with torch (the pin) and then the wheel with the tour's extras."""
    require_tool("virtualenv")
    home = tmp_path_factory.mktemp("fresh")
    path = home / "venv"
    env = clean_env()
    run([sys.executable, "-m", "virtualenv", "-q", str(path)], cwd=home, env=env)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    run([*pip, torch_pin()], cwd=home, env=env)
    run([*pip, f"{dists['wheel']}[{EXTRAS}]"], cwd=home, env=env)
    return path


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A working directory outside the checkout, with no ini file above it."""
    assert ROOT not in tmp_path.parents
    return tmp_path


def py(venv: Path, code: str, cwd: Path) -> str:
    return run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=clean_env(venv)).stdout


# --- the distributions ---------------------------------------------------------------------


def test_names_carry_the_one_version(dists: dict[str, Path]) -> None:
    version = source_version()
    assert dists["sdist"].name == f"mlops_testkit-{version}.tar.gz"
    assert dists["wheel"].name == f"mlops_testkit-{version}-py3-none-any.whl"
    with zipfile.ZipFile(dists["wheel"]) as whl:
        metadata = whl.read(f"mlops_testkit-{version}.dist-info/METADATA").decode()
        entry_points = whl.read(f"mlops_testkit-{version}.dist-info/entry_points.txt").decode()
    assert f"\nVersion: {version}\n" in metadata
    assert "mlops_testkit = mlops_testkit.plugin" in entry_points  # pytest11
    assert "mlops-testkit = mlops_testkit.cli:main" in entry_points


def test_twine_check(dists: dict[str, Path]) -> None:
    require_tool("twine")
    run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(dists["sdist"]),
            str(dists["wheel"]),
        ],
        cwd=dists["wheel"].parent,
        env=clean_env(),
    )


def test_check_wheel_contents(dists: dict[str, Path]) -> None:
    require_tool("check_wheel_contents")
    run(
        [sys.executable, "-m", "check_wheel_contents", str(dists["wheel"])],
        cwd=dists["wheel"].parent,
        env=clean_env(),
    )


def test_wheel_holds_exactly_the_package_files(dists: dict[str, Path]) -> None:
    expected = package_files()
    assert any(f.endswith(".py") for f in expected) and f"{PACKAGE}/py.typed" in expected
    with zipfile.ZipFile(dists["wheel"]) as whl:
        shipped = {n for n in whl.namelist() if n.startswith(f"{PACKAGE}/")}
    assert sorted(expected - shipped) == [], "files git has that the wheel lacks"
    assert sorted(shipped - expected) == [], "files in the wheel that git does not have"


def test_sdist_holds_the_package_files(dists: dict[str, Path]) -> None:
    prefix = dists["sdist"].name.removesuffix(".tar.gz") + "/"
    with tarfile.open(dists["sdist"]) as sdist:
        names = {m.name.removeprefix(prefix) for m in sdist.getmembers() if m.isfile()}
    assert sorted(package_files() - names) == [], "files git has that the sdist lacks"
    assert {"pyproject.toml", "README.md"} <= names


# --- the wheel in a fresh virtualenv -------------------------------------------------------


def test_installed_copy_is_the_wheel(venv: Path, user_dir: Path) -> None:
    out = py(
        venv,
        "import mlops_testkit, sys; print(mlops_testkit.__file__); print(mlops_testkit.__version__)",
        user_dir,
    ).split()
    assert Path(out[0]).is_relative_to(venv), out[0]
    assert out[1] == source_version()


def test_every_module_imports(venv: Path, user_dir: Path) -> None:
    # a module or subpackage left out of the wheel fails here, whoever imports it
    out = py(
        venv,
        "import importlib, pkgutil, mlops_testkit\n"
        "for m in pkgutil.walk_packages(mlops_testkit.__path__, 'mlops_testkit.'):\n"
        "    if m.name != 'mlops_testkit.__main__':  # that one runs the CLI\n"
        "        importlib.import_module(m.name)\n"
        "        print(m.name)",
        user_dir,
    )
    expected = {
        f.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for f in package_files()
        if f.endswith(".py") and f not in {f"{PACKAGE}/__init__.py", f"{PACKAGE}/__main__.py"}
    }
    assert set(out.split()) == expected


def test_perturb_and_behavioral_import(venv: Path, user_dir: Path) -> None:
    out = py(
        venv,
        "from mlops_testkit import perturb\n"
        "import mlops_testkit.behavioral\n"
        "variants = perturb.change_names()('Anna liked it')\n"
        "print(all('Anna' not in v.value for v in variants), len(variants))",
        user_dir,
    )
    changed, count = out.split()
    assert changed == "True" and int(count) > 0, out


def test_cli_version(venv: Path, user_dir: Path) -> None:
    env = clean_env(venv)
    out = run([str(venv / "bin" / "mlops-testkit"), "--version"], cwd=user_dir, env=env).stdout
    assert out.strip() == f"mlops-testkit {source_version()}"
    installed = py(venv, "import mlops_testkit; print(mlops_testkit.__version__)", user_dir)
    assert installed.strip() == source_version()


def test_markers_listed(venv: Path, user_dir: Path) -> None:
    # the README's marker table is the list users read; pytest --markers must show each
    documented = re.findall(r"^\| `@pytest\.mark\.(\w+)", (ROOT / "README.md").read_text(), re.M)
    assert {"data", "model", "behavioral", "gate", "devices", "mlscore"} <= set(documented)
    out = run(
        [str(venv / "bin" / "python"), "-m", "pytest", "--markers", "-p", "no:cacheprovider"],
        cwd=user_dir,
        env=clean_env(venv),
    ).stdout
    missing = [m for m in documented if not re.search(rf"^@pytest\.mark\.{m}\b", out, re.M)]
    assert missing == [], out


def test_tour_runs(venv: Path, user_dir: Path) -> None:
    shutil.copy(TOUR, user_dir / "test_tour.py")
    env = clean_env(venv)
    result = run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            "test_tour.py",
            "--mltk-score",
            "--mltk-report",
            "report.html",
            "--mltk-gate-report",
            "gates.json",
        ],
        cwd=user_dir,
        env=env,
    )
    tests = len(re.findall(r"^def test_", TOUR.read_text(), re.M))
    outcome = result.stdout.strip().splitlines()[-1]  # "==== 4 passed in 9.01s ===="
    passed = re.search(r"(\d+) passed", outcome)
    assert passed and int(passed.group(1)) >= tests, result.stdout
    assert not re.search(r"\d+ (failed|errors?|skipped|xfailed|warnings?)\b", outcome), outcome
    assert "ML Test Score" in result.stdout
    assert (user_dir / "report.html").is_file()
    gate = [str(venv / "bin" / "mlops-testkit"), "gate", "gates.json"]
    run(gate, cwd=user_dir, env=env)


def test_wheel_ships_the_ci_templates(venv: Path, user_dir: Path) -> None:
    """`mlops-testkit ci-local` serves the templates of the installed kit."""
    out = py(venv, "from mlops_testkit.ci.local import kit_assets; print(kit_assets())", user_dir)
    assets = Path(out.strip())
    assert assets.is_relative_to(venv), out
    assert (assets / "gitlab_templates" / "test.yml").is_file()
    assert (assets / ".github" / "workflows" / "mlops-test.yml").is_file()
