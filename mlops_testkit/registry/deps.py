"""Dependency changes: what the candidate needs that the champion did not (ML Test Score mon-1).

MLflow stores each model version's environment next to it: ``requirements.txt`` (pip),
``python_env.yaml`` (the Python version) and ``conda.yaml``. :func:`dependency_diff`
compares two such environments (or one and the running environment) and classes each
change by the versions' release numbers: ``major`` (2.x -> 3.x), ``minor``, ``patch``
(anything below the second number, pre/post releases included), ``changed`` (a
specifier that is not an exact pin changed), ``unsatisfied`` (the running environment
does not satisfy the model's specifier), ``added`` and ``removed``.
:func:`assert_dependencies_unchanged` fails on a ``major`` or ``unsatisfied`` change of a
package not in ``allow``; ``mlops-testkit deps-diff`` prints the diff for a CI job summary
or a merge-request note.

A side can be named by:
    * a registry model: ``models:/NAME/3``, ``models:/NAME@champion``, or the
      ``candidate`` / ``champion`` fixtures' :class:`~mlops_testkit.registry.tracking.RegistryModel`;
    * a model directory, or a ``requirements.txt`` / ``conda.yaml`` / ``python_env.yaml`` file;
    * a list of requirement lines, or a mapping package -> version;
    * ``"env"``: the running environment (the installed versions of the packages the other
      side names, and Python's).

mlflow is imported only when a registry model is named; importing this module is free.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._checks import finish, table_renderer
from mlops_testkit.reporting.results import CheckResult
from mlops_testkit.reporting.score import evidences

WHERE = "dependency_diff"
ENV = ("env", "environment", "running", "current")
FILES = ("requirements.txt", "python_env.yaml", "conda.yaml")
COLUMNS = ("package", "champion", "candidate", "change", "verdict")
FAILING = ("major", "unsatisfied")
_CONDA = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:(==|=|>=|<=|>|<|!=|~=)\s*([^\s#]+))?")


def normalize(name: str) -> str:
    """A package name in PEP 503 form: ``Scikit_Learn`` -> ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


@dataclass
class Environment:
    """One side: package -> specifier (``==2.13.0``, ``>=1.24`` or ``''``)."""

    label: str
    packages: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # normalized -> as written
    problem: str | None = None
    running: bool = False

    def add(self, name: str, spec: str) -> None:
        key = normalize(name)
        self.names.setdefault(key, name)
        self.packages[key] = spec.strip()


def _requirements(lines: Iterable[str], env: Environment) -> Environment:
    from packaging.requirements import InvalidRequirement, Requirement

    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue  # comments, -r/-c/--index-url options
        try:
            req = Requirement(line)
        except InvalidRequirement:
            match = _CONDA.match(line)
            if not match:
                continue
            env.add(match.group(1), "".join(p for p in match.groups()[1:] if p))
            continue
        env.add(req.name, str(req.specifier))
    return env


def _conda(text: str, env: Environment) -> Environment:
    import yaml

    data = yaml.safe_load(text) or {}
    for dep in data.get("dependencies") or []:
        if isinstance(dep, Mapping):
            _requirements(dep.get("pip") or [], env)
        elif isinstance(dep, str):
            match = _CONDA.match(dep)
            if match:
                op, version = match.group(2), match.group(3)
                op = "==" if op == "=" else op
                env.add(match.group(1), f"{op}{version}" if op else "")
    return env


def _python_env(text: str, env: Environment) -> Environment:
    import yaml

    version = (yaml.safe_load(text) or {}).get("python")
    if version:
        env.add("python", f"=={version}")
    return env


def _from_dir(path: Path, label: str) -> Environment:
    env = Environment(label)
    files = {name: path / name for name in FILES if (path / name).is_file()}
    if "requirements.txt" in files:
        _requirements(files["requirements.txt"].read_text().splitlines(), env)
        if "python_env.yaml" in files:
            _python_env(files["python_env.yaml"].read_text(), env)
        elif "conda.yaml" in files:  # only its python line
            conda = _conda(files["conda.yaml"].read_text(), Environment(label))
            if "python" in conda.packages:
                env.add("python", conda.packages["python"])
    elif "conda.yaml" in files:
        _conda(files["conda.yaml"].read_text(), env)
    else:
        env.problem = f"{label} stores no requirements.txt or conda.yaml"
    return env


