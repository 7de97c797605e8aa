"""The token: read and checked once, scrubbed in every form."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import GH_REPO, TOKEN
from runner.ghclient import TokenError, read_token, redact

pytestmark = pytest.mark.timeout(120)

FIRST, SECOND = "ghp_LINEONEsecret0123", "ghp_LINETWOsecret4567"


def assert_absent(secrets: tuple[str, ...], *texts: str, directories: tuple[Path, ...] = ()) -> None:
    blobs = [t.encode() for t in texts]
    for directory in directories:
        blobs += [p.read_bytes() for p in directory.rglob("*") if p.is_file()]
    for secret in secrets:
        assert not any(secret.encode() in blob for blob in blobs), secret


# --- reading --------------------------------------------------------------------------------

@pytest.mark.parametrize("content, problem", [
    (f"{FIRST}\n{SECOND}\n", "has 2 lines"),
    (f"{FIRST}\r\n{SECOND}", "has 2 lines"),
    (f"{FIRST} {SECOND}", "has whitespace inside"),
    (f"{FIRST}\x01{SECOND}", "control character"),
    (f"{FIRST}\u00e9{SECOND}", "other than ASCII"),
])
def test_a_token_with_inner_whitespace_or_control_characters_is_refused_without_echoing_it(tmp_path, content, problem):
    path = tmp_path / "token"
    path.write_text(content, encoding="utf-8")
    for source, kwargs in (("the token file", {"token_file": path}), ("GITHUB_TOKEN", {"environ": {"GITHUB_TOKEN": content}})):
        with pytest.raises(TokenError) as error:
            read_token(kwargs.get("token_file"), kwargs.get("environ"))
        message = str(error.value)
        assert source in message and problem in message
        assert FIRST not in message and SECOND not in message and "LINE" not in message


def test_surrounding_whitespace_is_dropped(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n\n")
    assert read_token(path) == TOKEN
    assert read_token(None, {"GITHUB_TOKEN": f"{TOKEN}\n"}) == TOKEN
    with pytest.raises(TokenError, match="is empty"):
        path.write_text(" \n")
        read_token(path)


# --- redaction ------------------------------------------------------------------------------

def test_every_form_of_the_token_is_redacted():
    token = "ghp_Redact'Me\"Back\\slash_0123456789"
    quoted = {
        "raw": token,
        "repr": repr("token " + token),
        "repr of bytes": repr(("token " + token).encode()),
        "ascii": ascii(token),
        "json": json.dumps({"header": "token " + token}),
        "url": "https://x:" + quote(token, safe="") + "@github.com/",
        "url, / safe": quote(token),
    }
    for name, text in quoted.items():
        assert "***" in redact(text, token), name
        assert token not in redact(text, token)
    for prefix in ("", "x-access-token:", "token:", "u:", "ab:", "abc:", "someone@example.com:"):
        encoded = base64.b64encode((prefix + token).encode()).decode()
        cleaned = redact(f"AUTHORIZATION: basic {encoded}", token)
        assert "***" in cleaned, prefix
        core = base64.b64encode(token.encode()).decode()[8:-8]
        assert core not in cleaned and len(cleaned) < len(encoded), prefix


def test_a_refused_token_is_still_redacted_in_the_form_requests_quotes_it(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"{FIRST}\n{SECOND}\n")
    with pytest.raises(TokenError):
        read_token(path)
    message = f"Invalid return character in header value: {'token ' + FIRST + chr(10) + SECOND!r}"
    assert_absent((FIRST, SECOND), redact(message))


# --- end to end: runner fetch / runner process ----------------------------------------------

def test_a_two_line_token_stops_fetch_and_process_with_exit_2_and_leaks_nowhere(github_world, runner_cli, tmp_path):
    world = github_world()
    token_file = tmp_path / "token"
    token_file.write_text(f"{FIRST}\n{SECOND}\n")
    fetched = runner_cli("fetch", GH_REPO, "--token-file", str(token_file), "-o", str(tmp_path / "x.jsonl"),
                         "--state-dir", str(tmp_path / "state"), env={"GITHUB_API_URL": world.url})
    assert fetched.returncode == 2 and b"has 2 lines" in fetched.stderr
    pasted = runner_cli("process", "--repo", str(world.clone), *world.fast_flags(),
                        env={**world.env(), "GITHUB_TOKEN": f"{FIRST}\n{SECOND}"})
    assert pasted.returncode == 2 and b"GITHUB_TOKEN has 2 lines" in pasted.stderr
    controlled = runner_cli("process", "--repo", str(world.clone), *world.fast_flags(),
                            env={**world.env(), "GITHUB_TOKEN": f"{FIRST}\x07{SECOND}"})
    assert controlled.returncode == 2 and b"control character" in controlled.stderr
    for result in (fetched, pasted, controlled):
        assert_absent((FIRST, SECOND), result.stdout.decode(), result.stderr.decode(),
                      directories=(tmp_path / "state", tmp_path / "reports"))
    assert world.emulator.stats.get("pulls_created", 0) == 0
