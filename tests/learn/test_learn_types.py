"""Learning from issue types: a repository that classifies its issues with GitHub's issue types
instead of labels has a history to learn from all the same, and a type on a new issue is a
person's answer the model does not overrule."""

from __future__ import annotations

from pathlib import Path

from conftest import latest_report
from test_learn import LABELS, MAPPING, REPO, labelled_items

from runner.core.models import Issue
from runner.core.triage import Triager, TriageRules
from runner.learn.classifier import LabelMap, examples_from_items
from runner.learn.model import LearnedTriager, train_repository

TYPES = {"bug": "Bug", "feature": "Feature", "question": "Question"}


def typed_items(count: int, seed: int = 7) -> list[dict]:
    """`labelled_items`, their kind given as an issue type instead of a label."""
    kinds = {label: kind for kind, label in LABELS.items()}
    return [dict(i, labels=[], type={"name": TYPES[kinds[i["labels"][0]]]}) for i in labelled_items(count, seed)]


def test_types_are_read_as_kinds_when_no_label_names_one() -> None:
    items = typed_items(9)
    items[0] = dict(items[0], labels=["documentation"])
    labels = LabelMap.from_rules(TriageRules())
    examples = examples_from_items(items, labels)
    assert [e.kind for e in examples] == ["docs"] + [MAPPING[i["labels"][0]] for i in labelled_items(9)[1:]]
    assert not labels.unmapped


def test_an_unknown_type_is_reported_and_runner_toml_can_map_it() -> None:
    items = [dict(i, type={"name": "Epic"}) for i in typed_items(4)]
    labels = LabelMap.from_rules(TriageRules())
    assert examples_from_items(items, labels) == []
    assert labels.unmapped["Epic"] == 4
    mapped = LabelMap.from_rules(TriageRules(), {"Epic": "feature"})
    assert {e.kind for e in examples_from_items(items, mapped)} == {"feature"}


def test_the_model_does_not_overrule_a_type() -> None:
    model, _ = train_repository(REPO, examples_from_items(typed_items(60), LabelMap.from_rules(TriageRules())))
    learned = LearnedTriager(Triager(), {REPO: model}, min_confidence=0.0)
    item = labelled_items(1)[0]
    issue = Issue(1, item["title"], item["body"], (), REPO, None, None, 1, "h", "Task")
    assert (learned.triage(issue).kind, learned.triage(issue).kind_reason) == ("chore", "GitHub issue type 'Task'")


def test_learn_from_typed_history_then_process(runner_cli, write_issues, make_repo, tmp_path: Path) -> None:
    history = write_issues(typed_items(60), name="history.jsonl", lines=True)
    learned = runner_cli("learn", "--from", str(history), "--state-dir", str(tmp_path / "state"))
    assert learned.returncode == 0, learned.stderr.decode()
    assert "kind: learned from 60 issues" in learned.stdout.decode()
    new = [dict(i, labels=[], state="open", number=200 + n) for n, i in enumerate(labelled_items(4, seed=3))]
    new[0]["type"] = {"id": 412, "name": "Feature"}
    done = runner_cli("process", write_issues(new).as_posix(), "--repo", f"{REPO}={make_repo()}", "--dry-run")
    assert done.returncode == 0, done.stderr.decode()
    records = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert (records[200]["kind"], records[200]["kind_reason"]) == ("feature", "GitHub issue type 'Feature'")
    assert all(records[n]["kind_reason"].startswith("model (") for n in (201, 202, 203))