def _from_file(path: Path) -> Environment:
    env = Environment(str(path))
    text = path.read_text()
    if path.name.endswith((".yaml", ".yml")):
        return _python_env(text, env) if "python_env" in path.name else _conda(text, env)
    return _requirements(text.splitlines(), env)


def _from_registry(
    name: str, version: str | None, alias: str | None, timeout: float
) -> Environment:
    import tempfile

    from mlops_testkit.extras import require
    from mlops_testkit.registry.tracking import aliases, connect, get_version

    client = connect(timeout)
    known = aliases(client, name)
    if version is None:
        version = known.get(str(alias))
        if version is None:
            shown = ", ".join(f"{a} -> v{v}" for a, v in sorted(known.items())) or "none"
            raise MltkUsageError(
                f"{WHERE}: model {name!r} has no alias {alias!r} (aliases: {shown})"
            )
    get_version(client, name, version)
    named = sorted(a for a, v in known.items() if v == str(version))
    label = f"{name} v{version}" + (f" ({', '.join(named)})" if named else "")
    uri = str(client.get_model_version_download_uri(name, str(version))).rstrip("/")
    artifacts = require("mlflow.artifacts", WHERE)
    with tempfile.TemporaryDirectory(prefix="mltk-deps-") as tmp:
        for file in FILES:
            try:
                artifacts.download_artifacts(artifact_uri=f"{uri}/{file}", dst_path=tmp)
            except Exception as exc:  # a missing file is expected: the model may lack it
                from mlops_testkit.registry.tracking import backend_error

                if not backend_error(exc) and not isinstance(exc, OSError):
                    raise
        return _from_dir(Path(tmp), label)


def environment_of(source: Any, *, timeout: float = 10.0) -> Environment:
    """The :class:`Environment` a side names (see the module docstring)."""
    if isinstance(source, Environment):
        return source
    if hasattr(source, "name") and hasattr(source, "version") and hasattr(source, "uri"):
        return _from_registry(str(source.name), str(source.version), None, timeout)
    if isinstance(source, Mapping):
        env = Environment("mapping")
        for name, version in source.items():
            text = str(version).strip()
            env.add(str(name), f"=={text}" if text and text[0].isdigit() else text)
        return env
    if isinstance(source, Path) or (isinstance(source, str) and not source.startswith("models:/")):
        path = Path(source)
        if path.is_dir():
            return _from_dir(path, str(path))
        if path.is_file():
            return _from_file(path)
        raise MltkUsageError(
            f"{WHERE}: {source!r} is neither a models:/ URI, 'env', a model directory nor a "
            "requirements.txt / conda.yaml file"
        )
    if isinstance(source, str):
        from mlops_testkit.registry.tracking import parse_candidate

        rest = source[len("models:/") :]
        try:
            spec = parse_candidate(source)
        except ValueError as exc:
            raise MltkUsageError(f"{WHERE}: {exc}") from None
        name = spec.model_name or rest
        return _from_registry(name, spec.version, spec.alias, timeout)
    if isinstance(source, Sequence) and all(isinstance(s, str) for s in source):
        return _requirements(source, Environment("requirements"))
    raise MltkUsageError(
        f"{WHERE}: cannot read dependencies from a {type(source).__name__}; pass a models:/ "
        "URI, a RegistryModel, a model directory, a requirements file, a list of "
        "requirement lines, a mapping package -> version, or 'env'"
    )


