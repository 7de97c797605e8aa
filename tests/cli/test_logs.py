"""runner.log: every line, tracebacks included, scrubbed of the token."""

from __future__ import annotations

import base64
import logging

from runner.cli.logs import setup_logging


def test_messages_arguments_and_tracebacks_are_scrubbed(tmp_path):
    token = "ghp_LogsTest0123456789abcdef"
    logger = setup_logging(tmp_path, [token])
    try:
        logging.getLogger("runner.test").warning("header %r", f"token {token}\nmore")
        try:
            raise ValueError("AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode())
        except ValueError:
            logging.getLogger("runner.test").exception("push failed")
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    text = (tmp_path / "logs" / "runner.log").read_text()
    assert "push failed" in text and "Traceback" in text and text.count("***") == 2
    assert token not in text and base64.b64encode(f"x-access-token:{token}".encode()).decode() not in text
