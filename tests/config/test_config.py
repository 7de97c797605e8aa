"""runner.config: runner.toml plus command-line options, validated once into a Config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.config import Config, ConfigError, build_config
from runner.core.models import Identity, Priority


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in an empty directory with a private state home, so no real runner.toml leaks in."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return cwd


def write_toml(tmp_path: Path, text: str, name: str = "conf/runner.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def config_from(options: dict[str, Any] | None = None, path: Path | None = None) -> Config:
    return build_config(options or {}, path)


def config_error(options: dict[str, Any] | None = None, path: Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        build_config(options or {}, path)
    return str(caught.value)


# --- defaults and the file --------------------------------------------------------------------


def test_defaults_without_file_or_options(tmp_path: Path, isolated: Path) -> None:
    config = config_from()
    assert config.repos == {} and config.default_repo is None
    assert config.branch_prefix == "runner/issue-"
    assert config.plan_dir == ".runner/issues/{number}"
    assert config.identity == Identity("runner", "runner@localhost")
    assert config.workers is None and (config.min_workers, config.max_workers) == (1, 8)
    assert (config.queue_size, config.aging_s, config.task_timeout, config.max_attempts) == (500, 300.0, 600.0, 3)
    assert config.state_dir == (tmp_path / "xdg-state" / "runner").resolve()
    assert config.report_dir == (tmp_path / "xdg-state" / "runner" / "reports").resolve()
    assert config.templates_dir is None and config.base is None
    assert not config.dry_run and not config.quiet


def test_file_sections_are_loaded(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """
[runner]
branch_prefix = "bot/"
plan_dir = "plans/{number}"
author_name = "Issue Bot"
author_email = "bot@example.com"
workers = 3
max_workers = 6
queue_size = 50
aging_s = 12.5
task_timeout = 30
max_attempts = 5
base = "develop"
state_dir = "/tmp/runner-state-for-test"
templates = "my-templates"

[repos]
"Acme/API" = "../api"
"acme/web" = "/srv/web"

