"""Write pacing with a fake clock: intervals, content budgets, pauses after secondary limits,
backing off and recovering, what the pacer assumes about other clients, deferring; the live
view's word on a pause; and end to end against the emulator with another client on the account."""

from __future__ import annotations

import io
import time

import pytest
from conftest import GH_REPO, TOKEN, latest_report
from rich.console import Console

from runner.cli import ui
from runner.core.retry import Deferral
from runner.github.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(t: FakeTime, **kw) -> Pacer:
    return Pacer(clock=t.clock, sleep=t.sleep, wall=t.wall, **kw)


def publish_issue(p: Pacer) -> float:
    """What the publisher asks for one issue: a pull request, its labels, the comment."""
    return p.before_write(notify=True) + p.before_write() + p.before_write(notify=True)


def test_writes_and_notifications_keep_their_intervals():
    t = FakeTime()
    p = pacer(t, write_interval_s=1.0, notify_interval_s=3.0)
    assert p.before_write(notify=True) == 0
    assert p.before_write() == pytest.approx(1.0)
    assert p.before_write(notify=True) == pytest.approx(2.0)
    t.now += 10
    assert p.before_write(notify=True) == 0


def test_per_minute_budget_waits_for_the_window_but_labels_do_not():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=80, per_hour=500)
    for _ in range(80):
        assert p.before_write(notify=True) == 0
    assert p.before_write() == 0
    assert p.before_write(notify=True) == pytest.approx(60.0)
    assert p.notifications == 81 and p.writes == 82


def test_hourly_budget_beyond_max_wait_defers_instead_of_blocking():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=1000, per_hour=5, max_wait_s=120)
    for _ in range(5):
        p.before_write(notify=True)
    with pytest.raises(Deferral) as caught:
        p.before_write(notify=True)
    assert caught.value.retry_after_s == pytest.approx(3600.0)
    assert t.slept == []


def test_a_limit_pauses_every_write_once_then_the_pace_comes_back_step_by_step():
    t = FakeTime()
    p = pacer(t)
    publish_issue(p)
    assert p.limited(60.0, "403; retry-after: 60") == 60.0
    assert (p.write_interval_s, p.notify_interval_s) == (2.0, 6.0)
    assert p.before_write() == pytest.approx(60.0)
    assert p.paused_s == pytest.approx(60.0)
    waits = [publish_issue(p) for _ in range(4)]
    assert (p.write_interval_s, p.notify_interval_s) == (1.0, 3.0)
    assert max(waits) < 12.0
    assert publish_issue(p) == pytest.approx(6.0)
    assert [e.event for e in p.events] == ["limited", "recovered"]
    assert p.recoveries_s and p.recoveries_s[0] < 120


def test_limits_in_a_row_double_the_pause_and_widen_the_intervals_up_to_a_cap():
    t = FakeTime()
    p = pacer(t, secondary_wait_s=60.0, max_wait_s=7200.0)
    pauses = []
    for _ in range(5):
        pauses.append(p.limited(None, "403"))
        p.before_write(notify=True)
    assert pauses == [60.0, 120.0, 240.0, 480.0, 960.0]
    assert (p.write_interval_s, p.notify_interval_s) == (8.0, 24.0)


def test_a_pause_longer_than_max_wait_defers_every_write_until_it_ends():
    t = FakeTime()
    p = pacer(t, max_wait_s=120.0)
    p.limited(600.0, "403; retry-after: 600")
    with pytest.raises(Deferral) as caught:
        p.before_write()
    assert "paused by GitHub" in caught.value.reason and caught.value.retry_after_s == pytest.approx(600.0)
    t.now += 500
    assert p.before_write() == pytest.approx(100.0)


