"""The GitHub Action (`action.yml`) and its example workflow, run the way a workflow runs them:
each `run:` step with bash, after the `${{ ... }}` expressions are evaluated as the Actions
runner would, against the GitHub emulator. The `venv` input points the install step at this
test's own environment instead of installing runner again."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GH_REPO, git

from runner.cli.action import action_argv, succeeded

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
WORKFLOW_TOKEN = "ghs_workflow_token_0123456789abcdefSECRET"
CONFIG = """[runner]
commit_plan = true
[repos]
"acme/inventory" = "."
[github]
publish = "pr"
content_per_minute = 1000
secondary_wait = 1
write_interval = 0
notify_interval = 0
"""


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads a bare `on` as true
    return document


class Context:
    """The expression contexts a step sees: inputs, github, env, runner, steps."""

    def __init__(self, github: dict[str, str], env: dict[str, str], runner: dict[str, str]) -> None:
        self.values: dict[str, Any] = {"github": github, "env": env, "runner": runner, "inputs": {}, "steps": {}}

    def lookup(self, ref: str) -> str:
        node: Any = self.values
        for part in ref.split("."):
            assert isinstance(node, dict) and part in node, f"unknown expression {ref!r}"
            node = node[part]
        return node if isinstance(node, str) else json.dumps(node)

    def evaluate(self, expression: str) -> str:
        if " == " in expression:
            left, right = (self.lookup(side.strip()) for side in expression.split(" == "))
            return "true" if left == right else "false"
        return self.lookup(expression)

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda match: self.evaluate(match.group(1)), str(text))


def read_outputs(path: Path) -> dict[str, str]:
    """`name=value` and `name<<DELIMITER ... DELIMITER` lines, as the Actions runner reads them."""
    outputs, lines = {}, path.read_text().splitlines() if path.exists() else []
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter)
            outputs[name], lines = "\n".join(lines[:end]), lines[end + 1 :]
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_action(
    given: dict[str, str], context: Context, workspace: Path, env: dict[str, str], scratch: Path
) -> tuple[int, dict[str, str]]:
    """Every step of the composite action in order, as the runner does; the first failing step
    ends it. Returns that step's exit code (0 when all passed) and the action's outputs."""
    action = load(ROOT / "action.yml")
    context.values["inputs"] = {
        name: context.substitute(spec.get("default", "")) for name, spec in action["inputs"].items()
    }
    unknown = set(given) - set(action["inputs"])
    assert not unknown, f"not inputs of the action: {unknown}"
    context.values["inputs"].update({name: context.substitute(value) for name, value in given.items()})
    context.values["steps"] = {}
    for number, step in enumerate(action["runs"]["steps"]):
        assert step["shell"] == "bash" and "${{" not in step["run"], "inputs reach scripts through env only"
        script, output = scratch / f"step-{number}.sh", scratch / f"step-{number}.out"
        script.write_text(step["run"])
        step_env = {
            **env,
            "GITHUB_OUTPUT": str(output),
            **{name: context.substitute(value) for name, value in step.get("env", {}).items()},
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        (scratch / f"step-{number}.log").write_text(done.stdout + done.stderr)
        if "id" in step:
            context.values["steps"][step["id"]] = {"outputs": read_outputs(output)}
        if done.returncode:
            return done.returncode, {}
    return 0, {name: context.substitute(spec["value"]) for name, spec in action["outputs"].items()}


def job(world, workspace: Path, tmp_path: Path, name: str) -> tuple[int, dict[str, str], Path]:
    """One job of the example workflow: its `with:` for the action, the workflow's token."""
    workflow = load(ROOT / "examples" / "workflows" / "nightly.yml")
    [step] = [s for s in workflow["jobs"]["nightly"]["steps"] if s.get("id") == "runner"]
    scratch = tmp_path / name
    scratch.mkdir()
    home, temp = tmp_path / "home", scratch / "temp"
    temp.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))},
        "HOME": str(home),
        "RUNNER_TEMP": str(temp),
        "GITHUB_API_URL": world.url,
        "GITHUB_STEP_SUMMARY": str(scratch / "summary.md"),
        "GITHUB_WORKSPACE": str(workspace),
    }
    env.pop("XDG_STATE_HOME", None)
    context = Context(
        {"action_path": str(ROOT), "token": WORKFLOW_TOKEN, "repository": GH_REPO, "run_id": "1", "run_attempt": "1"},
        {"STATE_DIR": workflow["env"]["STATE_DIR"]},
        {"temp": str(temp)},
    )
    code, outputs = run_action({**step["with"], "venv": sys.prefix}, context, workspace, env, scratch)
    return code, outputs, scratch


