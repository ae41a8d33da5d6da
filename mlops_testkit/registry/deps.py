"""Dependency changes: what the candidate needs that the champion did not (ML Test Score mon-1).

MLflow stores each model version's environment next to it: ``requirements.txt`` (pip),
``python_env.yaml`` (the Python version) and ``conda.yaml``. :func:`dependency_diff`
compares two such environments (or one and the running environment) and classes each
change by the versions' release numbers: ``major`` (2.x -> 3.x), ``minor``, ``patch``
(anything below the second number, pre/post releases included), ``changed`` (a
specifier that is not an exact pin changed), ``unsatisfied`` (the running environment
does not satisfy the model's specifier), ``not compared`` (an exact pin whose version is
neither PEP 440 nor starts with a number: nothing says how big the change is), ``added``
and ``removed``. Versions that are not PEP 440 but start with numbers (conda's
``openssl 1.1.1w``, ``3.0.13=h4ba_0``) are classed by those numbers.
:func:`assert_dependencies_unchanged` fails on a ``major``, ``unsatisfied`` or ``not
compared`` change of a package not in ``allow``; ``mlops-testkit deps-diff`` prints the
diff for a CI job summary or a merge-request note.

A package named twice in one file is combined the way pip combines it (``numpy>=1.20``
and ``numpy<2``); two pins that cannot both hold (``numpy==1.26.4`` and ``numpy==2.1.0``)
are a conflict, and the diff does not pass. A file that is not UTF-8 (UTF-16 and UTF-32
with a byte-order mark are read, as pip reads them), or a YAML file that does not parse or
is not a mapping, is a usage error naming the file.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._args import number
from mlops_testkit._checks import finish, table_renderer
from mlops_testkit.registry.deps_sources import (  # noqa: F401 - the readers' names stay importable here
    ENV,
    FILES,
    WHERE,
    Environment,
    classify,
    comparable,
    environment_of,
    exact_pin,
    normalize,
    running_environment,
    satisfies,
)
from mlops_testkit.reporting.results import CheckResult
from mlops_testkit.reporting.score import evidences

COLUMNS = ("package", "champion", "candidate", "change", "verdict")
FAILING = ("major", "unsatisfied", "not compared")


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
    compared: int = 0  # packages with exact, comparable versions on both sides
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
        failing = ""
        major = [r["package"] for r in self.rows if r["verdict"] == "FAIL"]
        unknown = [p for p, r in zip(major, self._failing_rows(), strict=True) if r]
        major = [p for p in major if p not in unknown]
        if major:
            failing += f"; {len(major)} major change(s) not allowed: {', '.join(major)}"
        if unknown:
            failing += (
                f"; {len(unknown)} pin(s) whose versions cannot be compared, not allowed: "
                f"{', '.join(unknown)}"
            )
        return (
            f"dependencies of {self.candidate} against {self.champion}: {parts} "
            f"({self.unchanged} unchanged){failing}"
        )

    def _failing_rows(self) -> list[bool]:
        """For each failing row: whether it fails because its versions cannot be compared."""
        return [r["change"] == "not compared" for r in self.rows if r["verdict"] == "FAIL"]

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

ORDER = ("major", "unsatisfied", "not compared", "minor", "patch", "changed", "added", "removed")


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
    if not isinstance(allow, Iterable) or isinstance(allow, bytes | Mapping):
        raise MltkUsageError(f"{WHERE}: allow must be a list of package names, got {allow!r}")
    allow = list(allow)
    if not all(isinstance(a, str) and a.strip() for a in allow):
        raise MltkUsageError(f"{WHERE}: allow must be a list of package names, got {allow!r}")
    number(timeout, "timeout", WHERE, low=0, low_open=True)
    allowed = {normalize(a) for a in allow}
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
    conflicts = [
        f"{env.label} names a package twice with versions no release meets: "
        + "; ".join(env.conflicts[:5])
        + "; keep one line per package"
        for env in (env_new, env_old)
        if env.conflicts
    ]
    result = DependencyDiff(
        name=name or "dependencies",
        champion=env_old.label,
        candidate=env_new.label,
        allow=sorted(allowed),
        problem=env_new.problem or env_old.problem or (conflicts[0] if conflicts else None),
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
            if change in ("changed", "not compared") and running is not None:
                spec = new if running is env_old else old
                installed = exact_pin(running.packages[key]) or ""
                change = "unchanged" if satisfies(spec, installed) else "unsatisfied"
            if comparable(old) and comparable(new):
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
