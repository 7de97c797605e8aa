"""Reading a call as GitHub does: who makes it, and its query and body values, each checked and
turned into a 422 "Validation Failed" naming the resource and field when it is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runner.testing.emulator.errors import ApiError, validation_failed
from runner.testing.emulator.routing import Call


def require_user(call: Call) -> str:
    if call.user is None:
        raise ApiError(401, "Requires authentication")
    return call.user


def query_choice(call: Call, name: str, default: str, allowed: tuple[str, ...], resource: str) -> str:
    value = call.query(name, default) or default
    if value not in allowed:
        raise validation_failed(resource, "invalid", name)
    return value


def query_since(call: Call, resource: str) -> float | None:
    value = call.query("since")
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise validation_failed(resource, "invalid", "since") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def body_text(data: dict[str, Any], key: str, resource: str, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise validation_failed(resource, "missing_field", key)
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise validation_failed(resource, "invalid", key)
    return str(value)


def label_names(value: Any) -> list[str]:
    """Labels as GitHub accepts them: names or objects with a name, possibly wrapped in {"labels": [...]}."""
    if isinstance(value, dict):
        value = value.get("labels", [])
    if not isinstance(value, list):
        raise validation_failed("Label", "invalid", "labels")
    names = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise validation_failed("Label", "invalid", "name")
        names.append(name)
    return names