def test_the_example_workflow_publishes_and_its_next_run_builds_on_the_last(github_world, tmp_path):
    world = github_world(logins={WORKFLOW_TOKEN: "github-actions[bot]"})
    world.seed(2)
    (world.clone / "runner.toml").write_text(CONFIG)

    code, outputs, scratch = job(world, world.clone, tmp_path, "first")
    log = "".join(p.read_text() for p in sorted(scratch.glob("*.log")))
    assert code == 0, log
    pulls = list(world.client().get_repo(GH_REPO).get_pulls(state="all"))
    assert len(pulls) == 2 and all(p.draft and p.user.login == "github-actions[bot]" for p in pulls)
    assert outputs["exit-code"] == "0" and outputs["run-id"]
    report = json.loads(Path(outputs["report"]).read_text())
    assert report["run_id"] == outputs["run-id"]
    assert Path(outputs["report"]).parent == scratch / "temp" / "runner-reports"
    assert json.loads(outputs["summary"])["by_status"] == {"published": 2}
    assert f"nightly {outputs['run-id']}: exit 0" in (scratch / "summary.md").read_text()
    assert (tmp_path / "home" / ".local" / "state" / "runner" / "journal.sqlite").is_file()
    assert WORKFLOW_TOKEN not in log + json.dumps(outputs) + (scratch / "summary.md").read_text()

    # The next night is a new job: a fresh checkout (with its remote-tracking branches), the
    # state directory back from the cache, and an issue edited since.
    world.client().get_repo(GH_REPO).get_issue(1).edit(body="Login fails in app/auth/session.py now")
    fresh = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(world.bare), str(fresh))
    (fresh / "runner.toml").write_text(CONFIG)
    code, outputs, scratch = job(world, fresh, tmp_path, "second")
    assert code == 0, "".join(p.read_text() for p in sorted(scratch.glob("*.log")))
    summary = json.loads(outputs["summary"])
    assert summary["by_status"] == {"published": 1} and summary["totals"]["failed"] == 0
    assert len(list(world.client().get_repo(GH_REPO).get_pulls(state="all"))) == 2
    history = git(world.bare, "log", "--format=%s", "runner/issue-1").splitlines()
    assert len(history) == 4, history  # two of runner's commits on the two of main


def test_inputs_become_arguments_and_never_a_shell_string():
    env = {
        "INPUT_COMMAND": "process",
        "INPUT_REPOSITORY": "acme/api",
        "INPUT_PATH": ".",
        "INPUT_ISSUES": "issues.json",
        "INPUT_LABELS": "bot, needs-review\nnight",
        "INPUT_ARGS": "--workers 2 --author-name 'Issue Bot' $(id)",
        "INPUT_PUBLISH": "triage",
        "INPUT_WORKFLOW_TOKEN": "true",
        "INPUT_STATE_DIR": "~/state",
    }
    assert action_argv(env) == [
        "process",
        "issues.json",
        "--repo",
        ".",
        "--github",
        "acme/api",
        "--state-dir",
        "~/state",
        "--publish",
        "triage",
        "--login",
        "github-actions[bot]",
        "--label",
        "bot",
        "--label",
        "needs-review",
        "--label",
        "night",
        "--workers",
        "2",
        "--author-name",
        "Issue Bot",
        "$(id)",
        "--json",
    ]
    assert action_argv({"INPUT_WORKFLOW_TOKEN": "false", "INPUT_CONFIG": "ci/runner.toml"}) == [
        "nightly",
        "--config",
        "ci/runner.toml",
        "--json",
    ]
    assert succeeded(3, {}) and succeeded(75, {}) and not succeeded(1, {})
    assert not succeeded(3, {"INPUT_SUCCESS_CODES": "0"})


def test_the_example_workflow_is_scheduled_serialized_and_keeps_its_state():
    workflow = load(ROOT / "examples" / "workflows" / "nightly.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write", "issues": "write"}
    assert "${{ github.repository }}" in workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["nightly"]["steps"]
    restore = next(s for s in steps if s["uses"].startswith("actions/cache/restore@"))
    save = next(s for s in steps if s["uses"].startswith("actions/cache/save@"))
    runner = next(s for s in steps if s.get("id") == "runner")
    assert restore["with"]["path"] == save["with"]["path"] == runner["with"]["state-dir"]
    assert "${{ github.run_id }}" in save["with"]["key"] and save["with"]["key"] == restore["with"]["key"]
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"].strip())
    assert save["if"] == "always()"
    assert steps.index(restore) < steps.index(runner) < steps.index(save)
