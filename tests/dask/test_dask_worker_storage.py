"""A Dask worker that cannot hold the shipped code index says which file and why: the master
only sees the message, and a bare "No space left on device" names nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WRITE_UNDER_LIMIT = """
import resource, signal, sys
from pathlib import Path
from runner.dask.worker import SagePayload
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
index = {"acme/widgets": {"codeindex-abc123.sqlite": b"x" * 200_000}}
payload = SagePayload("t0k", index, None, "runner/", ".runner", {})
try:
    payload.materialize(Path(sys.argv[1]))
except OSError as exc:
    print(exc)
    sys.exit(3)
"""


def test_an_index_a_worker_cannot_write_is_named_with_its_cause(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_LIMIT, str(tmp_path / "sage")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    message = done.stdout
    index = tmp_path / "sage" / "index-0" / "codeindex-abc123.sqlite"
    assert f"cannot write the code index of acme/widgets to {index} on this Dask worker" in message
    assert "RLIMIT_FSIZE" in message
    assert not index.exists()
