"""Fail-closed, reversible promotion in the MLflow model registry.

``promote`` moves the ``champion`` alias to a candidate version only when every check
passes; ``rollback`` moves it back. Both are idempotent, and both run under a
registry-side lock so that two racing promotions cannot both win.

The rules, in the order they are checked (the first that fails refuses, says why, and
changes nothing):

1. the gate report exists, parses, has a known schema version and matches its hash;
2. it holds at least one gate and every gate passed;
3. it was made for this model and this version (pytest ran with ``--mltk-model-name``
   and the candidate fixture resolved to this version);
4. the version exists and is READY;
5. under the lock: the champion is still the one the gates compared against
   (``--expect-champion``, by default the champion recorded in the report).

The lock is a registered model named ``mltk-lock.<NAME>``: creating a registered model
is atomic in every MLflow store, so whoever creates it holds the lock, and deleting it
releases it. A lock older than ``stale_after`` seconds (its holder died) is broken.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit.gate_report import reasons
from mlops_testkit.registry.tracking import (
    CHALLENGER,
    CHAMPION,
    DEFAULT_TIMEOUT_S,
    PREVIOUS_CHAMPION,
    TrackingError,
    aliases,
    connect,
    get_version,
)

LOCK_PREFIX = "mltk-lock."
ROLLED_BACK = "rolled_back"  # alias of the version a rollback took out of service
UNSET: Any = object()


class PromotionError(RuntimeError):
    """The promotion or rollback was refused; the message says why. Nothing changed."""


@dataclass
class Outcome:
    """What ``promote`` or ``rollback`` did."""

    action: str  # promoted, rolled back, unchanged
    model: str
    champion_before: str | None
    champion_after: str | None
    message: str
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # what could not be verified


def actor() -> str:
    """Who is acting: the CI user when there is one, else the local user."""
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def registry_lock(
    client: Any, name: str, *, wait: float = 30.0, stale_after: float = 600.0
) -> Iterator[None]:
    """Hold the promotion lock of model ``name``; PromotionError after ``wait`` seconds."""
    from mlflow.exceptions import MlflowException

    lock = LOCK_PREFIX + name
    holder = f"{actor()}@{socket.gethostname()} pid {os.getpid()}"
    deadline = time.monotonic() + wait
    while True:
        try:
            client.create_registered_model(
                lock,
                tags={"mltk.lock_holder": holder, "mltk.lock_since": str(time.time())},
                description=f"mlops-testkit promotion lock of {name}; deleted when done",
            )
            break
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        try:
            held = client.get_registered_model(lock)
        except MlflowException:
            continue  # released in between: try again at once
        since = float(held.tags.get("mltk.lock_since", "0") or 0)
        if time.time() - since > stale_after:
            with contextlib.suppress(MlflowException):
                client.delete_registered_model(lock)
            continue
        if time.monotonic() >= deadline:
            raise PromotionError(
                f"another promotion or rollback of {name!r} holds the lock "
                f"({held.tags.get('mltk.lock_holder', '?')}, for "
                f"{time.time() - since:.0f} s); retry later, or delete the registered "
                f"model {lock!r} if that process died"
            )
        time.sleep(0.2)
    try:
        yield
    finally:
        with contextlib.suppress(MlflowException):
            client.delete_registered_model(lock)


def _writer(client: Any) -> Any:
    """What sets aliases and tags. MlflowClient re-reads the registered model before
    each write (to refuse prompts); the registry client beneath it does not, which
    halves the round trips to a server. Falls back to the client itself."""
    inner = getattr(client, "_get_registry_client", None)
    try:
        registry = inner() if inner is not None else None
    except Exception:
        registry = None
    needed = (
        "set_registered_model_alias",
        "delete_registered_model_alias",
        "set_model_version_tag",
    )
    if registry is not None and all(hasattr(registry, n) for n in needed):
        return registry
    return client


def _check_report(report: Mapping[str, Any], name: str, version: str, path: str) -> None:
    why = reasons(report)  # the one rule, the same as `mlops-testkit gate`
    if why:
        more = f" and {len(why) - 5} more" if len(why) > 5 else ""
        raise PromotionError(f"the gate report {path} does not pass: {'; '.join(why[:5])}{more}")
    model = report.get("model")
    if not isinstance(model, Mapping) or not model.get("version"):
        raise PromotionError(
            f"the gate report {path} names no model version: run pytest with "
            "--mltk-model-name and a test that uses the 'candidate' fixture, so the report "
            "says which version the gates evaluated"
        )
    if model.get("name") != name or str(model.get("version")) != str(version):
        raise PromotionError(
            f"the gate report {path} is about {model.get('name')} v{model.get('version')}, "
            f"not {name} v{version}"
        )


def promote(
    name: str,
    version: str,
    report_path: str,
    *,
    expect_champion: str | None = UNSET,
    client: Any = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    lock_wait: float = 30.0,
) -> Outcome:
    """Make ``version`` the champion of ``name`` if the gate report allows it.

    ``expect_champion`` is the champion the candidate must replace (``None``: there
    must be none); by default the one the report says the gates compared against.
    Raises :class:`PromotionError` (nothing changed) or :class:`TrackingError`.
    """
    from mlops_testkit.gate_report import GateReportError, gate_key, read_report

    started = time.perf_counter()
    version = str(version)
    checked: list[str] = []
    try:
        report = read_report(report_path, key=gate_key(), warnings=checked)
    except GateReportError as exc:
        raise PromotionError(str(exc)) from None
    _check_report(report, name, version, str(report_path))
    if expect_champion is UNSET and "champion_version" in report["model"]:
        expect_champion = report["model"]["champion_version"]
    client = client or connect(timeout)
    candidate = get_version(client, name, version)
    if candidate.status != "READY":
        raise PromotionError(f"{name} v{version} is {candidate.status}, not READY")
    write = _writer(client)
    with registry_lock(client, name, wait=lock_wait):
        known = aliases(client, name)
        before = known.get(CHAMPION)
        if before == version:
            if known.get(CHALLENGER) == version:
                write.delete_registered_model_alias(name, CHALLENGER)
            return Outcome(
                "unchanged",
                name,
                before,
                before,
                f"{name} v{version} is already the champion; nothing to do",
                time.perf_counter() - started,
                checked,
            )
        if expect_champion is not UNSET and before != (
            None if expect_champion is None else str(expect_champion)
        ):
            expected = "no champion" if expect_champion is None else f"v{expect_champion}"
            now = "none" if before is None else f"v{before}"
            raise PromotionError(
                f"the champion of {name!r} moved since the gates ran: they compared "
                f"against {expected}, the champion now is {now}; re-run the gates "
                "against the current champion"
            )
        if before is not None:
            write.set_registered_model_alias(name, PREVIOUS_CHAMPION, before)
        write.set_registered_model_alias(name, CHAMPION, version)  # the commit point
        if known.get(CHALLENGER) == version:
            write.delete_registered_model_alias(name, CHALLENGER)
        if known.get(ROLLED_BACK) == version:  # a fixed version comes back
            write.delete_registered_model_alias(name, ROLLED_BACK)
        who, when = actor(), _now()
        _audit(
            write,
            name,
            version,
            {
                "mltk.promoted_by": who,
                "mltk.promoted_at": when,
                "mltk.gate_report_hash": str(report["content_hash"]),
                "mltk.gate_report_signed": "verified" if gate_key() else "unverified",
                "mltk.replaced_version": before or "",
            },
            before,
            {"mltk.replaced_by": version},
        )
    done = _outcome("promoted", name, before, version, who, started)
    done.warnings = checked
    return done


def rollback(
    name: str,
    *,
    to: str | None = None,
    client: Any = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    lock_wait: float = 30.0,
) -> Outcome:
    """Move ``champion`` back to ``to`` (default: the ``previous_champion`` alias).

    The aliases then tell the story: ``champion`` is the restored version, ``rolled_back``
    the version taken out of service (also tagged ``mltk.rolled_back_by``/``_at``/``_to``),
    and ``previous_champion`` is cleared, since it named the restored version itself.
    A second rollback finds nothing to roll back to, changes nothing and returns
    ``unchanged`` (exit 0); pass ``to`` to go further back. With neither a
    ``previous_champion`` nor an earlier rollback, it refuses.
    """
    started = time.perf_counter()
    client = client or connect(timeout)
    if to is not None:
        get_version(client, name, str(to))
    else:
        aliases(client, name)  # unknown model: a clear error before taking the lock
    write = _writer(client)
    with registry_lock(client, name, wait=lock_wait):
        known = aliases(client, name)
        before = known.get(CHAMPION)
        target = str(to) if to is not None else known.get(PREVIOUS_CHAMPION)
        if target is None and before is not None and ROLLED_BACK in known:
            return Outcome(
                "unchanged",
                name,
                before,
                before,
                f"nothing to roll back to: {name} v{before} is the champion since "
                f"v{known[ROLLED_BACK]} was rolled back; pass --to VERSION to go further back",
                time.perf_counter() - started,
            )
        if target is None:
            raise PromotionError(
                f"model {name!r} has no {PREVIOUS_CHAMPION!r} alias to roll back to; "
                "pass --to VERSION"
            )
        version = get_version(client, name, target)
        if version.status != "READY":
            raise PromotionError(f"{name} v{target} is {version.status}, not READY")
        if before == target:
            return Outcome(
                "unchanged",
                name,
                before,
                before,
                f"{name} v{target} is already the champion; nothing to do",
                time.perf_counter() - started,
            )
        write.set_registered_model_alias(name, CHAMPION, target)  # the commit point
        if known.get(PREVIOUS_CHAMPION) is not None:
            write.delete_registered_model_alias(name, PREVIOUS_CHAMPION)
        if before is not None:
            write.set_registered_model_alias(name, ROLLED_BACK, before)
        elif ROLLED_BACK in known:
            write.delete_registered_model_alias(name, ROLLED_BACK)
        who, when = actor(), _now()
        _audit(
            write,
            name,
            target,
            {
                "mltk.restored_by": who,
                "mltk.restored_at": when,
                "mltk.replaced_version": before or "",
            },
            before,
            {
                "mltk.rolled_back_by": who,
                "mltk.rolled_back_at": when,
                "mltk.rolled_back_to": target,
            },
        )
    return _outcome("rolled back", name, before, target, who, started)


def _audit(
    write: Any,
    name: str,
    version: str,
    tags: Mapping[str, str],
    replaced: str | None,
    replaced_tags: Mapping[str, str],
) -> None:
    """The audit trail: tags on the new champion, and on the version it replaced."""
    for key, value in tags.items():
        write.set_model_version_tag(name, version, key, value)
    if replaced is not None:
        for key, value in replaced_tags.items():
            write.set_model_version_tag(name, replaced, key, value)


def _outcome(
    action: str, name: str, before: str | None, after: str, who: str, started: float
) -> Outcome:
    shown = "none" if before is None else f"v{before}"
    verb = {
        "promoted": f"promoted {name} v{after} to champion",
        "rolled back": f"rolled {name} back to v{after}",
    }[action]
    return Outcome(
        action,
        name,
        before,
        after,
        f"{verb} (was {shown}) by {who}",
        time.perf_counter() - started,
    )


__all__ = [
    "ROLLED_BACK",
    "Outcome",
    "PromotionError",
    "TrackingError",
    "promote",
    "registry_lock",
    "rollback",
]
