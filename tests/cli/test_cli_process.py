"""`runner process` end to end: real repositories, the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import branches, git, issue, latest_report, user_state

pytestmark = pytest.mark.timeout(180)

HOSTILE_TITLES = [
    "{{ 7*7 }} and {% include '/etc/passwd' %}",
    "../../../etc/passwd",
    "--upload-pack=touch /tmp/pwned",
    "$(rm -rf ~); `id` | cat /etc/shadow",
    "bell\x07 and escape\x1b[31m red \x00 nul",
    "ログインできない 🚀 セッション",
    "לא ניתן להתחבר עם עוגייה שפג תוקפה",
]


def dirty(repo: Path) -> None:
    """A working tree a user is in the middle of: a stash, staged and unstaged edits, untracked files."""
    (repo / "README.md").write_text("# stashed edit\n")
    git(repo, "stash", "push", "-q", "-m", "user stash")
    (repo / "app/search.py").write_text("# staged edit\n")
    git(repo, "add", "app/search.py")
    (repo / "docs/index.md").write_text("unstaged edit\n")
    (repo / "scratch.txt").write_text("untracked\n")


def sample_issues() -> list[dict]:
    items = [
        issue(
            1, "Login crashes with expired session", "Traceback in app/auth/session.py create_session", ["bug", "P0"]
        ),
        issue(2, "Export CSV is slow for big tables", "export_csv takes minutes", [{"name": "performance"}]),
        issue(3, "SQL injection in search", None, [{"name": "security"}, {"name": "priority: critical"}]),
        issue(4, "Fix typo in docs", "docs/index.md says CVS", ["docs", "p3"]),
        {"number": 5, "title": "A pull request", "pull_request": {"url": "x"}},
    ]
    items += [issue(10 + i, title, "body " + title) for i, title in enumerate(HOSTILE_TITLES)]
    return items


def test_process_commits_one_branch_per_issue_and_leaves_user_state_alone(
    make_repo, write_issues, runner_cli, tmp_path
):
    repo = make_repo()
    dirty(repo)
    before = user_state(repo)
    items = sample_issues()
    result = runner_cli("process", str(write_issues(items)), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    assert user_state(repo) == before
    valid = [i for i in items if "pull_request" not in i]
    made = branches(repo)
    assert set(made) == {f"runner/issue-{i['number']}" for i in valid}
    for item in valid:
        n = item["number"]
        plan = git(repo, "show", f"runner/issue-{n}:.runner/issues/{n}/PLAN.md")
        assert f"Closes #{n}" in plan
        parent = git(repo, "rev-parse", f"runner/issue-{n}^")
        assert parent == before["head_commit"]
        assert git(repo, "log", "-1", "--format=%an <%ae>", f"runner/issue-{n}") == "runner <runner@localhost>"
    report = latest_report(tmp_path / "reports")
    assert report["totals"] == {
        "read": len(items),
        "skipped": 1,
        "invalid": 0,
        "succeeded": len(valid),
        "failed": 0,
        "deferred": 0,
    }
    statuses = {r["number"]: r for r in report["issues"]}
    assert statuses[1]["priority"] == "Critical" and statuses[1]["kind"] == "bug"
    assert statuses[3]["kind"] == "security" and statuses[3]["priority"] == "Critical"
    assert statuses[4]["priority"] == "Low"
    assert all(r["status"] == "committed" and r["commit"] == made[r["branch"]] for r in report["issues"])
    assert (tmp_path / "reports" / f"{report['run_id']}.md").is_file()


def test_hostile_issue_text_stays_data(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    items = [issue(10 + i, title, title) for i, title in enumerate(HOSTILE_TITLES)]
    result = runner_cli("process", str(write_issues(items)), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    assert not Path("/tmp/pwned").exists()
    plan = git(repo, "show", "runner/issue-10:.runner/issues/10/PLAN.md")
    assert "{{ 7*7 }}" in plan and "{% include '/etc/passwd' %}" in plan and "49" not in plan
    assert "root:" not in plan
    control = git(repo, "show", "runner/issue-14:.runner/issues/14/PLAN.md")
    assert "\x1b" not in control and "\x07" not in control and "\x00" not in control
    rtl = git(repo, "show", "runner/issue-16:.runner/issues/16/PLAN.md")
    assert HOSTILE_TITLES[6] in rtl
    tracked = git(repo, "ls-tree", "-r", "--name-only", "runner/issue-11").splitlines()
    assert all(not p.startswith("..") and "etc/passwd" not in p for p in tracked)


def test_rerun_is_a_no_op_and_a_changed_issue_adds_one_commit(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    items = [issue(1, "Login crashes", "in app/auth/login.py"), issue(2, "Export is slow", "export_csv")]
    path = write_issues(items)
    assert runner_cli("process", str(path), "--repo", str(repo)).returncode == 0
    first = branches(repo)
    again = runner_cli("process", str(path), "--repo", str(repo))
    assert again.returncode == 0
    assert branches(repo) == first
    assert {r["status"] for r in latest_report(tmp_path / "reports")["issues"]} == {"unchanged"}
    items[1]["body"] = "export_csv takes ten minutes for 1M rows"
    assert runner_cli("process", str(write_issues(items)), "--repo", str(repo)).returncode == 0
    now = branches(repo)
    assert now["runner/issue-1"] == first["runner/issue-1"]
    assert git(repo, "rev-parse", "runner/issue-2^") == first["runner/issue-2"]
    assert "ten minutes" in git(repo, "show", "runner/issue-2:.runner/issues/2/PLAN.md")


def test_malformed_file_is_rejected_before_anything_is_written(make_repo, tmp_path, runner_cli):
    repo = make_repo()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(issue(1, "fine")) + "\n" + json.dumps(issue(2, "fine")) + '\n{"number": 3, "title": }\n')
    result = runner_cli("process", str(bad), "--repo", str(repo))
    assert result.returncode == 2
    assert "line 3, column" in result.stderr.decode()
    assert branches(repo) == {}
    array = tmp_path / "bad.json"
    array.write_text('[\n  {"number": 1, "title": "a"},\n  {"number": 2 "title": "b"}\n]')
    result = runner_cli("process", str(array), "--repo", str(repo))
    assert result.returncode == 2 and "line 3, column" in result.stderr.decode()
    assert branches(repo) == {}


def test_invalid_items_duplicates_and_pull_requests_are_reported(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    items = [
        issue(1, "first version"),
        {"number": "7", "title": "string number"},
        {"number": 8, "title": None},
        ["not", "an", "object"],
        {"number": 9, "title": "pr", "pull_request": {}},
        issue(2, "no body", None),
        issue(1, "second version wins"),
        issue(3, "big body", "x " * 500_000),
    ]
    result = runner_cli("process", str(write_issues(items, lines=True)), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert report["totals"]["read"] == 8
    assert report["totals"]["invalid"] == 3
    assert [i["position"] for i in report["invalid"]] == [2, 3, 4]
    assert "number" in report["invalid"][0]["reason"] and report["invalid"][0]["line"] == 2
    reasons = {s["position"]: s["reason"] for s in report["skipped"]}
    assert reasons[5] == "pull request" and "superseded" in reasons[1]
    assert sorted(r["number"] for r in report["issues"]) == [1, 2, 3]
    assert "second version wins" in git(repo, "show", "runner/issue-1:.runner/issues/1/PLAN.md")


def test_stdin_json_lines_and_dry_run(make_repo, runner_cli, tmp_path):
    repo = make_repo()
    data = "".join(json.dumps(issue(n, f"Issue {n} login")) + "\n" for n in range(1, 6)).encode()
    dry = runner_cli("process", "-", "--repo", str(repo), "--dry-run", input=data)
    assert dry.returncode == 0, dry.stderr.decode()
    assert branches(repo) == {}
    report = latest_report(tmp_path / "reports")
    assert report["dry_run"] is True and report["totals"]["succeeded"] == 5
    real = runner_cli("process", "-", "--repo", str(repo), "--workers", "1", input=data)
    assert real.returncode == 0
    assert len(branches(repo)) == 5


def test_several_repositories_and_an_unmapped_one(make_repo, write_issues, runner_cli, tmp_path):
    one, two = make_repo("one"), make_repo("two")
    url = "https://api.github.com/repos/{}"
    items = [
        issue(1, "in one", repository_url=url.format("acme/one")),
        issue(1, "also number one, other repo", repository_url=url.format("acme/two")),
        issue(2, "nobody maps this", repository_url=url.format("acme/three")),
    ]
    path = write_issues(items)
    result = runner_cli("process", str(path), "--repo", f"acme/one={one}", "--repo", f"Acme/Two={two}")
    assert result.returncode == 0, result.stderr.decode()
    assert set(branches(one)) == {"runner/issue-1"} and set(branches(two)) == {"runner/issue-1"}
    assert "other repo" in git(two, "show", "runner/issue-1:.runner/issues/1/PLAN.md")
    report = latest_report(tmp_path / "reports")
    assert sorted(r["number"] for r in report["issues"]) == [1, 1] and report["totals"]["skipped"] == 1
    [skipped] = report["skipped"]
    assert skipped["number"] == 2 and "acme/three is not configured" in skipped["reason"]
    assert "--repo acme/three=PATH" in skipped["reason"]


def test_usage_errors_exit_2(make_repo, write_issues, runner_cli, tmp_path):
    path = write_issues([issue(1, "a")])
    assert runner_cli("process", str(path), "--repo", str(tmp_path / "missing")).returncode == 2
    not_git = tmp_path / "plain"
    not_git.mkdir()
    assert runner_cli("process", str(path), "--repo", str(not_git)).returncode == 2
    repo = make_repo()
    assert runner_cli("process", str(tmp_path / "nope.json"), "--repo", str(repo)).returncode == 2
    assert runner_cli("process", str(path), "--repo", str(repo), "--branch-prefix", "--x").returncode == 2
    assert runner_cli("process", str(path), "--repo", str(repo), "--workers", "0").returncode == 2


def test_a_second_run_on_the_same_state_dir_exits_75(make_repo, write_issues, runner_cli, tmp_path):
    from filelock import FileLock

    repo = make_repo()
    path = write_issues([issue(1, "a")])
    state = tmp_path / "state"
    state.mkdir()
    (state / "run.pid").write_text("4242\n")
    with FileLock(str(state / "run.lock")):
        result = runner_cli("process", str(path), "--repo", str(repo))
    assert result.returncode == 75
    assert "4242" in result.stderr.decode()
    assert runner_cli("process", str(path), "--repo", str(repo)).returncode == 0


def test_custom_templates_identity_prefix_and_config_file(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    templates = tmp_path / "tpl" / "default"
    templates.mkdir(parents=True)
    (templates / "PLAN.md.j2").write_text("Custom plan {{ issue.number }}: {{ issue.title }}\n")
    (templates / "NOTES.md.j2").write_text("notes for {{ kind }}\n")
    (tmp_path / "runner.toml").write_text(
        '[runner]\nbranch_prefix = "work/gh-"\nauthor_name = "Bot"\nauthor_email = "bot@example.com"\n'
        f'templates = "{tmp_path / "tpl"}"\n[triage]\ndefault_priority = "low"\n'
    )
    result = runner_cli("process", str(write_issues([issue(7, "Plain words")])), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    assert set(branches(repo, "work/")) == {"work/gh-7"}
    assert git(repo, "show", "work/gh-7:.runner/issues/7/PLAN.md") == "Custom plan 7: Plain words"
    assert git(repo, "show", "work/gh-7:.runner/issues/7/NOTES.md") == "notes for chore"
    assert git(repo, "log", "-1", "--format=%an <%ae>", "work/gh-7") == "Bot <bot@example.com>"
    assert latest_report(tmp_path / "reports")["issues"][0]["priority"] == "Low"


def test_report_fields_and_timestamps(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    runner_cli("process", str(write_issues([issue(1, "Login crash", "app/auth/login.py")])), "--repo", str(repo))
    report = latest_report(tmp_path / "reports")
    for key in (
        "run_id",
        "started_at",
        "finished_at",
        "exit_code",
        "totals",
        "issues",
        "invalid",
        "metrics",
        "scaling_history",
        "breaker_events",
    ):
        assert key in report
    record = report["issues"][0]
    for key in (
        "number",
        "title",
        "priority",
        "kind",
        "status",
        "branch",
        "commit",
        "pull_request",
        "attempts",
        "started_at",
        "finished_at",
        "latency_s",
        "error",
    ):
        assert key in record
    import re

    iso_ms = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    assert iso_ms.match(report["started_at"]) and iso_ms.match(record["finished_at"])
    assert record["related"][0] == "app/auth/login.py"
    assert report["metrics"]["latency_s"]["count"] == 1
    assert os.path.basename(record["branch"]) == "issue-1"


def test_one_worker_completes_in_priority_order(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    labels = ["p3", "p1", "p2", "critical", "p3", "p2", "p1", "critical", "p2", "p3", "critical", "p1"]
    items = [issue(n + 1, f"Issue {n + 1}", "plain words", [label]) for n, label in enumerate(labels)]
    result = runner_cli("process", str(write_issues(items)), "--repo", str(repo), "--workers", "1")
    assert result.returncode == 0, result.stderr.decode()
    order = [r["number"] for r in latest_report(tmp_path / "reports")["issues"]]
    rank = {"critical": 0, "p1": 1, "p2": 2, "p3": 3}
    expected = sorted(range(1, 13), key=lambda n: (rank[labels[n - 1]], n))
    assert order == expected


def from_the_checkout(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The README's usage: `runner process issues.json --repo .`, run inside the user's checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    return subprocess.run(
        [sys.executable, "-m", "runner", "process", *args], capture_output=True, cwd=repo, env=env, timeout=120
    )


def test_reports_and_fixer_logs_stay_out_of_the_checkout_a_run_starts_in(make_repo, write_issues, tmp_path):
    repo = make_repo()
    dirty(repo)
    before = user_state(repo)
    path = write_issues([issue(1, "Login fails", "app/auth/login.py"), issue(2, "Export is slow")])
    dry = from_the_checkout(repo, tmp_path, str(path), "--repo", ".", "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    fixed = from_the_checkout(repo, tmp_path, str(path), "--repo", ".", "--command", f"{sys.executable} -c pass")
    assert fixed.returncode == 0, fixed.stderr.decode()
    assert user_state(repo) == before
    reports = tmp_path / "xdg-state" / "runner" / "reports"
    assert len(list(reports.glob("*.json"))) == 2 and len(list(reports.glob("*.md"))) == 2
    logs = [p for p in reports.glob("*-logs/*.log")]
    assert len(logs) == 2
    status = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--state-dir", str(reports.parent)],
        capture_output=True,
        cwd=tmp_path,
    )
    assert f"report: {reports}" in status.stdout.decode()


def test_a_report_dir_inside_the_checkout_is_refused_unless_allowed(make_repo, write_issues, tmp_path):
    repo = make_repo()
    before = user_state(repo)
    path = write_issues([issue(1, "Login fails")])
    refused = from_the_checkout(repo, tmp_path, str(path), "--repo", ".", "--report-dir", "reports")
    err = refused.stderr.decode()
    assert refused.returncode == 2, err
    assert f"the report directory {repo / 'reports'} is inside the working tree {repo}" in err
    assert "--allow-report-in-repo" in err and "Traceback" not in err
    assert user_state(repo) == before and branches(repo) == {}
    allowed = from_the_checkout(
        repo, tmp_path, str(path), "--repo", ".", "--report-dir", "reports", "--allow-report-in-repo"
    )
    assert allowed.returncode == 0, allowed.stderr.decode()
    assert len(list((repo / "reports").glob("*.json"))) == 1 and set(branches(repo)) == {"runner/issue-1"}


@pytest.mark.parametrize("lines", [True, False], ids=["lines", "array"])
def test_an_issue_number_beyond_64_bits_is_listed_invalid(make_repo, runner_cli, tmp_path, lines):
    repo = make_repo()
    items = [issue(1, "one"), issue(2**63, "two to the 63rd"), issue(2**70, "two to the 70th"), issue(3, "three")]
    path = tmp_path / "issues.json"
    content = "".join(json.dumps(i) + "\n" for i in items) if lines else json.dumps(items, indent=1)
    path.write_text(content)
    starts = [n + 1 for n, text in enumerate(content.splitlines()) if text.startswith("{") or text == " {"]
    result = runner_cli("process", str(path), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    assert set(branches(repo)) == {"runner/issue-1", "runner/issue-3"}
    report = latest_report(tmp_path / "reports")
    assert report["totals"]["invalid"] == 2 and report["totals"]["succeeded"] == 2
    assert [(i["position"], i["line"], i["reason"]) for i in report["invalid"]] == [
        (2, starts[1], f"'number' must be at most 9223372036854775807 (2**63 - 1), got {2**63}"),
        (3, starts[2], f"'number' must be at most 9223372036854775807 (2**63 - 1), got {2**70}"),
    ]


@pytest.mark.parametrize("lines", [True, False], ids=["lines", "array"])
def test_lone_surrogate_escapes_are_replaced_and_the_run_goes_on(make_repo, runner_cli, tmp_path, lines):
    repo = make_repo()
    items = [
        issue(10, "ok before"),
        issue(11, "lone \ud800 surrogate", "cut \udc00 pair", ["bug", {"name": "x\udfff"}]),
        issue(12, "ok after"),
    ]
    path = tmp_path / "issues.json"
    path.write_text("".join(json.dumps(i) + "\n" for i in items) if lines else json.dumps(items))  # \ud800 escapes
    result = runner_cli("process", str(path), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    assert set(branches(repo)) == {"runner/issue-10", "runner/issue-11", "runner/issue-12"}
    report = latest_report(tmp_path / "reports")
    assert report["totals"]["succeeded"] == 3 and report["invalid"] == []
    assert {r["number"]: r["title"] for r in report["issues"]}[11] == "lone \ufffd surrogate"
    plan = git(repo, "show", "runner/issue-11:.runner/issues/11/PLAN.md")
    assert "lone \ufffd surrogate" in plan and "cut \ufffd pair" in plan
    assert sorted(p.suffix for p in (tmp_path / "reports").iterdir()) == [".json", ".md"]


DEEP = '{"number": 2, "title": "deep", "x": ' + "[" * 20_000 + "]" * 20_000 + "}"


@pytest.mark.parametrize(
    "name, content, where, what",
    [
        (
            "control.json",
            '[{"number": 1, "title": "raw \x01 control"}]',
            "line 1, column 30",
            "Invalid control character",
        ),
        (
            "control.jsonl",
            '{"number": 1, "title": "raw \x01 control"}\n',
            "line 1, column 29",
            "Invalid control character",
        ),
        (
            "deep.json",
            '[{"number": 1, "title": "ok"},\n' + DEEP + "]",
            "line 2, column 100",
            "nested more than 64 levels",
        ),
        (
            "deep.jsonl",
            '{"number": 1, "title": "ok"}\n' + DEEP + "\n",
            "line 2, column 100",
            "nested more than 64 levels",
        ),
    ],
)
def test_unreadable_input_exits_2_saying_where_and_writes_nothing(
    make_repo, runner_cli, tmp_path, name, content, where, what
):
    repo = make_repo()
    path = tmp_path / name
    path.write_text(content)
    result = runner_cli("process", str(path), "--repo", str(repo))
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert f"{path}: {where}: invalid JSON ({what}" in stderr
    assert "Traceback" not in stderr
    assert branches(repo) == {}
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
