"""runner.sage.render and runner.sage.worker: sandboxed templates, issue text as data, a sage turning a
Task into files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.sandbox
import pytest
from conftest import IDENTITY

from runner.core.models import KINDS, Issue, Priority, SageResult, Task, Triage
from runner.sage import worker as sage
from runner.sage.codeindex import load_or_build
from runner.sage.render import Renderer, shipped_templates

GIT_ENV = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
REPO_FILES = {
    "app/auth/login.py": "def authenticateUser(name, password):\n"
    "    session = create_session(name)\n    return session\n",
    "app/export/csv_export.py": "def export_rows(rows):\n    # csv export\n    return rows\n",
    "docs/guide.md": "# Guide\n\nThe instalation takes two steps.\n",
}
KIND_CHECKLIST = {
    "bug": "Reproduce the bug with a failing test",
    "feature": "Agree on the behaviour",
    "docs": "Find every page",
    "security": "Confirm the vulnerability",
    "performance": "Measure the slow path first",
    "question": "Answer the question",
    "chore": "Make the change (dependencies",
}
HOSTILE = ["{{ 7*7 }}", "{% include '/etc/passwd' %}", "{{ ''.__class__.__mro__ }}", "{# comment #}", "{{ config }}"]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, check=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("render")
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name, text in REPO_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sample")
    _, path = load_or_build(repo, git(repo, "rev-parse", "HEAD"), root / "cache")
    return str(path)


def context(**changes: Any) -> dict[str, Any]:
    base = {
        "issue": {"number": 42, "title": "Export drops the last row", "labels": ["bug", "p1"], "url": "https://x/42"},
        "summary": "Exporting 10 rows gives 9.\nAlways the last one.",
        "priority": "High",
        "priority_reason": "label 'p1'",
        "kind": "bug",
        "kind_reason": "label 'bug'",
        "related": [
            {
                "path": "app/export/csv_export.py",
                "score": 12.5,
                "lines": [[1, "def export_rows(rows):"], [2, "# csv `export`"]],
            }
        ],
        "risk": "medium",
        "risk_reasons": ["mentions token"],
        "duplicates": [17],
        "branch": "runner/issue-42",
    }
    return {**base, **changes}


def write_templates(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def make_task(
    number: int = 42,
    title: str = "Export drops rows",
    body: str = "Rows vanish.",
    kind: str = "bug",
    labels: tuple[str, ...] = ("bug",),
    duplicates: tuple[int, ...] = (),
) -> Task:
    issue = Issue(number, title, body, labels, None, f"https://github.com/acme/app/issues/{number}", None, 1, "h")
    return Task(
        issue,
        Triage(Priority.HIGH, kind, "label 'bug'", f"label {labels[0]!r}" if labels else "default"),
        "",
        duplicates,
    )


def plan_of(result: SageResult, number: int = 42, plan_dir: str = ".runner/issues") -> str:
    return result.files[f"{plan_dir}/{number}/PLAN.md"].decode()


@pytest.fixture
def sage_ready(index_path: str):
    def init(
        templates_dir: Path | None = None,
        branch_prefix: str = "runner/issue-",
        plan_dir: str = ".runner/issues/{number}",
    ) -> None:
        sage.initialize(
            sage.SageSetup({"": index_path}, str(templates_dir) if templates_dir else None, branch_prefix, plan_dir)
        )

    init()
    return init


# --- shipped templates ------------------------------------------------------------------------


def test_shipped_templates_are_found() -> None:
    root = shipped_templates()
    assert (root / "default" / "PLAN.md.j2").is_file()
    assert {p.name for p in root.iterdir() if p.is_dir()} >= {"default", *KINDS}


@pytest.fixture(scope="module")
def shipped() -> Renderer:
    return Renderer()


def test_every_kind_compiles_and_renders_a_plan() -> None:
    renderer = Renderer()
    assert renderer.outputs == ("PLAN.md",)
    assert renderer.precompile(KINDS) == len(KINDS)
    for kind in KINDS:
        plan = renderer.render(kind, context(kind=kind))["PLAN.md"]
        assert plan.startswith("# Plan for #42: Export drops the last row\n")
        assert KIND_CHECKLIST[kind] in plan, kind
        assert "> Exporting 10 rows gives 9.\n> Always the last one.\n" in plan
        assert "- `app/export/csv_export.py` (score 12.5)" in plan
        assert "line 1: `def export_rows(rows):`" in plan
        assert "line 2: `# csv 'export'`" in plan
        assert "| Risk | medium (mentions token) |" in plan
        assert "## Checklist" in plan and "- [ ] " in plan
        assert "- #17" in plan
        assert plan.rstrip().endswith("Closes #42")


def test_kinds_get_their_own_checklists() -> None:
    renderer = Renderer()
    plans = {kind: renderer.render(kind, context(kind=kind))["PLAN.md"] for kind in KINDS}
    for kind, plan in plans.items():
        others = [KIND_CHECKLIST[k] for k in KINDS if k != kind]
        assert not any(text in plan for text in others), kind


def test_unknown_kind_falls_back_to_the_default_template() -> None:
    plan = Renderer().render("epic", context(kind="epic"))["PLAN.md"]
    assert "Reproduce or restate the problem" in plan


def test_plan_without_description_related_files_or_duplicates() -> None:
    plan = Renderer().render("feature", context(summary="", related=[], duplicates=[], risk="low", risk_reasons=[]))[
        "PLAN.md"
    ]
    assert "(the issue has no description)" in plan
    assert "No file in the repository matches" in plan
    assert "duplicates" not in plan.lower()
    assert "| Risk | low |" in plan and "Low: a focused change." in plan


def test_high_risk_security_plan_asks_for_security_review() -> None:
    plan = Renderer().render("security", context(kind="security", risk="high"))["PLAN.md"]
    assert "High: ask for a second reviewer from the security owners" in plan


@pytest.mark.parametrize("text", HOSTILE)
def test_template_syntax_in_issue_text_comes_out_literally(shipped: Renderer, text: str) -> None:
    ctx = context(
        issue={"number": 9, "title": f"Title {text}", "labels": [text], "url": ""},
        summary=f"Body {text}",
        kind_reason=text,
        related=[{"path": "a.py", "score": 1.0, "lines": [[3, f"x = '{text}'"]]}],
        risk_reasons=[text],
    )
    for kind in KINDS:
        plan = shipped.render(kind, {**ctx, "kind": kind})["PLAN.md"]
        assert f"# Plan for #9: Title {text}\n" in plan
        assert f"> Body {text}" in plan
        assert f"| Labels | {text} |" in plan
        assert "49" not in plan and "root:" not in plan and "<class" not in plan


# --- user templates ---------------------------------------------------------------------------


def test_user_default_template_overrides_the_shipped_one(tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "CUSTOM {{ issue.number }} {{ kind }}\n"})
    renderer = Renderer(user)
    assert renderer.render("docs", context(kind="docs"))["PLAN.md"] == "CUSTOM 42 docs\n"
    assert renderer.render("bug", context())["PLAN.md"] == "CUSTOM 42 bug\n"


def test_user_kind_template_overrides_only_that_kind(tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"bug/PLAN.md.j2": "BUG PLAN {{ issue.title }}\n"})
    renderer = Renderer(user)
    assert renderer.render("bug", context())["PLAN.md"] == "BUG PLAN Export drops the last row\n"
    assert "Closes #42" in renderer.render("feature", context(kind="feature"))["PLAN.md"]


def test_user_kind_template_can_extend_the_shipped_default(tmp_path: Path) -> None:
    user = write_templates(
        tmp_path / "tpl",
        {
            "docs/PLAN.md.j2": '{% extends "default/PLAN.md.j2" %}'
            "{% block checklist %}- [ ] our docs step\n{% endblock %}",
        },
    )
    plan = Renderer(user).render("docs", context(kind="docs"))["PLAN.md"]
    assert "- [ ] our docs step" in plan and "Closes #42" in plan


def test_user_templates_can_add_an_output_file(tmp_path: Path) -> None:
    user = write_templates(
        tmp_path / "tpl",
        {
            "default/NOTES.md.j2": "Notes for #{{ issue.number }}: {{ related | length }} related\n",
            "bug/NOTES.md.j2": "Bug notes for #{{ issue.number }}\n",
            "default/nested/IGNORED.md.j2": "not an output\n",
        },
    )
    renderer = Renderer(user)
    assert renderer.outputs == ("NOTES.md", "PLAN.md")
    assert renderer.precompile(KINDS) == 2 * len(KINDS)
    assert renderer.render("docs", context(kind="docs"))["NOTES.md"] == "Notes for #42: 1 related\n"
    rendered = renderer.render("bug", context())
    assert rendered["NOTES.md"] == "Bug notes for #42\n"
    assert "Closes #42" in rendered["PLAN.md"]


def test_user_template_with_an_undefined_variable_fails(tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{{ issue.number }} {{ no_such_thing }}\n"})
    with pytest.raises(jinja2.UndefinedError):
        Renderer(user).render("docs", context(kind="docs"))


def test_user_template_with_an_undefined_attribute_fails(tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{{ issue.assignee }}\n"})
    with pytest.raises(jinja2.UndefinedError):
        Renderer(user).render("docs", context(kind="docs"))


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__[1].__subclasses__()",
        "issue.__class__.__base__",
        "related.__class__.__subclasses__()",
        "summary.format.__globals__",
    ],
)
def test_sandbox_blocks_unsafe_attributes_in_user_templates(tmp_path: Path, expression: str) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{{ " + expression + " }}\n"})
    with pytest.raises(jinja2.exceptions.SecurityError):
        Renderer(user).render("docs", context(kind="docs"))


def test_sandbox_forbids_changing_the_context(tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{{ issue.labels.append('hacked') }}\n"})
    ctx = context(kind="docs")
    with pytest.raises(jinja2.exceptions.SecurityError):
        Renderer(user).render("docs", ctx)
    assert ctx["issue"]["labels"] == ["bug", "p1"]


def test_remembered_attribute_answers_are_the_sandboxs(tmp_path: Path) -> None:
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment()
    env = Renderer(None).env
    objects = ["text", [1], {"a": 1}, {1}, (1,), len, str, test_remembered_attribute_answers_are_the_sandboxs, 1.5]
    names = ["upper", "splitlines", "format", "append", "clear", "pop", "keys", "mro", "__class__", "_x", "__globals__"]
    for _ in range(2):
        for obj in objects:
            for name in names:
                assert env.is_safe_attribute(obj, name, None) == sandbox.is_safe_attribute(obj, name, None)
    template = "{{ summary.splitlines() }}{{ summary.__class__ }}\n"
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": template})
    renderer = Renderer(user)
    for _ in range(2):
        with pytest.raises(jinja2.exceptions.SecurityError):
            renderer.render("docs", context(kind="docs"))


def test_user_template_cannot_include_files_outside_the_template_dirs(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{% include '../secret.txt' %}\n"})
    with pytest.raises(jinja2.TemplateNotFound):
        Renderer(user).render("docs", context(kind="docs"))


def test_broken_user_template_fails_at_precompile(tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{% if %}\n"})
    with pytest.raises(jinja2.TemplateSyntaxError):
        Renderer(user).precompile(KINDS)


# --- the sage ---------------------------------------------------------------------------------


def test_sage_turns_a_task_into_plan_files(sage_ready) -> None:
    task = make_task(
        body="Exporting rows from app/export/csv_export.py loses the last row.\n\nMore details.", duplicates=(12, 30)
    )
    result = sage.work(task)
    assert (result.number, result.repo_key, result.worker_pid) == (42, "", os.getpid())
    assert list(result.files) == [".runner/issues/42/PLAN.md"]
    assert all(isinstance(content, bytes) for content in result.files.values())
    assert result.summary == "Exporting rows from app/export/csv_export.py loses the last row."
    assert result.related[0].path == "app/export/csv_export.py"
    plan = plan_of(result)
    assert "# Plan for #42: Export drops rows" in plan
    assert "> Exporting rows from app/export/csv_export.py loses the last row." in plan
    assert "More details" not in plan
    assert "- `app/export/csv_export.py`" in plan and "line 1: `def export_rows(rows):`" in plan
    assert "| Branch | `runner/issue-42` |" in plan
    assert "- #12\n- #30" in plan
    assert f"| Risk | {result.risk}" in plan
    assert KIND_CHECKLIST["bug"] in plan
    assert plan.rstrip().endswith("Closes #42")
    assert result.busy_s >= 0 and sage.init_time() > 0


def test_sage_renders_every_kind(sage_ready) -> None:
    for kind in KINDS:
        plan = plan_of(sage.work(make_task(kind=kind, labels=(kind,))))
        assert KIND_CHECKLIST[kind] in plan and "Closes #42" in plan


def test_sage_security_issue_on_auth_code_is_high_risk(sage_ready) -> None:
    task = make_task(
        7, "Password check bypass in authenticateUser", "Empty password logs in.", kind="security", labels=("security",)
    )
    result = sage.work(task)
    assert result.risk == "high"
    assert "| Risk | high (security issue" in plan_of(result, 7)


def test_sage_uses_the_configured_plan_dir_and_branch_prefix(sage_ready) -> None:
    sage_ready(branch_prefix="bot/fix-", plan_dir="plans/issue-{number}")
    result = sage.work(make_task(5))
    assert list(result.files) == ["plans/issue-5/PLAN.md"]
    assert "`bot/fix-5`" in result.files["plans/issue-5/PLAN.md"].decode()


def test_sage_with_user_templates_writes_extra_outputs(sage_ready, tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/NOTES.md.j2": "notes {{ issue.number }} {{ risk }}\n"})
    sage_ready(templates_dir=user)
    result = sage.work(make_task(8))
    assert sorted(result.files) == [".runner/issues/8/NOTES.md", ".runner/issues/8/PLAN.md"]
    assert result.files[".runner/issues/8/NOTES.md"] == f"notes 8 {result.risk}\n".encode()


def test_sage_with_a_template_using_an_undefined_variable_raises(sage_ready, tmp_path: Path) -> None:
    user = write_templates(tmp_path / "tpl", {"default/PLAN.md.j2": "{{ missing_variable }}\n"})
    sage_ready(templates_dir=user)
    with pytest.raises(jinja2.UndefinedError):
        sage.work(make_task())


@pytest.mark.parametrize("text", HOSTILE)
def test_sage_keeps_hostile_issue_text_literal(sage_ready, text: str) -> None:
    result = sage.work(make_task(title=f"T {text}", body=f"B {text}", labels=(text,)))
    plan = plan_of(result)
    assert f"# Plan for #42: T {text}" in plan
    assert f"> B {text}" in plan
    assert "root:" not in plan


def test_sage_removes_control_characters_from_titles_labels_and_body(sage_ready) -> None:
    task = make_task(
        title="Bad\x1b[31m red\x07 bell\r\nsecond line\x00\x9b2J\x85",
        body="Body\x1b]0;evil\x07 text\x7f\x9b\r\nnext",
        labels=("la\x1bbel\nx",),
    )
    plan = plan_of(sage.work(task))
    assert not any(ch in plan for ch in "\x00\x07\x1b\x7f\x85\x9b\r")
    heading = plan.splitlines()[0]
    assert heading.startswith("# Plan for #42: Bad") and "second line" in heading
    assert "| Labels | la" in plan and "bel x |" in plan


def test_sage_handles_a_one_megabyte_body_with_a_bounded_summary(sage_ready) -> None:
    body = "word " * 200_000 + "\n\nsecond paragraph"
    assert len(body) > 1_000_000
    result = sage.work(make_task(body=body))
    assert len(result.summary) <= sage.SUMMARY_CHARS
    assert result.summary.endswith("…")
    assert len(result.files[".runner/issues/42/PLAN.md"]) < 10_000


def test_summary_is_the_first_paragraph_cleaned() -> None:
    assert sage.summarize("First line\r\nstill first\r\n\r\nSecond paragraph") == "First line\nstill first"
    assert sage.summarize("  \n\n  ") == ""
    assert sage.summarize("a\x1b[0mb") == "a[0mb"
    assert len(sage.summarize("x" * 5000)) == sage.SUMMARY_CHARS


def test_clean_makes_one_line_of_display_text() -> None:
    assert sage.clean("a\nb\rc\x00d\te") == "a b c d\te"


def test_work_before_initialize_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sage, "_state", None)
    with pytest.raises(RuntimeError, match="initialize"):
        sage.work(make_task())
