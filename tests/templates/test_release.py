"""The release workflow: the linters (actionlint, zizmor --offline, also with its pedantic
persona, GitHub's schema) and the rules of a safe release that they do not check: a `v*`
tag builds once, the files built are the files attested and published, only the publish
job can mint an OIDC token and it runs no code of the repository, trusted publishing (no
password), every action pinned to the commit of the release its comment names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
BIN = Path(sys.executable).parent
# The commit each pinned release tag points at, read from the actions' repositories
# (`git rev-parse TAG^{commit}`); a bump changes the pin, its comment and this table.
# pypa/gh-action-pypi-publish >= v1.14.0 carries the fix for GHSA-vxmw-7h4f-hqxh.
PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "actions/attest-build-provenance": ("a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32", "v4.1.0"),
    "pypa/gh-action-pypi-publish": ("ba38be9e461d3875417946c167d0b5f3d385a247", "v1.14.1"),
}


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: make install (the dev extra)")
    return str(path)


def load() -> dict:
    data = yaml.safe_load(RELEASE.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as True
        data["on"] = data.pop(True)
    return data


def uses(job: dict) -> list[str]:
    return [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]


def test_actionlint() -> None:
    out = subprocess.run([tool("actionlint"), str(RELEASE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor(persona: str) -> None:
    out = subprocess.run(
        [tool("zizmor"), "--offline", f"--persona={persona}", str(RELEASE)],
        capture_output=True,
        text=True,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0 and "No findings to report" in text, text


def test_github_schema() -> None:
    out = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(RELEASE)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_version_tag_builds_once_and_publishes_what_it_built() -> None:
    doc = load()
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    assert doc["permissions"] == {}
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    assert set(doc["jobs"]) == {"build", "publish"} and publish["needs"] == "build"
    runs = [s.get("run", "") for job in doc["jobs"].values() for s in job["steps"]]
    assert sum("python -m build" in r for r in runs) == 1
    assert "actions/upload-artifact" in uses(build)
    artifact = next(s for s in build["steps"] if "upload-artifact" in s.get("uses", ""))
    download = next(s for s in publish["steps"] if "download-artifact" in s.get("uses", ""))
    assert artifact["with"]["name"] == download["with"]["name"]
    assert artifact["with"]["if-no-files-found"] == "error"
    assert "twine check --strict" in "\n".join(runs) and "check-wheel-contents" in "\n".join(runs)
    for job in doc["jobs"].values():
        assert "timeout-minutes" in job
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step


def test_only_the_publish_job_mints_a_token_and_it_runs_no_repository_code() -> None:
    doc = load()
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write", "attestations": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert all("run" not in s for s in publish["steps"])
    assert uses(publish) == [
        "actions/download-artifact",
        "actions/attest-build-provenance",
        "pypa/gh-action-pypi-publish",
    ]
    attest = next(s for s in publish["steps"] if "attest-build-provenance" in s["uses"])
    assert attest["with"]["subject-path"] == "dist/*"
    pypi = next(s for s in publish["steps"] if "gh-action-pypi-publish" in s["uses"])
    assert not {"user", "password"} & set(pypi.get("with", {})), "trusted publishing: no password"
    checkout = next(s for s in build["steps"] if "actions/checkout" in s.get("uses", ""))
    assert checkout["with"]["persist-credentials"] is False


def test_every_action_is_pinned_to_the_commit_of_its_release() -> None:
    lines = [line for line in RELEASE.read_text().splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        match = re.search(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)$", line)
        assert match, f"not pinned to a full commit SHA with its tag in a comment: {line}"
        action, sha, tag = match.groups()
        assert PINS.get(action) == (sha, tag), f"{action}@{sha} # {tag}: not the known pin"


@pytest.mark.parametrize("tag_is_version", [True, False])
def test_the_tag_must_be_the_package_version(tmp_path: Path, tag_is_version: bool) -> None:
    step = next(s for s in load()["jobs"]["build"]["steps"] if "version" in s.get("name", ""))
    version = re.search(
        r'^__version__ = "([^"]+)"', (ROOT / "mlops_testkit" / "__init__.py").read_text(), re.M
    )
    assert version
    tag = f"v{version.group(1)}" if tag_is_version else "v0.0.0-not-this"
    out = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=ROOT,
        env={"GITHUB_REF_NAME": tag, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert (out.returncode == 0) is tag_is_version, out.stdout + out.stderr