def running_environment(names: Iterable[str]) -> Environment:
    """The installed versions of ``names`` (and Python's) in this interpreter."""
    from importlib import metadata

    env = Environment("running environment", running=True)
    for name in names:
        if normalize(name) == "python":
            continue
        try:
            env.add(name, f"=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    env.add("python", "=={}.{}.{}".format(*sys.version_info[:3]))
    return env


def _pin(spec: str) -> str | None:
    match = re.fullmatch(r"===?\s*([^,*;\s]+)", spec.strip())
    return match.group(1) if match else None


def classify(old: str, new: str) -> str:
    """The class of a change from specifier ``old`` to ``new``."""
    from packaging.version import InvalidVersion, Version

    if old == new:
        return "unchanged"
    a, b = _pin(old), _pin(new)
    if a is None or b is None:
        return "changed"
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        return "changed"
    if va == vb:
        return "unchanged"
    ra, rb = (*va.release, 0, 0)[:3], (*vb.release, 0, 0)[:3]
    if ra[0] != rb[0] or va.epoch != vb.epoch:
        return "major"
    return "minor" if ra[1] != rb[1] else "patch"


def _satisfied(spec: str, installed: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(spec).contains(installed, prereleases=True)
    except InvalidSpecifier:
        return False


@dataclass
class DependencyDiff(CheckResult):
    """Added, removed and changed packages between the champion's and the candidate's
    environments, each change classed."""

    kind: ClassVar[str] = "dependencies"
    name: str = ""
    champion: str = ""
    candidate: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    compared: int = 0  # packages with exact versions on both sides
    allow: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def failing(self) -> list[str]:
        return [r["package"] for r in self.rows if r["verdict"] == "FAIL"]

    @property
    def passed(self) -> bool:
        return self.problem is None and self.compared > 0 and not self.failing

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["change"]] = out.get(r["change"], 0) + 1
        return out

    @property
    def headline(self) -> str:
        if self.problem:
            return f"dependencies not compared: {self.problem}"
        if not self.compared:
            return (
                f"no package has an exact version on both sides ({self.candidate} against "
                f"{self.champion}): nothing to compare; pin the requirements the model is "
                "logged with"
            )
        parts = ", ".join(f"{n} {c}" for c, n in sorted(self.counts().items())) or "no change"
        failing = (
            f"; {len(self.failing)} major change(s) not allowed: {', '.join(self.failing)}"
            if self.failing
            else ""
        )
        return (
            f"dependencies of {self.candidate} against {self.champion}: {parts} "
            f"({self.unchanged} unchanged){failing}"
        )

    def extra(self) -> dict[str, Any]:
        return {"champion": self.champion, "candidate": self.candidate}

    def markdown(self) -> str:
        """The diff as Markdown, for a job summary or a merge-request note."""
        lines = [f"### Dependency changes: {self.candidate} against {self.champion}", ""]
        lines.append(self.headline)
        if self.rows:
            lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
            lines += [
                "| " + " | ".join(str(r[c]).replace("|", "\\|") or "-" for c in COLUMNS) + " |"
                for r in self.rows
            ]
        return "\n".join(lines)

    def text(self) -> str:
        from mlops_testkit._format import table

        body = table(self.rows, COLUMNS, max_rows=200) if self.rows else "(no change)"
        return f"{body}\n\n{self.headline}"


table_renderer(
    "dependencies",
    "dependency changes",
    COLUMNS,
    failing=lambda r: r.get("verdict") == "FAIL",
)

ORDER = ("major", "unsatisfied", "minor", "patch", "changed", "added", "removed")


def dependency_diff(
    candidate: Any,
    champion: Any,
    *,
    allow: Iterable[str] = (),
    timeout: float = 10.0,
    name: str | None = None,
) -> DependencyDiff:
    """Compare the candidate's dependencies with the champion's (or with ``"env"``, the
    running environment). Returns a :class:`DependencyDiff`; print ``.text()`` or
    ``.markdown()``.

    Example::

        diff = dependency_diff(["torch==3.0.1", "numpy==2.1.0"], ["torch==2.13.0", "numpy==2.1.0"])
        assert [r["change"] for r in diff.rows] == ["major"]
    """
    if isinstance(allow, str):
        allow = [allow]
    allowed = {normalize(str(a)) for a in allow}
    env_new = None if _is_env(candidate) else environment_of(candidate, timeout=timeout)
    env_old = None if _is_env(champion) else environment_of(champion, timeout=timeout)
    if env_new is None and env_old is None:
        raise MltkUsageError(
            f"{WHERE}: candidate and champion cannot both be the running environment"
        )
    if env_new is None:
        env_new = running_environment(env_old.names.values())  # type: ignore[union-attr]
    if env_old is None:
        env_old = running_environment(env_new.names.values())
    for env, side in ((env_new, "candidate"), (env_old, "champion")):
        if env.label in ("requirements", "mapping"):
            env.label = f"the {side}'s {env.label}"
    result = DependencyDiff(
        name=name or "dependencies",
        champion=env_old.label,
        candidate=env_new.label,
        allow=sorted(allowed),
        problem=env_new.problem or env_old.problem,
    )
    rows = []
    for key in sorted(set(env_old.packages) | set(env_new.packages)):
        old, new = env_old.packages.get(key), env_new.packages.get(key)
        shown = env_new.names.get(key) or env_old.names.get(key) or key
        if old is None:
            change = "added" if not env_old.running else "unsatisfied"
        elif new is None:
            change = "removed" if not env_new.running else "unsatisfied"
        else:
            change = classify(old, new)
            running = env_old if env_old.running else env_new if env_new.running else None
            if change == "changed" and running is not None:
                spec = new if running is env_old else old
                installed = _pin(running.packages[key]) or ""
                change = "unchanged" if _satisfied(spec, installed) else "unsatisfied"
            if _pin(old) and _pin(new):
                result.compared += 1
        if change == "unchanged":
            result.unchanged += 1
            continue
        verdict = "ok"
        if change in FAILING:
            verdict = "allowed" if key in allowed else "FAIL"
        rows.append(
            {
                "package": shown,
                "champion": "-" if old is None else old or "(any)",
                "candidate": "-" if new is None else new or "(any)",
                "change": change,
                "verdict": verdict,
            }
        )
    rows.sort(key=lambda r: (r["verdict"] != "FAIL", ORDER.index(r["change"]), r["package"]))
    result.rows = rows
    return result


def _is_env(source: Any) -> bool:
    return isinstance(source, str) and source.strip().lower() in ENV


@evidences("mon-1")
def assert_dependencies_unchanged(
    candidate: Any,
    champion: Any,
    *,
    allow: Iterable[str] = (),
    timeout: float = 10.0,
    name: str | None = None,
) -> DependencyDiff:
    """Assert that no package the candidate needs changed its major version since the
    champion (or, with ``"env"``, is unsatisfied by the running environment), unless it
    is in ``allow``. Minor and patch changes, added and removed packages are listed and
    recorded, not failed. Evidences ML Test Score item mon-1.

    Example::

        def test_dependencies(candidate, champion):
            if champion is None:
                pytest.skip("no champion yet")
            assert_dependencies_unchanged(candidate, champion, allow=["mlflow"])
    """
    __tracebackhide__ = True
    result = dependency_diff(candidate, champion, allow=allow, timeout=timeout, name=name)
    return finish(
        result,
        COLUMNS,
        "Review the major upgrade (release notes, a full evaluation of the candidate), then "
        "allow it: allow=['package']; or pin the champion's version when logging the model.",
        max_rows=20,
    )


# --- the command line: mlops-testkit deps-diff ----------------------------------------------


def cli(args: Any) -> int:
    """``mlops-testkit deps-diff``: print the diff; with ``--check`` exit 1 on a failing one."""
    from mlops_testkit import MissingExtraError
    from mlops_testkit.registry.tracking import TrackingError, backend_error

    def side(text: str) -> str:
        if text.strip().lower() in ENV:
            return "env"
        return (
            text
            if text.startswith("models:/")
            else f"models:/{args.model}"
            + (
                f"/{text.strip().lower().removeprefix('v')}"
                if re.fullmatch(r"[vV]?\d+", text.strip())
                else f"@{text.strip()}"
            )
        )

    try:
        diff = dependency_diff(
            side(args.candidate),
            side(args.against),
            allow=[a for a in re.split(r"[,\s]+", args.allow or "") if a],
            timeout=args.timeout,
        )
    except (TrackingError, MissingExtraError, MltkUsageError) as exc:
        text = str(exc).removeprefix(f"{WHERE}: ")
        if "has no alias" in text and args.against in text and not args.check:
            print(f"mlops-testkit deps-diff: nothing to compare: {text}")
            return 0
        print(f"mlops-testkit deps-diff: REFUSED: {text}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not backend_error(exc):
            raise
        print(f"mlops-testkit deps-diff: REFUSED: MLflow error: {exc}", file=sys.stderr)
        return 1
    print(diff.markdown() if args.markdown else diff.text())
    return 1 if args.check and not diff.passed else 0
