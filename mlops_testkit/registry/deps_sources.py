"""Where dependencies are read from, for :mod:`mlops_testkit.registry.deps`: a registry
model's stored environment, a model directory, a ``requirements.txt`` / ``conda.yaml`` /
``python_env.yaml`` file, a list of requirement lines, a mapping, or the running
environment. Each becomes an :class:`Environment` (package -> specifier, the names as
written, conflicts and a problem to report).

mlflow is imported only when a registry model is named.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_testkit import MltkUsageError

WHERE = "dependency_diff"
ENV = ("env", "environment", "running", "current")
FILES = ("requirements.txt", "python_env.yaml", "conda.yaml")
_CONDA = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:(==|=|>=|<=|>|<|!=|~=)\s*([^\s#]+))?")
# conda's MatchSpec "name version[ build]": a version with a space before it
_CONDA_SPACED = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s+(\d[^\s#=<>!~,]*)(?:\s+\S+)?\s*$")


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
    conflicts: list[str] = field(default_factory=list)  # "numpy: ==1.26.4 and ==2.1.0"
    inapplicable: set[str] = field(default_factory=set)  # added under a marker that is false

    def add(self, name: str, spec: str, applies: bool = True) -> None:
        """Add a requirement; a package named again is combined as pip combines it, and
        two specifiers no version meets are recorded in ``conflicts``. A line whose
        environment marker is false here gives way to one that applies."""
        key, spec = normalize(name), spec.strip()
        self.names.setdefault(key, name)
        if key not in self.packages:
            self.packages[key] = spec
        elif not applies:
            return  # another line for the package exists; this one does not apply here
        elif key in self.inapplicable:
            self.packages[key] = spec
        else:
            merged = _merge(self.packages[key], spec)
            if merged is None:
                self.conflicts.append(f"{name}: {self.packages[key]} and {spec}")
            else:
                self.packages[key] = merged
        if applies:
            self.inapplicable.discard(key)
        elif self.packages[key] == spec:
            self.inapplicable.add(key)


def _merge(old: str, new: str) -> str | None:
    """Two specifiers of one package as one, the way pip combines them; None when no
    version can meet both (two different pins, or a pin outside the other's range)."""
    if not old or old == new:
        return new or old
    if not new:
        return old
    a, b = exact_pin(old), exact_pin(new)
    if a is not None and b is not None:
        return old if classify(old, new) == "unchanged" else None
    if a is not None:
        return old if satisfies(new, a) else None
    if b is not None:
        return new if satisfies(old, b) else None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:  # in SpecifierSet's order, as a requirement line >=1.20,<2 is written
        return str(SpecifierSet(f"{old},{new}"))
    except InvalidSpecifier:
        return f"{old},{new}"


def _applies(req: Any) -> bool:
    """Whether a requirement's environment marker holds in this interpreter (no marker,
    or one that cannot be evaluated: it applies)."""
    if req.marker is None:
        return True
    try:
        return bool(req.marker.evaluate())
    except Exception:
        return True


def _requirements(lines: Iterable[str], env: Environment) -> Environment:
    from packaging.requirements import InvalidRequirement, Requirement

    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue  # comments, -r/-c/--index-url options
        try:
            req = Requirement(line)
        except InvalidRequirement:
            _conda_line(line, env, pip=True)
            continue
        env.add(req.name, str(req.specifier), _applies(req))
    return env


def _conda_line(line: str, env: Environment, pip: bool = False) -> None:
    """One conda requirement: ``name=1.2``, ``name==1.2``, ``name>=1.2``, ``name 1.2 build``."""
    spaced = _CONDA_SPACED.match(line)
    if spaced:
        env.add(spaced.group(1), f"=={spaced.group(2)}")
        return
    match = _CONDA.match(line)
    if not match:
        return
    op, version = match.group(2), match.group(3)
    if not pip:
        op = "==" if op == "=" else op
    env.add(match.group(1), f"{op}{version}" if op else "")


def _read(path: Path, shown: str) -> str:
    """A requirements or YAML file's text: UTF-8 (a BOM allowed), or UTF-16/32 with a BOM
    (as pip reads requirements files); anything else is a usage error naming the file."""
    import codecs

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MltkUsageError(f"{WHERE}: {shown} cannot be read ({exc.strerror or exc})") from None
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    encoding = next((name for bom, name in boms if data.startswith(bom)), "utf-8-sig")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise MltkUsageError(
            f"{WHERE}: {shown} is not {encoding.removesuffix('-sig').upper()} text (byte "
            f"0x{data[exc.start]:02x} at offset {exc.start}: {exc.reason}); save it as UTF-8"
        ) from None


def _yaml(text: str, shown: str, example: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping; a parse error or another shape is a usage
    error naming the file."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MltkUsageError(f"{WHERE}: {shown} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise MltkUsageError(
            f"{WHERE}: {shown} must hold a mapping ({example}), got a {type(data).__name__}"
        )
    return dict(data)


def _conda(text: str, env: Environment, shown: str) -> Environment:
    data = _yaml(text, shown, "name:, channels:, dependencies: [...]")
    deps = data.get("dependencies")
    if deps is None:
        return env
    if not isinstance(deps, list):
        raise MltkUsageError(
            f"{WHERE}: {shown}: dependencies must be a list of requirements, got a "
            f"{type(deps).__name__} ({str(deps)[:60]!r})"
        )
    for dep in deps:
        if isinstance(dep, Mapping) and set(dep) <= {"pip"}:
            pip = dep.get("pip") or []
            if not isinstance(pip, list) or not all(isinstance(p, str) for p in pip):
                raise MltkUsageError(
                    f"{WHERE}: {shown}: pip: must be a list of requirement lines, got "
                    f"{str(pip)[:60]!r}"
                )
            _requirements(pip, env)
        elif isinstance(dep, str):
            _conda_line(dep, env)
        else:
            raise MltkUsageError(
                f"{WHERE}: {shown}: a dependency must be a requirement such as "
                f"'numpy=2.1.0' or a 'pip:' list, got {str(dep)[:60]!r}"
            )
    return env


def _python_env(text: str, env: Environment, shown: str) -> Environment:
    data = _yaml(text, shown, "python: 3.11.7, build_dependencies:, dependencies:")
    version = data.get("python")
    if version is None or version == "":
        return env
    if isinstance(version, bool) or not isinstance(version, str | int):
        raise MltkUsageError(
            f'{WHERE}: {shown}: python must be a version such as "3.11.7", got '
            f"{version!r}"
            + (" (quote it: YAML reads 3.10 as 3.1)" if isinstance(version, float) else "")
        )
    env.add("python", f"=={version}")
    return env


def _from_dir(path: Path, label: str) -> Environment:
    env = Environment(label)
    files = {name: path / name for name in FILES if (path / name).is_file()}

    def shown(name: str) -> str:
        return str(files[name]) if label == str(path) else f"{name} of {label}"

    def text(name: str) -> str:
        return _read(files[name], shown(name))

    if "requirements.txt" in files:
        _requirements(text("requirements.txt").splitlines(), env)
        if "python_env.yaml" in files:
            _python_env(text("python_env.yaml"), env, shown("python_env.yaml"))
        elif "conda.yaml" in files:  # only its python line
            conda = _conda(text("conda.yaml"), Environment(label), shown("conda.yaml"))
            if "python" in conda.packages:
                env.add("python", conda.packages["python"])
    elif "conda.yaml" in files:
        _conda(text("conda.yaml"), env, shown("conda.yaml"))
    else:
        env.problem = f"{label} stores no requirements.txt or conda.yaml"
    return env


def _from_file(path: Path) -> Environment:
    env = Environment(str(path))
    text = _read(path, str(path))
    if path.name.endswith((".yaml", ".yml")):
        if "python_env" in path.name:
            return _python_env(text, env, str(path))
        return _conda(text, env, str(path))
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


def exact_pin(spec: str) -> str | None:
    match = re.fullmatch(r"===?\s*([^,*;\s]+)", spec.strip())
    return match.group(1) if match else None


def _leading(version: str) -> tuple[int, ...] | None:
    """The leading numeric components of a version that is not PEP 440 (conda's
    ``1.1.1w`` -> (1, 1, 1), ``3.0.13=h4ba_0`` -> (3, 0, 13)); None when it starts with
    no number."""
    match = re.match(r"[vV]?(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def comparable(spec: str) -> bool:
    """Whether ``spec`` is an exact pin whose version can be classed (PEP 440, or leading
    numeric components)."""
    from packaging.version import InvalidVersion, Version

    pin = exact_pin(spec)
    if pin is None:
        return False
    try:
        Version(pin)
    except InvalidVersion:
        return _leading(pin) is not None
    return True


def classify(old: str, new: str) -> str:
    """The class of a change from specifier ``old`` to ``new``."""
    from packaging.version import InvalidVersion, Version

    if old == new:
        return "unchanged"
    a, b = exact_pin(old), exact_pin(new)
    if a is None or b is None:
        return "changed"
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        # not PEP 440 (conda's openssl 1.1.1w): class by the leading numbers, if any
        la, lb = _leading(a), _leading(b)
        if la is None or lb is None:
            return "not compared"
        width = max(len(la), len(lb), 3)
        la, lb = (*la, *(0,) * width)[:width], (*lb, *(0,) * width)[:width]
        if la[0] != lb[0]:
            return "major"
        return "minor" if la[1] != lb[1] else "patch"
    if va == vb:
        return "unchanged"
    ra, rb = (*va.release, 0, 0)[:3], (*vb.release, 0, 0)[:3]
    if ra[0] != rb[0] or va.epoch != vb.epoch:
        return "major"
    return "minor" if ra[1] != rb[1] else "patch"


def satisfies(spec: str, installed: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(spec).contains(installed, prereleases=True)
    except InvalidSpecifier:
        return False
