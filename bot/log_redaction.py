"""Keep ID numbers and verification values out of the servers' logs.

Rasa echoes user text in some of its own warnings (an unknown entity in a typed
`/intent{...}` payload, for one), and a debug log shows whole messages. Rather than chase
every such line, everything the server processes write to stdout/stderr passes through
`redact`: resident ID numbers (18 characters) and anything shaped like the last six
characters of one are replaced before they reach a log file or a container's log stream.
"""

from __future__ import annotations

import io
import re

RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
ID_TAIL = re.compile(r"(?<![0-9A-Za-z])\d{5}[\dXx](?![0-9A-Za-z])")


def redact(text: str) -> str:
    """The text with ID numbers and ID-tail-shaped values replaced."""
    text = RESIDENT_ID.sub("[ID number redacted]", text)
    return ID_TAIL.sub("[redacted]", text)


class RedactingStream(io.TextIOBase):
    """A text stream that redacts each write before passing it on."""

    def __init__(self, target) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", "utf-8")

    def fileno(self) -> int:
        return self._target.fileno()
