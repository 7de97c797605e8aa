"""`runner learn`: a repository's own labels teach its triage; the model is kept safely and used by runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import GH_REPO, issue, latest_report

from runner.cli.learn import learn_repository
from runner.core.models import Issue
from runner.core.triage import Triager, TriageRules
from runner.learn import store as model_store
from runner.learn.classifier import Example, LabelMap, LearnError, examples_from_items, features_of
from runner.learn.features import document, vectorize
from runner.learn.model import LearnedTriager, train_repository
from runner.learn.settings import RunTriager, learn_settings

REPO = "acme/widgets"
PARTS = ["gizmo panel", "sprocket view", "ledger pane", "flux dial", "quill strip", "orbit tray"]
# This project's own ways of speaking, which no general rule knows: its bugs "garble" and "jitter",
# its feature requests are "wishlist" items, its questions are "pondering" things.
WORDS = {
    "bug": ["garbles the glyphs", "jitters after resizing", "shows ghost rows", "drops the last tick"],
    "feature": [
        "wishlist: a dark variant",
        "wishlist: keyboard chords",
        "wishlist: export to svg",
        "wishlist: pinned presets",
    ],
    "question": [
        "pondering the right setup",
        "pondering how teams deploy it",
        "pondering the defaults",
        "pondering the licence terms",
    ],
}
LABELS = {"bug": "kind/glitch", "feature": "kind/wishlist", "question": "kind/pondering"}
MAPPING = {"kind/glitch": "bug", "kind/wishlist": "feature", "kind/pondering": "question"}


def labelled_items(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for n in range(1, count + 1):
        kind = ("bug", "feature", "question")[n % 3]
        part, words = rng.choice(PARTS), rng.choice(WORDS[kind])
        items.append(
            issue(
                n,
                f"The {part} {words}",
                f"Seen in the {part}: {words}.",
                [LABELS[kind]],
                repository_url=f"https://api.github.com/repos/{REPO}",
                state="closed",
            )
        )
    return items


def as_issue(item: dict) -> Issue:
    return Issue(item["number"], item["title"], item["body"], (), REPO, None, None, 1, "h")


# --- learning ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    """One model for the tests that only read it (training is the slow part)."""
    return train_repository(REPO, examples_from_items(labelled_items(60), LabelMap.from_rules(TriageRules(), MAPPING)))[
        0
    ]


def test_a_small_labelled_history_predicts_held_out_issues_better_than_the_rules() -> None:
    items = labelled_items(90)
    labels = LabelMap.from_rules(TriageRules(), MAPPING)
    train, held_out = examples_from_items(items[:60], labels), items[60:]
    model, reports = train_repository(REPO, train)
    assert reports[0].trained and model.kind is not None
    truth = [MAPPING[i["labels"][0]] for i in held_out]
    learned = LearnedTriager(Triager(), {REPO: model}, min_confidence=0.0)
    by_model = [learned.triage(as_issue(i)).kind for i in held_out]
    by_rules = [Triager().triage(as_issue(i)).kind for i in held_out]
    right = lambda guesses: sum(g == t for g, t in zip(guesses, truth, strict=False))  # noqa: E731
    assert right(by_model) > right(by_rules)
    assert right(by_model) >= 0.9 * len(truth)
    assert all(learned.triage(as_issue(i)).kind_reason.startswith("model (") for i in held_out)


def test_labels_on_the_issue_still_win_over_the_model(trained) -> None:
    learned = LearnedTriager(Triager(), {REPO: trained}, min_confidence=0.0)
    item = labelled_items(1)[0]
    result = learned.triage(Issue(1, item["title"], item["body"], ("documentation",), REPO, None, None, 1, "h"))
    assert (result.kind, result.kind_reason) == ("docs", "label 'documentation'")


def test_an_unsure_model_leaves_the_decision_to_the_rules(trained) -> None:
    learned = LearnedTriager(Triager(), {REPO: trained}, min_confidence=1.01)
    result = learned.triage(Issue(1, "How do I set the theme?", "", (), REPO, None, None, 1, "h"))
    assert result.kind == "question" and "(rules; model" in result.kind_reason


def test_kind_and_priority_share_one_reading_of_an_issue_and_agree_with_each_alone() -> None:
    items = labelled_items(60)
    examples = [
        Example(i["title"], i["body"], MAPPING[i["labels"][0]], "high" if "flux" in i["title"] else "low")
        for i in items
    ]
    model, reports = train_repository(REPO, examples)
    assert reports[1].trained and model.kind and model.priority
    learned = LearnedTriager(Triager(), {REPO: model}, min_confidence=0.0)
    for item in labelled_items(12, seed=5):
        doc = document(item["title"], item["body"])
        kind, _ = model.kind.predict_one(features_of(model.kind).one(doc))
        level, _ = model.priority.predict_one(features_of(model.priority).one(doc))
        result = learned.triage(as_issue(item))
        assert (result.kind, result.priority.name.lower()) == (kind, level)
        assert result.priority_reason.startswith("model (")


def test_too_few_labelled_issues_keep_the_rules_and_say_so() -> None:
    examples = examples_from_items(labelled_items(9), LabelMap.from_rules(TriageRules(), MAPPING))
    model, reports = train_repository(REPO, examples)
    assert model.kind is None and model.priority is None
    assert "fewer than 20 labelled issues" in reports[0].summary() and "rules decide" in reports[0].summary()


# --- label mappings ---------------------------------------------------------------------------


def test_label_mappings_from_runner_toml_join_the_aliases() -> None:
    settings = learn_settings({"labels": {"RFC": "feature", "Sev-A": "critical", "Needs Triage": "ignore"}})
    labels = LabelMap.from_rules(TriageRules(), settings.labels)
    assert labels.read(["RFC"]) == ("feature", None)
    assert labels.read(["Sev-A", "bug"]) == ("bug", "critical")
    assert labels.read(["priority: low", "type: enhancement"]) == ("feature", "low")
    assert labels.read(["Needs Triage", "good first issue"]) == (None, None)
    assert dict(labels.unmapped) == {"good first issue": 1}


@pytest.mark.parametrize(
    "table, words",
    [
        ({"labels": {"RFC": "epic"}}, "expected a kind"),
        ({"min_issues": "many"}, "min_issues must be a whole number"),
        ({"min_confidence": 2}, "min_confidence <= 1"),
        ({"max_age": 3}, "unknown [learn] key 'max_age'"),
    ],
)
def test_bad_learn_settings_are_named(table: dict, words: str) -> None:
    with pytest.raises((ValueError, LearnError), match=None) as caught:
        LabelMap.from_rules(TriageRules(), learn_settings(table).labels)
    assert words in str(caught.value)


# --- the model file ---------------------------------------------------------------------------


def test_a_stored_model_loads_back_and_predicts_the_same(tmp_path: Path, trained) -> None:
    path = model_store.save(tmp_path, trained)
    assert path == tmp_path / "models" / "acme__widgets.npz"
    loaded = model_store.load(tmp_path, REPO)
    docs = [("The flux dial jitters after resizing", "x"), ("wishlist: pinned presets", "")]
    assert np.allclose(loaded.kind.scores(docs), trained.kind.scores(docs), atol=1e-4)
    batch = trained.kind.scores_of(vectorize(trained.kind.vectorizers, docs))  # scikit-learn's own transform
    assert np.allclose(loaded.kind.scores(docs), batch, atol=1e-4)
    assert loaded.meta["targets"]["kind"]["examples"] == 60 and loaded.trained_at


@pytest.mark.parametrize("damage", ["garbage", "truncated", "old-format", "other-repository"])
def test_a_damaged_or_old_model_is_ignored_with_a_clear_message(tmp_path: Path, trained, damage: str) -> None:
    path = model_store.save(tmp_path, trained)
    if damage == "garbage":
        path.write_bytes(b"not a model at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        meta = dict(trained.meta, **({"format": 0} if damage == "old-format" else {"repository": "other/repo"}))
        model_store.save(tmp_path, type(trained)(REPO, trained.kind, trained.priority, meta))
    with pytest.raises(model_store.ModelProblem) as caught:
        model_store.load(tmp_path, REPO)
    assert str(path) in str(caught.value)
    warnings: list[str] = []
    triager = RunTriager(TriageRules(), tmp_path, warn=warnings.append)
    result = triager.triage(Issue(1, "The app crashes", "", (), REPO, None, None, 1, "h"))
    assert result.kind == "bug" and not result.kind_reason.startswith("model")
    assert len(warnings) == 1 and "the rules triage acme/widgets" in warnings[0]


def test_a_missing_model_means_rules_without_a_word(tmp_path: Path) -> None:
    warnings: list[str] = []
    result = RunTriager(TriageRules(), tmp_path, warn=warnings.append).triage(
        Issue(1, "Add dark mode", "", (), REPO, None, None, 1, "h")
    )
    assert result.kind == "feature" and warnings == []


def test_model_files_hold_no_pickle(tmp_path: Path, trained) -> None:
    with np.load(model_store.save(tmp_path, trained), allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


# --- the command ------------------------------------------------------------------------------


def test_learn_from_a_file_then_process_uses_the_model(runner_cli, write_issues, make_repo, tmp_path: Path) -> None:
    (tmp_path / "runner.toml").write_text(
        '[learn.labels]\n"kind/glitch" = "bug"\n"kind/wishlist" = "feature"\n"kind/pondering" = "question"\n'
    )
    history = write_issues(
        [
            *labelled_items(60),
            issue(99, "Odd one", "", ["wontfix"], repository_url=f"https://api.github.com/repos/{REPO}"),
        ],
        name="history.jsonl",
        lines=True,
    )
    learned = runner_cli("learn", "--from", str(history), "--state-dir", str(tmp_path / "state"))
    out = learned.stdout.decode()
    assert learned.returncode == 0, learned.stderr.decode()
    assert "acme/widgets: 61 issues read, 60 with a kind or priority label" in out
    assert "kind: learned from 60 issues" in out and "cross-validated macro F1" in out
    assert "priority: not learned" in out and "'wontfix' 1" in out
    new = [dict(i, labels=[], state="open", number=200 + n) for n, i in enumerate(labelled_items(6, seed=3))]
    repo = make_repo()
    done = runner_cli("process", write_issues(new).as_posix(), "--repo", f"{REPO}={repo}", "--dry-run")
    assert done.returncode == 0, done.stderr.decode()
    records = sorted(latest_report(tmp_path / "reports")["issues"], key=lambda r: r["number"])  # finishing order varies
    assert all(r["kind_reason"].startswith("model (") for r in records)
    assert [r["kind"] for r in records] == [MAPPING[i["labels"][0]] for i in labelled_items(6, seed=3)]
    status = runner_cli("status", "--state-dir", str(tmp_path / "state"))
    assert "acme/widgets: trained" in status.stdout.decode()


def test_learn_with_too_few_labels_stores_nothing_and_says_so(tmp_path: Path) -> None:
    said: list[str] = []
    settings = learn_settings({"labels": MAPPING})
    stored = learn_repository(REPO, labelled_items(8), tmp_path, TriageRules(), settings, said.append)
    assert stored is False
    assert "no model stored: the rules keep triaging acme/widgets" in said[-1]
    assert any("fewer than 20 labelled issues" in line for line in said)
    assert not (tmp_path / "models" / "acme__widgets.npz").exists()


def test_learn_needs_a_repository_for_items_without_one(runner_cli, write_issues, tmp_path: Path) -> None:
    history = write_issues([issue(1, "Crash", "", ["bug"])], name="bare.json")
    done = runner_cli("learn", "--from", str(history), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 2 and "give --repository OWNER/NAME" in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()


def test_learn_from_github_then_nightly_retrains_an_old_model(github_world, runner_cli, tmp_path: Path) -> None:
    """Open and closed issues are fetched through the API; a model older than max_age_days is
    learned again at night (one GitHub world and two runs: each run that trains imports scikit-learn)."""
    world = github_world()
    repo = world.client().get_repo(GH_REPO)
    world.emulator.configure(secondary_limits=False)
    for item in labelled_items(15):
        created = repo.create_issue(item["title"], body=item["body"], labels=[item["labels"][0]])
        if item["number"] % 2:
            created.edit(state="closed")
    config = tmp_path / "runner.toml"
    config.write_text(
        config.read_text() + f'\n[repos]\n"{GH_REPO}" = "{world.clone}"\n[learn]\nmin_issues = 6\n'
        'max_age_days = 1\n[learn.labels]\n"kind/glitch" = "bug"\n"kind/wishlist" = "feature"\n'
        '"kind/pondering" = "question"\n'
    )
    state = tmp_path / "state"
    done = runner_cli("learn", GH_REPO, "--state-dir", str(state), env=world.env())
    assert done.returncode == 0, done.stderr.decode()
    assert f"{GH_REPO}: 15 issues read, 15 with a kind or priority label" in done.stdout.decode()
    meta = model_store.read_meta(model_store.model_path(state, GH_REPO))
    assert meta["targets"]["kind"]["trained"] and meta["labelled"] == 15
    assert json.dumps(meta).find(world.env()["GITHUB_TOKEN"]) == -1
    for open_issue in repo.get_issues(state="open"):  # the night has nothing else to do
        open_issue.edit(state="closed")
    fresh = model_store.load(state, GH_REPO)
    model_store.save(
        state, type(fresh)(GH_REPO, fresh.kind, fresh.priority, dict(fresh.meta, trained_at="2020-01-01T00:00:00Z"))
    )
    night = runner_cli("nightly", "--state-dir", str(state), "--report-dir", str(tmp_path / "reports"), env=world.env())
    output = night.stdout.decode() + night.stderr.decode()
    assert night.returncode == 0, output
    assert f"retraining the triage model of {GH_REPO}" in output
    assert model_store.read_meta(model_store.model_path(state, GH_REPO))["trained_at"] > "2020-01-01T00:00:00Z"
