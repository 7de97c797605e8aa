"""runner as a GitHub App: installation tokens through PyGithub's App auth, renewed mid-run, never leaked."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from conftest import GH_REPO, TOKEN, git, latest_report

APP_ID = 4242
SHORT_LIFE_S = 2.0


def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


class AppWorld:
    """A clone whose origin is the emulator's git remote (pushes need a valid token there), and the
    emulator knowing one App, installed on the repository's owner."""

    def __init__(self, root: Path, clone: Path) -> None:
        from runner.testing.emulator import Emulator, EmulatorConfig

        self.root = root
        self.pem = rsa_pem()
        self.key_file = root / "app.pem"
        self.key_file.write_text(self.pem)
        bare = root / "remote.git"
        git(root, "clone", "-q", "--bare", str(clone), str(bare))
        self.clone = clone
        self.emulator = Emulator({GH_REPO: bare}, tokens={TOKEN: "maintainer"}, apps={APP_ID: self.pem},
                                 config=EmulatorConfig(content_per_minute=1000))
        self.url = self.emulator.start()
        self.apps = self.emulator.app.apps
        git(clone, "remote", "add", "origin", f"{self.url}/{GH_REPO}.git")

    def issues_file(self, count: int) -> Path:
        """`count` issues opened by a maintainer, as GitHub lists them."""
        from github import Auth, Github

        repo = Github(base_url=self.url, auth=Auth.Token(TOKEN), retry=None).get_repo(GH_REPO)
        for n in range(1, count + 1):
            repo.create_issue(f"Issue {n}: login session bug", body=f"Login fails in app/auth/login.py ({n})")
        path = self.root / "issues.jsonl"
        path.write_text("".join(json.dumps(i.raw_data) + "\n" for i in repo.get_issues(state="open")))
        self.emulator.app.stats.reset()
        return path

    def argv(self, *extra: str) -> list[str]:
        return ["--repo", str(self.clone), "--github", GH_REPO, "--app-id", str(APP_ID),
                "--app-key-file", str(self.key_file), "--notify-interval", "0", *extra]

    def env(self) -> dict[str, str]:
        return {"GITHUB_API_URL": self.url}


@pytest.fixture
def app_world(tmp_path, make_repo):
    worlds = []

    def start() -> AppWorld:
        worlds.append(AppWorld(tmp_path, make_repo("clone")))
        return worlds[-1]

    yield start
    for world in worlds:
        world.emulator.stop()


def secret_forms(world: AppWorld) -> list[str]:
    """The key's lines, every token and JWT, and the header form git would carry a token in."""
    key_lines = [line for line in world.pem.splitlines() if line and not line.startswith("-----")]
    tokens = [issued.token for issued in world.apps.issued]
    headers = [base64.b64encode(f"x-access-token:{t}".encode()).decode() for t in tokens]
    return key_lines + tokens + headers + list(world.apps.jwts)


def leaks(secrets: list[str], *places: Path, texts: tuple[str, ...] = ()) -> list[str]:
    found = []
    for place in places:
        for path in [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]:
            data = path.read_bytes()
            found += [f"{path}: {s[:6]}..." for s in secrets if s.encode() in data]
    found += [f"output: {s[:6]}..." for s in secrets for text in texts if s in text]
    return found


def test_an_app_run_publishes_renewing_its_token_mid_run_and_leaks_nothing(app_world, runner_cli, tmp_path):
    world = app_world()
    issues = world.issues_file(3)
    world.apps.queue_lifetimes(SHORT_LIFE_S)  # the first token runs out during the run; the next lasts an hour
    proc = runner_cli("process", str(issues), *world.argv("--write-interval", "0.25"), env=world.env())
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    report = latest_report(tmp_path / "reports")
    assert [i["status"] for i in report["issues"]] == ["published"] * 3
    assert all(i["pull_request"] for i in report["issues"])

    stats = world.emulator.stats
    first, second = world.apps.issued  # exactly one renewal
    assert second.issued_at < first.expires_at  # renewed ahead of expiry, not after a refusal
    assert stats["bad_credentials"] == 0 and "401" not in stats["by_status"]
    assert world.apps.count("refused") == {}
    writes, pushes = world.apps.count("write"), world.apps.count("push")
    assert sum(writes.values()) == stats["writes"] and sum(pushes.values()) == stats["git_pushes"] >= 1
    assert writes.get(2, 0) >= 1  # writes went on with the renewed token
    from github import Auth, Github

    pulls = Github(base_url=world.url, auth=Auth.Token(TOKEN), retry=None).get_repo(GH_REPO).get_pulls(state="open")
    assert {pull.user.login for pull in pulls} == {f"app-{APP_ID}[bot]"}

    secrets = secret_forms(world)
    assert leaks(secrets, tmp_path / "reports", tmp_path / "state", world.clone / ".git" / "config",
                 texts=(out, err)) == []


def test_a_key_that_is_not_a_private_key_is_a_usage_error_that_quotes_nothing(app_world, runner_cli, tmp_path):
    world = app_world()
    issues = world.issues_file(1)
    for content in ("not a key\n" + world.pem.splitlines()[1] + "\n", ""):
        world.key_file.write_text(content)
        proc = runner_cli("process", str(issues), *world.argv(), env=world.env())
        err = proc.stderr.decode()
        assert proc.returncode == 2, err
        assert "App key file" in err and "Traceback" not in err
        assert world.pem.splitlines()[1] not in err + proc.stdout.decode()
    assert world.emulator.stats["requests"] == 0


def test_a_key_of_another_app_or_an_unknown_installation_is_a_usage_error(app_world, runner_cli, tmp_path):
    world = app_world()
    issues = world.issues_file(1)
    world.key_file.write_text(rsa_pem())
    proc = runner_cli("process", str(issues), *world.argv(), env=world.env())
    assert proc.returncode == 2 and "GitHub refused the App 4242's credentials" in proc.stderr.decode()

    world.key_file.write_text(world.pem)
    proc = runner_cli("process", str(issues), *world.argv("--installation-id", "999"), env=world.env())
    assert proc.returncode == 2 and "has no installation 999" in proc.stderr.decode()
    assert world.emulator.stats["writes"] == 0 and world.emulator.stats["git_pushes"] == 0
