"""The CI part of ``mlops-testkit init``: a GitHub workflow calling the reusable
workflows, or a ``.gitlab-ci.yml`` include of the GitLab templates, filled with the
model name, the training command and the model paths."""

from __future__ import annotations

import re
from pathlib import Path

from mlops_testkit.ci.init_base import (
    GITLAB_STAGES,
    WORKFLOW,
    Change,
    InitError,
    Options,
    _checked_yaml,
    _read,
    _with_newline,
)
from mlops_testkit.ci.init_install import (
    describe,
    install_command,
    lint_install,
    resolve_release,
)

# --- CI -------------------------------------------------------------------------------


def _yaml_scalar(text: str) -> str:
    """A quoted YAML string: single quotes, or double quotes when the text holds single
    quotes (a shell command quoting its arguments) and nothing double quotes escape."""
    if "'" in text and not any(c in text for c in '"\\') and text.isprintable():
        return '"' + text + '"'
    return "'" + text.replace("'", "''") + "'"


def github_workflow(opts: Options) -> str:
    src, ref = opts.source, opts.ref
    install = f"install-command: {_yaml_scalar(install_command(opts, 'github'))}"
    lint = f"install-command: {_yaml_scalar(lint_install(opts, 'github'))}"

    def with_(*items: str, install: str = install) -> str:
        every = [*items, install]
        return "".join(["\n    with:", *(f"\n      {item}" for item in every)])

    name = f"model-name: {_yaml_scalar(opts.model_name or '')}"
    secrets = (
        "\n    secrets:\n      MLFLOW_TRACKING_URI: ${{ secrets.MLFLOW_TRACKING_URI }}"
        "\n      MLFLOW_TRACKING_TOKEN: ${{ secrets.MLFLOW_TRACKING_TOKEN }}"
    )
    # the deploy workflow signs the gate report and verifies it before promote when the
    # repository has this secret; unset, it arrives empty and the report is unsigned
    deploy_secrets = secrets + "\n      MLTK_GATE_KEY: ${{ secrets.MLTK_GATE_KEY }}"
    uses = f"{src}/.github/workflows"
    train = _yaml_scalar(opts.train_command or "")
    return f"""# Written by mlops-testkit init: the mlops-testkit reusable workflows, pinned to {ref}.
# Secrets: MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_TOKEN if the server needs one);
# MLTK_GATE_KEY, optional, signs the gate report (docs/gates.md, threat model).
# Model paths: mltk_model_paths in the pytest configuration (the one source of truth).
name: ml
on:
  pull_request:
  push:
    branches: [main]
  schedule:
    - cron: "0 3 * * 1"  # weekly: retrain, and the drift monitor
  workflow_dispatch:
    inputs:
      rollback:
        description: Move the champion back instead of training
        type: boolean
        default: false
permissions: {{}}
jobs:
  lint:
    if: ${{{{ !inputs.rollback }}}}
    uses: {uses}/mlops-lint.yml@{ref}
    permissions:
      contents: read{with_(install=lint)}
  test:
    if: ${{{{ !inputs.rollback }}}}
    uses: {uses}/mlops-test.yml@{ref}
    permissions:
      contents: read{with_()}
  train:
    if: ${{{{ github.event_name != 'pull_request' && !inputs.rollback }}}}
    needs: [test]
    uses: {uses}/mlops-train.yml@{ref}
    permissions:
      contents: read{with_(name, f"train-command: {train}")}{secrets}
  deploy:
    # a rollback dispatch skips train: !cancelled() keeps deploy from being skipped too
    if: ${{{{ !cancelled() && github.event_name != 'pull_request' && (inputs.rollback || needs.train.result == 'success') }}}}
    needs: [train]
    uses: {uses}/mlops-deploy.yml@{ref}
    permissions:
      contents: read{with_(name, "rollback: ${{ inputs.rollback || false }}")}{deploy_secrets}
  monitor:
    if: ${{{{ github.event_name == 'schedule' }}}}
    uses: {uses}/mlops-monitor.yml@{ref}
    permissions:
      contents: read
      actions: write  # dispatches this workflow (training) when drift is found{with_()}
"""