def test_intervals_faster_than_githubs_advice_come_back_to_the_advice_once_github_objects():
    t = FakeTime()
    p = pacer(t, write_interval_s=0.0, notify_interval_s=0.0)
    publish_issue(p)
    assert (p.write_interval_s, p.notify_interval_s) == (0.0, 0.0)
    p.limited(1.0)
    assert (p.write_interval_s, p.notify_interval_s) == (1.0, 3.0)
    p.limited(1.0)
    assert (p.write_interval_s, p.notify_interval_s) == (2.0, 6.0)
    for _ in range(4):
        publish_issue(p)
    assert (p.write_interval_s, p.notify_interval_s) == (1.0, 3.0)
    assert p.summary()["notify_interval_s"] == {"configured": 0.0, "target": 3.0, "now": 3.0}


def test_a_refused_creation_does_not_count_against_the_budget():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=1, per_hour=500)
    p.before_write(notify=True)
    t.now += 61
    p.before_write(notify=True)
    p.limited(2.0)
    assert p.budget.wait(t.now) == 0
    assert p.before_write(notify=True) == pytest.approx(3.0)


def test_a_refused_creation_the_hour_explains_best_fills_the_hour():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=80, per_hour=500, max_wait_s=7200)
    first = t.now
    for _ in range(450):
        p.before_write(notify=True)
        t.now += 3
    p.before_write(notify=True)
    p.limited(30.0)
    assert p.budget.assumed(t.now) == 50
    expected = first + 3 + 3600 - t.now  # a creation counts from when the next write was asked for
    assert p.before_write(notify=True) == pytest.approx(expected)


def test_a_refused_label_says_nothing_about_the_content_budget():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=80, per_hour=500, max_wait_s=7200)
    for _ in range(450):
        p.before_write(notify=True)
        t.now += 3
    p.before_write()
    p.limited(1.0)
    assert p.budget.assumed(t.now) == 0


def test_a_long_retry_after_early_in_the_hour_is_one_pause_not_a_full_hour():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, max_wait_s=7200)
    for _ in range(10):
        p.before_write(notify=True)
    p.limited(1800.0)
    assert p.budget.assumed(t.now) == 0
    assert p.before_write(notify=True) == pytest.approx(1800.0)
    assert 0 < p.before_write(notify=True) <= 3.0


def test_a_limit_early_in_the_hour_within_a_minute_assumes_nothing_about_the_hour():
    t = FakeTime()
    p = pacer(t)
    publish_issue(p)
    p.limited(60.0)
    assert p.budget.assumed(t.now) == 0
    assert p.before_write(notify=True) == pytest.approx(60.0)


def test_history_says_what_github_said_the_pause_and_the_new_intervals():
    t = FakeTime()
    p = pacer(t)
    publish_issue(p)
    p.limited(60.0, "403; retry-after: 60; You have exceeded a secondary rate limit")
    assert p.paused_until() == pytest.approx(t.wall() + 60.0)
    event = p.events[0].as_dict()
    assert event["event"] == "limited" and event["github"].startswith("403; retry-after: 60")
    assert event["retry_after_s"] == 60.0
    assert event["pause_s"] == 60.0 and event["paused_until"] and event["at"].endswith("Z")
    assert (event["write_interval_s"], event["notify_interval_s"]) == (2.0, 6.0)
    for _ in range(4):
        publish_issue(p)
    assert p.paused_until() is None
    summary = p.summary()
    assert summary["secondary_limits"] == 1 and summary["longest_pause_s"] == 60.0
    assert summary["notify_interval_s"] == {"configured": 3.0, "target": 3.0, "now": 3.0}
    assert len(summary["recovered_after_s"]) == 1


def test_time_scale_compresses_windows_and_advice():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=2, time_scale=60.0)
    p.before_write(notify=True)
    p.before_write(notify=True)
    assert p.before_write(notify=True) == pytest.approx(1.0)
    p.limited(None)
    assert p.notify_interval_s == pytest.approx(3.0 / 60)


# -- the live view ------------------------------------------------------------------------


