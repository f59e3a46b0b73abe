"""ID numbers and verification values never reach the logs in full."""

from __future__ import annotations

import io
import logging

from bot.log_redaction import RedactingStream, redact


def test_resident_id_numbers_and_tails_are_redacted():
    line = 'typed "11010519491231002X" then 00102x, app SC2026000101 at 2026-11-24 16:02:55'
    cleaned = redact(line)
    assert "11010519491231002X" not in cleaned and "00102x" not in cleaned
    # Application numbers and timestamps stay readable: staff need them in the logs.
    assert "SC2026000101" in cleaned and "2026-11-24 16:02:55" in cleaned


def test_a_logging_handler_on_the_redacting_stream_writes_redacted_lines():
    target = io.StringIO()
    handler = logging.StreamHandler(RedactingStream(target))
    logger = logging.getLogger("redaction-test")
    logger.addHandler(handler)
    try:
        logger.warning("user said %s", "my id is 440524188001010014")
    finally:
        logger.removeHandler(handler)
    assert "440524188001010014" not in target.getvalue()
    assert "[ID number redacted]" in target.getvalue()
