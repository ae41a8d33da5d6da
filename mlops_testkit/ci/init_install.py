"""How the CI jobs that ``mlops-testkit init`` writes install mlops-testkit.

Never an install that cannot succeed: until the installed kit's ``__version__`` is a
release on the package index, the jobs install the pinned commit of ``--source`` at
``--ref`` from git (``mlops-testkit[data,mlflow] @ git+URL@REF``); once that release
exists, the release, pinned (``mlops-testkit[data,mlflow]==X.Y.Z``). Whether it exists is
asked of the index (PEP 503/691 simple API, or a folder of distributions); an index
that cannot be reached counts as no release, so offline ``init`` writes the git pin,
never an unpinned release. The lint job installs its own tool, pre-commit, after the
jobs' install, whatever ``--install`` says.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from mlops_testkit.ci.init_base import InitError, Options

PYPI = "https://pypi.org/simple"
INDEX_ENV = "MLTK_INDEX_URL"
NO_INDEX = ("none", "off", "no")
EXTRAS = "data,mlflow"
PROJECT = "mlops-testkit"
REQUIREMENTS = "if [ -f requirements.txt ]; then {pip} install -r requirements.txt; fi; "
PIP = {"github": "python -m pip", "gitlab": "pip"}
_SOURCE = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
_URL = re.compile(r"(git\+)?[a-z][a-z0-9+.-]*://[^\s'\"`$\\;&|<>()]+")
_REF = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")
_FETCH_TIMEOUT_S = 5.0


def check_source(opts: Options) -> None:
    """--source and --ref go into shell commands and URLs: refuse anything else."""
    source, ref = opts.source or "", opts.ref or ""
    if opts.ci is not None and not _SOURCE.fullmatch(source):
        # GitHub's uses: and GitLab's include: project: take a path, never a URL
        raise InitError(
            f"--source {source!r}: expected OWNER/REPO (GROUP/PROJECT on GitLab), as "
            f"--ci {opts.ci} names the templates' repository"
        )
    if not (_SOURCE.fullmatch(source) or _URL.fullmatch(source)):
        raise InitError(
            f"--source {source!r}: expected OWNER/REPO or a git URL such as "
            "https://host/OWNER/REPO.git"
        )
    if not _REF.fullmatch(ref) or ".." in ref:
        raise InitError(f"--ref {ref!r}: expected a commit SHA or a tag, e.g. 0123abc or v1.2.0")


def index_from(option: str | None) -> str | None:
    """Where init looks for a release: --index, else $MLTK_INDEX_URL, else PyPI; ``none``
    looks nowhere (the jobs install the git pin)."""
    value = option if option is not None else os.environ.get(INDEX_ENV, "").strip() or PYPI
    if value.strip().lower() in NO_INDEX:
        return None
    value = value.strip()
    folder = _folder(value) if value else None
    if not value or (folder is not None and not folder.is_dir()):
        raise InitError(
            f"--index {value!r} (or ${INDEX_ENV}): expected a package index URL "
            f"(default {PYPI}), a folder of wheels, or none (install from git)"
        )
    if folder is None and "@" in value.split("://", 1)[1].split("/", 1)[0]:
        raise InitError(
            f"--index {value.split('://', 1)[0]}://...@...: a URL with credentials would be "
            "written into the CI file; give it without them (pip reads them from .netrc)"
        )
    return value


def _folder(index: str) -> Path | None:
    if index.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(index).path))
    return None if "://" in index else Path(index)


def _release_file(version: str) -> re.Pattern[str]:
    # distribution file names normalise the project name to mlops_testkit
    return re.compile(
        rf"mlops[-_.]testkit-{re.escape(version)}(-[^/\s]+\.whl|\.tar\.gz|\.zip)", re.I
    )


def _simple_page(url: str) -> tuple[list[tuple[str, bool]], str]:
    """(file name, yanked) of the project's page of a simple index, and what went wrong
    ("" when the page was read; a 404 is an empty page)."""
    import urllib.error
    import urllib.request
    from html import unescape
    from http.client import HTTPException

    request = urllib.request.Request(
        url.rstrip("/") + f"/{PROJECT}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_S) as response:
            kind = response.headers.get_content_type()
            body = response.read(8_000_000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return [], "" if exc.code == 404 else f"HTTP {exc.code}"
    except (OSError, ValueError, HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        return [], f"unreachable: {reason}"
    if "json" in kind:
        try:
            files = json.loads(body).get("files", [])
        except (ValueError, AttributeError):
            return [], "not a simple index page"
        found = [(f.get("filename"), bool(f.get("yanked"))) for f in files if isinstance(f, dict)]
        return [(str(name), yanked) for name, yanked in found], ""
    anchors = re.findall(r"<a\b([^>]*)>([^<]*)</a>", body, re.I)
    return [(unescape(text).strip(), "data-yanked" in attrs) for attrs, text in anchors], ""


def lookup(index: str, version: str) -> tuple[bool, str]:
    """Whether ``mlops-testkit==version`` can be installed from ``index`` (a simple-index
    URL, or a folder of distributions as pip's --find-links reads it), and what was
    found. Unreachable, missing or yanked: False."""
    pattern = _release_file(version)
    folder = _folder(index)
    if folder is not None:
        try:
            names = [p.name for p in folder.iterdir() if p.is_file()]
        except OSError as exc:
            return False, f"{index} cannot be read ({exc.strerror or exc})"
        if any(pattern.fullmatch(name) for name in names):
            return True, f"release {version} in {index}"
        return False, f"no release {version} in {index}"
    files, problem = _simple_page(index)
    if problem:
        return False, f"{index} {problem}"
    if any(pattern.fullmatch(name) and not yanked for name, yanked in files):
        return True, f"release {version} on {index}"
    yanked = any(pattern.fullmatch(name) for name, _ in files)
    return (
        False,
        f"{'release ' + version + ' yanked' if yanked else 'no release ' + version} on {index}",
    )


def release_exists(index: str, version: str) -> bool:
    return lookup(index, version)[0]


def resolve_release(opts: Options) -> Options:
    """``opts`` with ``release`` set when the installed version is on ``opts.index``."""
    from dataclasses import replace

    from mlops_testkit import __version__

    if opts.install is not None or opts.release is not None or opts.index is None:
        return opts
    found, said = lookup(opts.index, __version__)
    return replace(opts, release=__version__ if found else None, index_said=said)


def _git_url(opts: Options, ci: str) -> str:
    source = opts.source or ""
    if ci == "gitlab":  # the include's project, on the same GitLab instance
        return f"git+${{CI_SERVER_URL}}/{source}.git"
    return f"git+https://github.com/{source}"


def kit_install(opts: Options, ci: str) -> str:
    """The pip arguments installing the kit: the pinned release, or the pinned commit."""
    if opts.release is not None:
        flags = ""
        folder = _folder(opts.index or PYPI)
        if folder is not None:
            flags = f"--find-links {_quote(str(folder))} "
        elif (opts.index or PYPI).rstrip("/") != PYPI:
            flags = f"--index-url {_quote(opts.index or PYPI)} "
        return f"{flags}'{PROJECT}[{EXTRAS}]=={opts.release}'"
    spec = f"{PROJECT}[{EXTRAS}] @ {_git_url(opts, ci)}@{opts.ref}"
    return f'"{spec}"' if "$" in spec else f"'{spec}'"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def install_command(opts: Options, ci: str) -> str:
    """What the test, train, deploy and monitor jobs run: --install, or the project's
    requirements.txt (when there is one) and the kit."""
    if opts.install is not None:
        return opts.install
    pip = PIP[ci]
    return REQUIREMENTS.format(pip=pip) + f"{pip} install {kit_install(opts, ci)}"


def lint_install(opts: Options, ci: str) -> str:
    """The lint job's install: the jobs' install, then pre-commit, whatever --install says."""
    return f"{install_command(opts, ci)}; {PIP[ci]} install pre-commit"


def describe(opts: Options) -> str:
    """One phrase for init's report: what the jobs install, and why."""
    if opts.install is not None:
        return "installs with --install (lint adds pre-commit)"
    if opts.release is not None:
        return f"installs the release {PROJECT}=={opts.release} ({opts.index_said or 'given'})"
    said = opts.index_said or "no index asked: --index none"
    return f"installs {PROJECT} from git at {opts.ref} ({said})"
