"""Git over smart HTTP at `<emulator>/<owner>/<name>.git`, the way github.com serves clones beside its API.

    git fetch/push ──> Handler ──> serve(): the repository, the credential ──> `git http-backend`

A push needs a credential the API would accept (HTTP basic with the token as password, as
git sends `x-access-token:<token>`; or a `token`/`bearer` header): an expired installation
token is refused with 401 like any bad one, so a test sees which credential each push carried.
Reads are served without one, as for a public repository, but a credential sent is checked.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import subprocess
from email.message import Message
from typing import TYPE_CHECKING

from runner.testing.emulator.errors import ApiError

if TYPE_CHECKING:
    from runner.testing.emulator.http import App

GIT_PATH = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<name>[^/]+?)\.git(?P<rest>/info/refs|/git-upload-pack|/git-receive-pack)$"
)
AUTH_HEADERS = [("WWW-Authenticate", 'Basic realm="GitHub"'), ("Content-Type", "text/plain")]
_TIMEOUT_S = 120

Response = tuple[int, list[tuple[str, str]], bytes]


def is_git_path(path: str) -> bool:
    return GIT_PATH.match(path) is not None


def serve(app: App, method: str, path: str, query: str, headers: Message, body: bytes) -> Response:
    found = GIT_PATH.match(path)
    assert found is not None
    rest = found["rest"]
    push = rest == "/git-receive-pack" or (rest == "/info/refs" and "service=git-receive-pack" in query)
    try:
        repo = app.state.repo(f"{found['owner']}/{found['name']}")
        login = _login(app, headers.get("Authorization"), "push" if rest == "/git-receive-pack" else "read")
    except ApiError as error:
        if error.status == 401:
            app.stats.incr("bad_credentials")
        return error.status, AUTH_HEADERS if error.status == 401 else [], f"{error.message}\n".encode()
    if push and login is None:
        return 401, AUTH_HEADERS, b"Authentication required\n"
    if rest == "/git-receive-pack":
        app.stats.incr("git_pushes")
    return _backend(repo.git_dir, method, rest, query, headers, body, login or "anonymous")


def _login(app: App, header: str | None, kind: str) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            _, _, token = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "Invalid username or token") from None
    elif scheme.lower() in ("token", "bearer"):
        token = value.strip()
    else:
        raise ApiError(401, "Invalid username or token")
    if not token:
        raise ApiError(401, "Invalid username or token")
    return app.token_login(token, kind)


def _backend(
    git_dir: os.PathLike[str], method: str, rest: str, query: str, headers: Message, body: bytes, login: str
) -> Response:
    """One CGI exchange with `git http-backend`, pushes enabled."""
    directory = os.path.abspath(git_dir)
    env = {
        "GIT_PROJECT_ROOT": os.path.dirname(directory),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{os.path.basename(directory)}{rest}",
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "REMOTE_USER": login,
        "CONTENT_TYPE": headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_CONTENT_ENCODING": headers.get("Content-Encoding", ""),
        "PATH": os.environ.get("PATH", ""),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.receivepack",
        "GIT_CONFIG_VALUE_0": "true",
    }
    out = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env, timeout=_TIMEOUT_S).stdout
    head, _, rest_bytes = out.partition(b"\r\n\r\n")
    status, reply_headers = 200, []
    for line in head.split(b"\r\n"):
        name, _, value = line.decode(errors="replace").partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            reply_headers.append((name, value.strip()))
    return status, reply_headers, rest_bytes


def read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """A request body sent with `Transfer-Encoding: chunked` (git does for large pushes)."""
    parts: list[bytes] = []
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            rfile.readline()
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline()