def status_snapshot(paused_until: float | None) -> dict:
    return {
        "queue": [0, 1, 2, 3],
        "open": 1,
        "workers": 2,
        "busy": 1,
        "target": 2,
        "throughput": 1.5,
        "p95": 0.2,
        "scaling": "-",
        "breaker": "closed",
        "totals": {},
        "paused_until": paused_until,
    }


def test_status_line_says_paused_by_github_until_when(monkeypatch):
    monkeypatch.setattr(ui, "LOG_EVERY_S", 0.0)
    out = io.StringIO()
    observer = ui.TerminalObserver(console=Console(file=out, width=300))
    until = time.time() + 60
    observer.tick(status_snapshot(until))
    observer.tick(status_snapshot(None))
    first, second = out.getvalue().splitlines()
    assert first.endswith(f"| paused by GitHub until {time.strftime('%H:%M:%S', time.localtime(until))}")
    assert "paused" not in second


# -- end to end: runner process --github against the emulator, another client on the same account --


COMPETITOR = "another-client"


def fill_the_minute_when_runner_starts(world, stop) -> dict[str, int]:
    """Another program with runner's token: as soon as runner's first request arrives, it
    comments until GitHub refuses."""
    from github import Auth, Github, GithubException

    gh = Github(
        base_url=world.url,
        auth=Auth.Token(TOKEN),
        retry=None,
        timeout=10,
        user_agent=COMPETITOR,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    target = gh.get_repo(GH_REPO).get_issue(1)
    baseline = world.emulator.stats["requests"]
    made = {"comments": 0}
    while world.emulator.stats["requests"] == baseline and not stop.wait(0.002):
        pass
    while not stop.is_set():
        try:
            target.create_comment("a comment from another client")
        except GithubException:
            break
        made["comments"] += 1
    return made


def test_a_competing_client_spends_the_budget_and_runner_still_publishes_each_issue_once(
    github_world, runner_cli, tmp_path
):
    import threading

    world = github_world(content_per_minute=10, time_scale=60.0)
    world.seed(9)
    path = world.issues_file(tmp_path / "issues.jsonl")
    (tmp_path / "runner.toml").write_text("[github]\ntime_scale = 60\ncontent_per_minute = 10\n")
    stop, made = threading.Event(), {}
    other = threading.Thread(target=lambda: made.update(fill_the_minute_when_runner_starts(world, stop)))
    other.start()
    try:
        result = runner_cli(
            "process",
            str(path),
            "--repo",
            str(world.clone),
            "--github",
            GH_REPO,
            "--publish",
            "pr",
            "--commit-plan",
            env=world.env(),
        )
    finally:
        stop.set()
        other.join(timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    assert made["comments"] >= 1
    runner_refusals = [e for e in world.emulator.app.stats.limit_events() if e["agent"] != COMPETITOR]
    assert len(runner_refusals) == 1, runner_refusals
    repo = world.client().get_repo(GH_REPO)
    heads = sorted(p.head.ref for p in repo.get_pulls(state="all"))
    assert heads == [f"runner/issue-{n}" for n in sorted(range(1, 10), key=str)]
    for n in range(1, 10):
        markers = [c for c in repo.get_issue(n).get_comments() if "runner:pull-request-for-issue" in (c.body or "")]
        assert len(markers) == 1, n
    report = latest_report(tmp_path / "reports")
    pacing = report["metrics"]["github"]["pacing"]
    assert pacing["secondary_limits"] == 1 and pacing["notify_interval_s"]["now"] == pytest.approx(3.0 / 60)
    limited = [e for e in report["pacing_events"] if e["event"] == "limited"]
    assert len(limited) == 1 and "secondary rate limit" in limited[0]["github"] and limited[0]["paused_until"]
    assert [e["event"] for e in report["pacing_events"]][-1] == "recovered"
    assert "## GitHub pacing" in next((tmp_path / "reports").glob("*.md")).read_text()
