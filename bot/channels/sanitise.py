"""Make what people send safe to hand to Rasa, at the channel boundary.

Found by the bad-input corpus (tests/faults): a lone UTF-16 surrogate is valid JSON
("\\ud800") but not encodable text, and SpacyNLP raised on it, so the person got no reply;
socket.io metadata that is not a JSON object made Rasa's own handler raise.
"""

from __future__ import annotations

import json
import re
from typing import Any

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """The text with unpaired surrogates replaced by U+FFFD, as a UTF-8 decoder would do."""
    return LONE_SURROGATE.sub("\ufffd", text)


def clean_metadata(value: Any) -> dict[str, Any]:
    """Message metadata as Rasa expects it: a JSON object (or a string holding one), else {}."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