def github_change(opts: Options) -> Change:
    path = opts.root / WORKFLOW
    before = _read(path)  # a path of the wrong kind refuses before the index is asked
    opts = resolve_release(opts)
    after = github_workflow(opts)
    if before is not None and before != after:
        raise InitError(
            f"{WORKFLOW}:1: a workflow with this name exists and differs from what init "
            "would write; rename or remove it, or compare with init --dry-run in a fresh "
            "clone and merge by hand"
        )
    why = f"GitHub workflow for {opts.model_name}; {describe(opts)}"
    return _checked_yaml(Change(WORKFLOW, before, after, why))


def gitlab_include(opts: Options) -> list[str]:
    inst = f"      install: {_yaml_scalar(install_command(opts, 'gitlab'))}\n"
    lint = f"      install: {_yaml_scalar(lint_install(opts, 'gitlab'))}\n"

    def entry(name: str, inputs: str = "") -> str:
        return (
            f"  - project: {_yaml_scalar(opts.source or '')}\n"
            f"    ref: {_yaml_scalar(opts.ref or '')}\n"
            f"    file: gitlab_templates/{name}.yml\n"
            "    inputs:\n" + inputs + (lint if name == "lint" else inst)
        )

    model = f"      model_name: {_yaml_scalar(opts.model_name or '')}\n"
    return [
        entry("lint"),
        entry("test"),
        entry("train", model + f"      train_command: {_yaml_scalar(opts.train_command or '')}\n"),
        entry("deploy", model),
        entry("monitor"),
    ]


def gitlab_change(opts: Options) -> Change:
    path = opts.root / ".gitlab-ci.yml"
    before = _read(path)
    opts = resolve_release(opts)
    block = gitlab_include(opts)
    why = f"GitLab include for {opts.model_name}; {describe(opts)}"
    if before is None:
        text = (
            "# mlops-testkit templates (mlops-testkit init); model paths: mltk_model_paths in\n"
            "# the pytest configuration. CI/CD variable: MLFLOW_TRACKING_URI (masked, protected)\n"
            f"stages: [{', '.join(GITLAB_STAGES)}]\ninclude:\n" + "".join(block)
        )
        return _checked_yaml(Change(Path(".gitlab-ci.yml"), None, text, why))
    if "gitlab_templates/" in before:
        ours = "".join(block)
        if ours in before:
            return Change(Path(".gitlab-ci.yml"), before, before, why)
        at = next(i for i, line in enumerate(before.splitlines()) if "gitlab_templates/" in line)
        raise InitError(
            f".gitlab-ci.yml:{at + 1}: already includes mlops-testkit templates, with other "
            "inputs than init writes; edit that include by hand"
        )
    lines = _with_newline(before).splitlines(keepends=True)
    stages = next((i for i, line in enumerate(lines) if line.startswith("stages:")), None)
    if stages is not None:
        rest = "".join(lines[stages : stages + 1 + len(GITLAB_STAGES) + 10])
        named = set(re.findall(r"[\w-]+", rest.split("\n", 1)[0].split(":", 1)[1]))
        if not named:  # a block list
            named = {
                m.group(1)
                for line in lines[stages + 1 :]
                if (m := re.match(r"\s+-\s*([\w-]+)", line))
            }
        lacking = [s for s in GITLAB_STAGES if s not in named]
        if lacking:
            raise InitError(
                f".gitlab-ci.yml:{stages + 1}: stages lacks {', '.join(lacking)}, the stages "
                "of the mlops-testkit jobs: add them in pipeline order and run init again"
            )
    else:
        lines.insert(0, f"stages: [{', '.join(GITLAB_STAGES)}]\n")
    inc = next((i for i, line in enumerate(lines) if re.match(r"include:\s*(#.*)?$", line)), None)
    if inc is None:
        if any(line.startswith("include:") for line in lines):
            at = next(i for i, line in enumerate(lines) if line.startswith("include:"))
            raise InitError(
                f".gitlab-ci.yml:{at + 1}: include is not a block list; make it one "
                "(include:, then one `- ...` per line) and run init again"
            )
        if lines[-1].strip():
            lines.append("\n")
        lines += ["include:\n", *block]
    else:
        end = len(lines)
        for i in range(inc + 1, len(lines)):
            if lines[i].strip() and not lines[i].startswith((" ", "\t", "-", "#")):
                end = i
                break
        while end > inc + 1 and not lines[end - 1].strip():
            end -= 1
        lines[end:end] = block
    return _checked_yaml(Change(Path(".gitlab-ci.yml"), before, "".join(lines), why))