[triage]
default_priority = "low"
default_kind = "bug"
[triage.priority_labels]
critical = ["fire"]
""",
    )
    config = config_from(path=path)
    assert config.branch_prefix == "bot/" and config.branch_for(7) == "bot/7"
    assert config.plan_dir_for(7) == "plans/7"
    assert config.identity == Identity("Issue Bot", "bot@example.com")
    assert (config.workers, config.min_workers, config.max_workers) == (3, 1, 6)
    assert (config.queue_size, config.aging_s, config.task_timeout, config.max_attempts) == (50, 12.5, 30.0, 5)
    assert config.base == "develop"
    assert config.state_dir == Path("/tmp/runner-state-for-test").resolve()
    assert config.repos == {"acme/api": (tmp_path / "api").resolve(), "acme/web": Path("/srv/web").resolve()}
    assert config.rules.default_priority == Priority.LOW and config.rules.default_kind == "bug"
    assert config.rules.priority_labels["critical"] == ("fire",)


def test_repos_in_the_file_are_relative_to_the_file_and_expand_home(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[repos]\n"a/b" = "sub/clone"\n"c/d" = "~/src/d"\n', name="deep/dir/runner.toml")
    config = config_from(path=path)
    assert config.repos["a/b"] == (tmp_path / "deep" / "dir" / "sub" / "clone").resolve()
    assert config.repos["c/d"] == (tmp_path / "home" / "src" / "d").resolve()


def test_runner_toml_in_the_current_directory_is_used_when_no_path_is_given(isolated: Path) -> None:
    (isolated / "runner.toml").write_text('[runner]\nbranch_prefix = "auto-found/"\n')
    assert config_from().branch_prefix == "auto-found/"


def test_command_line_values_win_over_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[runner]\nbranch_prefix = "file/"\nworkers = 2\nqueue_size = 10\n')
    config = config_from({"branch_prefix": "cli/", "workers": "4", "queue_size": None}, path)
    assert config.branch_prefix == "cli/"
    assert config.workers == 4
    assert config.queue_size == 10


def test_false_like_cli_values_of_none_do_not_override(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[runner]\ndry_run = true\nquiet = true\n")
    config = config_from({"dry_run": None, "quiet": None}, path)
    assert config.dry_run and config.quiet


def test_github_comment_and_time_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    path = write_toml(tmp_path, "[github]\ncomment = false\ntime_scale = 60\nnotify_interval = 6\nmax_wait = 600\n")
    settings = config_from({"github": "acme/app", "repo_args": ["."]}, path).github_settings
    assert settings.comment is False and settings.time_scale == 60.0
    assert (settings.notify_interval_s, settings.max_wait_s, settings.secondary_wait_s) == (0.1, 10.0, 1.0)
    default = config_from({"github": "acme/app", "repo_args": ["."]}).github_settings
    assert default.comment is True and default.time_scale == 1.0 and default.notify_interval_s == 3.0
    assert config_from({"github": "acme/app", "repo_args": ["."], "gh_comment": False}).github_settings.comment is False


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('comment = "no"', "comment must be true or false"),
        ("time_scale = 0", "time_scale must be a number greater than 0"),
        ('time_scale = "fast"', "time_scale must be a number greater than 0"),
    ],
)
def test_bad_github_comment_or_time_scale_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    path = write_toml(tmp_path, f"[github]\n{text}\n")
    message = config_error({"github": "acme/app", "repo_args": ["."]}, path)
    assert fragment in message and "runner.toml" in message


def test_zero_task_timeout_means_no_limit() -> None:
    assert config_from({"task_timeout": 0}).task_timeout is None


def test_templates_and_report_dir_are_resolved(isolated: Path) -> None:
    config = config_from({"templates": "tpl", "report_dir": "out"})
    assert config.templates_dir == (isolated / "tpl").resolve()
    assert config.report_dir == (isolated / "out").resolve()


def test_default_report_dir_follows_the_state_dir(tmp_path: Path) -> None:
    config = config_from({"state_dir": str(tmp_path / "st")})
    assert config.report_dir == (tmp_path / "st" / "reports").resolve()


# --- the report directory and the target repositories (B14) ---------------------------------


def test_report_dir_inside_a_target_working_tree_is_refused(make_repo, tmp_path: Path) -> None:
    repo = make_repo("target")
    (repo / "app" / "sub").mkdir(parents=True, exist_ok=True)
    for repo_arg, report in (
        (str(repo), repo / "reports"),
        (f"acme/api={repo}", repo / ".git" / "reports"),
        (str(repo / "app"), repo / "docs" / "out"),
    ):
        message = config_error({"repo_args": [repo_arg], "report_dir": str(report)})
        assert f"report directory {report.resolve()} is inside the working tree {repo.resolve()}" in message
        assert "--allow-report-in-repo" in message
    assert not (repo / "reports").exists() and not (repo / "docs" / "out").exists()


def test_report_dir_in_a_repo_is_allowed_when_asked_and_outside_is_fine(make_repo, tmp_path: Path) -> None:
    repo = make_repo("target")
    inside = config_from({"repo_args": [str(repo)], "report_dir": str(repo / "reports"), "allow_report_in_repo": True})
    assert inside.report_dir == (repo / "reports").resolve()
    beside = config_from({"repo_args": [str(repo)], "report_dir": str(tmp_path / "target-reports")})
    assert beside.report_dir == (tmp_path / "target-reports").resolve()
    path = write_toml(tmp_path, f"[runner]\nreport_dir = '{repo / 'out'}'\nallow_report_in_repo = true\n")
    assert config_from({"repo_args": [str(repo)]}, path).report_dir == (repo / "out").resolve()


def test_a_state_dir_inside_a_repo_takes_the_default_report_dir_with_it(make_repo) -> None:
    repo = make_repo("target")
    message = config_error({"repo_args": [str(repo)], "state_dir": str(repo / ".state")})
    assert "report directory" in message and "the default is <state-dir>/reports" in message


# --- --repo -----------------------------------------------------------------------------------


def test_single_plain_repo_is_the_default(isolated: Path) -> None:
    config = config_from({"repo_args": ["clone"]})
    assert config.default_repo == (isolated / "clone").resolve()
    assert config.repos == {}


def test_owner_name_mappings_and_a_default_together(isolated: Path, tmp_path: Path) -> None:
    config = config_from({"repo_args": ["Acme/App=./app", str(tmp_path / "fallback"), "acme/lib=/srv/lib"]})
    assert config.repos == {"acme/app": (isolated / "app").resolve(), "acme/lib": Path("/srv/lib").resolve()}
    assert config.default_repo == (tmp_path / "fallback").resolve()


def test_two_plain_repo_paths_are_rejected() -> None:
    message = config_error({"repo_args": ["one", "two"]})
    assert "--repo" in message and "OWNER/NAME=PATH" in message


def test_cli_repo_mapping_overrides_the_file_mapping(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[repos]\n"acme/app" = "from-file"\n')
    config = config_from({"repo_args": ["ACME/app=/srv/from-cli"]}, path)
    assert config.repos == {"acme/app": Path("/srv/from-cli").resolve()}


def test_a_clone_holds_one_repository_and_a_repository_has_one_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = config_error({"repo_args": ["acme/app=/srv/x", "acme/web=/srv/x/"]})
    assert "acme/app and acme/web are both the clone" in message and str(Path("/srv/x").resolve()) in message
    assert "acme/app and --repo PATH are both" in config_error({"repo_args": ["/srv/x", "acme/app=/srv/x"]})
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    message = config_error({"repo_args": ["/srv/default", "acme/app=/srv/app"], "github": "Acme/App"})
    assert "--github acme/app is mapped to" in message and "/srv/default" in message
    fine = config_from({"repo_args": ["/srv/default", "acme/app=/srv/app"], "github": "acme/web"})
    assert fine.github == "acme/web" and fine.default_repo == Path("/srv/default").resolve()


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["runner/issue-", "bot/", "fix-", "team.bot/issue_", "a"])
def test_valid_branch_prefixes(prefix: str) -> None:
    assert config_from({"branch_prefix": prefix}).branch_for(12) == f"{prefix}12"


@pytest.mark.parametrize(
    "prefix",
    [
        "-x",
        "a..b",
        "a b",
        "",
        "/abs",
        "a//b",
        "a/.hidden",
        "end.",
        "x.lock/",
        "a.lock/b/",
        "a~b",
        "a^b",
        "a:b",
        "a?b",
        "a*b",
        "a[b",
        "a\\b",
        "a@{b",
        "tab\tx",
        "new\nline",
    ],
)
def test_invalid_branch_prefix_is_rejected(prefix: str) -> None:
    assert "branch_prefix" in config_error({"branch_prefix": prefix})


@pytest.mark.parametrize(
    "plan_dir, reason",
    [
        ("plans", "{number}"),
        ("../plans/{number}", "relative"),
        ("plans/{number}/../../..", "relative"),
        ("/abs/{number}", "relative"),
        (".git/{number}", "relative"),
        ("{number}/{other}", "placeholder"),
        ("{0}/{number}", "placeholder"),
        ("{number.__class__}/{number}", "placeholder"),
        ("{number", "{number}"),
    ],
)
def test_invalid_plan_dir_is_rejected(plan_dir: str, reason: str) -> None:
    message = config_error({"plan_dir": plan_dir})
    assert "plan_dir" in message and reason in message


def test_plan_dir_brace_error_is_a_config_error() -> None:
    assert "plan_dir" in config_error({"plan_dir": "x/{number}/{"})


def test_valid_plan_dir() -> None:
    assert config_from({"plan_dir": "docs/plans/issue-{number}"}).plan_dir_for(3) == "docs/plans/issue-3"


@pytest.mark.parametrize(
    "plan_dir, component",
    [
        (".GIT/{number}", ".GIT"),
        ("docs/.git/{number}", ".git"),
        ("docs/.Git. /{number}", ".Git. "),
        ("git~1/{number}", "git~1"),
        (".g\u200cit/{number}", ".g\u200cit"),
        ("./{number}", "."),
        ("a/./{number}", "."),
        ("a//{number}", ""),
        ("a\\b/{number}", "a\\b"),
        ("x/.gitmodules/{number}", ".gitmodules"),
        ("gi7eba~{number}", "gi7eba~{number}"),
        ("~{number}", "~{number}"),
    ],
)
def test_plan_dir_components_git_refuses_are_named(plan_dir: str, component: str) -> None:
    """B05/10: every component is checked as git checks tree entries, whatever the issue number."""
    message = config_error({"plan_dir": plan_dir})
    assert f"component {component!r}" in message and "plan_dir" in message


def test_a_trailing_slash_on_the_plan_dir_is_dropped() -> None:
    assert config_from({"plan_dir": "plans/{number}/"}).plan_dir_for(4) == "plans/4"


@pytest.mark.parametrize(
    "name, email",
    [
        ("Bot <evil>", "bot@example.com"),
        ("Bot", "no-at-sign"),
        ("", "bot@example.com"),
        ("   ", "b@x"),
        ("Bot\nInjected", "bot@example.com"),
        ("Bot", "bot@example.com>"),
        ("B\0t", "b@x"),
    ],
)
def test_bad_identity_is_rejected(name: str, email: str) -> None:
    assert "identity" in config_error({"author_name": name, "author_email": email})


@pytest.mark.parametrize(
    "workers, expected, max_workers",
    [(None, None, 8), ("auto", None, 8), ("AUTO", None, 8), ("3", 3, 8), (5, 5, 8), (12, 12, 12)],
)
def test_workers_auto_or_a_number(workers: Any, expected: int | None, max_workers: int) -> None:
    config = config_from({"workers": workers})
    assert (config.workers, config.max_workers) == (expected, max_workers)


@pytest.mark.parametrize("workers", [0, "0", -2, "many", "2.5"])
def test_bad_worker_counts_are_rejected(workers: Any) -> None:
    assert "workers" in config_error({"workers": workers})


@pytest.mark.parametrize(
    "options",
    [
        {"min_workers": 0},
        {"min_workers": 5, "max_workers": 2},
        {"queue_size": 0},
        {"max_attempts": 0},
        {"queue_size": "big"},
    ],
)
def test_bad_bounds_are_rejected(options: dict[str, Any]) -> None:
    config_error(options)


def test_command_line_errors_say_so() -> None:
    assert config_error({"branch_prefix": "-x"}).startswith("command line:")


# --- errors name the file ---------------------------------------------------------------------


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    message = config_error(path=missing)
    assert str(missing) in message


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[runner]\nbranch_prefix = "ok"\nworkers = = 3\n')
    message = config_error(path=path)
    assert str(path) in message and "line 3" in message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[runner]\nbranch_prefix = "a..b"\n', "branch_prefix"),
        ('[runner]\nplan_dir = "/abs/{number}"\n', "plan_dir"),
        ("[runner]\nworkers = 0\n", "workers"),
        ("[runner]\nworkers = true\n", "workers"),
        ('[runner]\nbranch_prefx = "x/"\n', "unknown key in [runner]: branch_prefx"),
        ('[runner]\nauthor_email = "nobody"\n', "identity"),
        ('runner = "not a table"\n', "[runner]"),
        ("repos = 3\n", "[repos]"),
        ('[repos]\n"acme/app" = 5\n', "acme/app"),
        ('[repos]\nnot-a-repo = "path"\n', "not-a-repo"),
        ('[triage]\ndefault_kind = "epic"\n', "epic"),
        ("[triage]\nunknown_setting = 1\n", "unknown_setting"),
        ('[triage.priority_labels]\nsevere = ["x"]\n', "severe"),
        ('[triage.kind_words]\nbug = "crash"\n', "bug"),
    ],
)
def test_errors_in_the_file_name_the_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = write_toml(tmp_path, text)
    message = config_error(path=path)
    assert str(path) in message
    assert fragment in message


def test_push_timeout_and_login_in_the_github_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    path = write_toml(tmp_path, '[github]\npush_timeout = 30\nlogin = "runner-app[bot]"\n')
    settings = config_from({"github": "acme/app"}, path).github_settings
    assert settings is not None and (settings.push_timeout_s, settings.login) == (30.0, "runner-app[bot]")
    assert config_from({"github": "acme/app", "gh_push_timeout": 2.5}, path).github_settings.push_timeout_s == 2.5
    defaults = config_from({"github": "acme/app"}).github_settings
    assert (defaults.push_timeout_s, defaults.login) == (600.0, None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("push_timeout = 0\n", "push_timeout must be a positive number"),
        ('push_timeout = "soon"\n', "soon"),
        ('login = "not a login"\n', "is not a GitHub login"),
        ("login = 7\n", "is not a GitHub login"),
    ],
)
def test_bad_push_timeout_or_login_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    path = write_toml(tmp_path, "[github]\n" + text)
    message = config_error({"github": "acme/app"}, path)
    assert str(path) in message and fragment in message


def test_publish_mode_defaults_to_pr_with_a_fixer_and_triage_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    assert config_from({"github": "acme/app"}).github_settings.publish == "triage"
    assert config_from({"github": "acme/app", "command": "fix-it"}).github_settings.publish == "pr"
    plans = config_from({"github": "acme/app", "gh_publish": "pr", "commit_plan": True})
    assert plans.github_settings.publish == "pr" and plans.commit_plan
    path = write_toml(
        tmp_path,
        '[runner]\ncommit_plan = true\n[github]\npublish = "pr"\n'
        'priority_label = "P-{priority}"\nkind_label = "type: {kind}"\n',
    )
    settings = config_from({"github": "acme/app"}, path).github_settings
    assert settings.publish == "pr" and settings.issue_labels("high", "bug") == ("P-high", "type: bug")
    assert "--publish needs --github" in config_error({"gh_publish": "triage"})
    assert config_from({}, path).github_settings is None  # the file's publish waits for --github


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('publish = "pr"\n', "--commit-plan"),
        ('publish = "everything"\n', "publish must be one of triage, pr"),
        ('priority_label = "priority"\n', "priority_label must be a label name with {priority}"),
        ('kind_label = "{priority}"\n', "kind_label must be a label name with {kind}"),
    ],
)
def test_bad_publish_settings_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    path = write_toml(tmp_path, "[github]\n" + text)
    message = config_error({"github": "acme/app"}, path)
    assert str(path) in message and fragment in message
