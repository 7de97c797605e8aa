"""The emulator's issue types, as GitHub serves them: `type` on every issue object (null when
none), set on create or edit by name in any case, cleared with null, and 422 for a type the
organization does not have."""

from __future__ import annotations

import requests
from conftest import GH_REPO, TOKEN


def call(world, method: str, path: str, **body) -> requests.Response:
    headers = {"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"}
    url = f"{world.url}/repos/{GH_REPO}{path}"
    return requests.request(method, url, json=body or None, headers=headers, timeout=10)


def test_types_are_set_read_and_cleared_as_on_github(github_world) -> None:
    world = github_world(secondary_limits=False)
    plain = call(world, "POST", "/issues", title="No type")
    assert plain.status_code == 201 and plain.json()["type"] is None
    made = call(world, "POST", "/issues", title="Broken", type="bug").json()
    assert made["type"]["name"] == "Bug" and made["type"]["node_id"].startswith("IT_")
    assert {"id", "description", "color", "is_enabled"} <= set(made["type"])
    edited = call(world, "PATCH", f"/issues/{made['number']}", type="Feature").json()
    assert edited["type"]["name"] == "Feature"
    listed = {i["number"]: i["type"] for i in call(world, "GET", "/issues").json()}
    assert listed[made["number"]]["name"] == "Feature" and listed[plain.json()["number"]] is None
    cleared = call(world, "PATCH", f"/issues/{made['number']}", type=None)
    assert cleared.status_code == 200
    assert call(world, "GET", f"/issues/{made['number']}").json()["type"] is None


def test_an_unknown_type_is_a_validation_failure(github_world) -> None:
    world = github_world(secondary_limits=False)
    refused = call(world, "POST", "/issues", title="Big", type="Epic")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"resource": "Issue", "code": "invalid", "field": "type"}]
    assert call(world, "GET", "/issues").json() == []
