"""The action server's one connection pool to the bureau's database.

One engine per process (created on first use, so importing actions never touches the
database); each action opens its own session through bot.db.session_scope.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from bot.db import make_engine
from bot.settings import get_settings


@lru_cache(maxsize=1)
def engine() -> Engine:
    return make_engine(get_settings().database_url)
