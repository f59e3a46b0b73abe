"""Application statuses of the card production pipeline.

submitted -> under_review -> in_production -> ready_for_collection -> collected; or rejected.
The values are what the database stores and what the CSV files and the assistant use; the
words shown to people live in the assistant's responses, not here.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum


class ApplicationStatus(str, Enum):
    """A card application's status, in pipeline order (``rejected`` ends it early)."""

    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    IN_PRODUCTION = "in_production"
    READY_FOR_COLLECTION = "ready_for_collection"
    COLLECTED = "collected"
    REJECTED = "rejected"

    def __str__(self) -> str:
        # A str mixin prints as "ApplicationStatus.X" on Python 3.10; callers want the value.
        return self.value


# Pipeline order, for listings and for checks that need every status.
STATUSES: tuple[ApplicationStatus, ...] = tuple(ApplicationStatus)
STATUS_VALUES: tuple[str, ...] = tuple(status.value for status in STATUSES)


def parse_status(text: str | None) -> ApplicationStatus | None:
    """Return the status named by ``text`` or None.

    Staff spreadsheets write "Under review" or "ready-for-collection", so case, spaces and
    hyphens are forgiven; anything else is not a status.
    """
    if text is None:
        return None
    key = re.sub(r"[\s\-]+", "_", unicodedata.normalize("NFKC", text).strip().lower())
    try:
        return ApplicationStatus(key)
    except ValueError:
        return None
