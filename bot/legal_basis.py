"""The legal basis: Article 2 of the Social Insurance Law and what it means per insurance type.

The law's text and the explanations are data (bot/content/legal_basis.yml), so wording can
change, or a language be added, without touching code. This module only reads and selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LEGAL_BASIS_FILE = Path(__file__).resolve().parent / "content" / "legal_basis.yml"


@dataclass(frozen=True)
class ArticleReference:
    number: str
    summary: str


@dataclass(frozen=True)
class Article2Explanation:
    citation: str
    text: str
    plain_words: str
    for_you: str
    law_title: str
    law_history: str


@dataclass(frozen=True)
class InsuranceTypeExplanation:
    key: str
    name: str
    guarantee: str
    reimbursement: str
    articles: tuple[ArticleReference, ...]


@lru_cache(maxsize=4)
def _load(path: Path = LEGAL_BASIS_FILE) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # Fail at load, not mid-conversation, if an insurance type cites an article we lack.
    for key, entry in data["insurance_types"].items():
        missing = [a for a in entry["articles"] if str(a) not in data["articles"]]
        if missing:
            raise ValueError(f"{path}: {key} cites unknown articles {missing}")
    return data


def insurance_type_keys(path: Path = LEGAL_BASIS_FILE) -> list[str]:
    """The five insurance types Article 2 names, as canonical entity values."""
    return list(_load(path)["insurance_types"])


def article_2(path: Path = LEGAL_BASIS_FILE) -> Article2Explanation:
    """Article 2's text and its plain-words explanation."""
    data = _load(path)
    article = data["article_2"]
    return Article2Explanation(
        citation=article["citation"],
        text=article["text"],
        plain_words=article["plain_words"],
        for_you=article["for_you"],
        law_title=data["law"]["title"],
        law_history=data["law"]["history"],
    )


def explain_insurance_type(
    key: str, path: Path = LEGAL_BASIS_FILE
) -> InsuranceTypeExplanation | None:
    """What Article 2 guarantees for one insurance type; None for a type the law does not name."""
    data = _load(path)
    entry = data["insurance_types"].get(key)
    if entry is None:
        return None
    return InsuranceTypeExplanation(
        key=key,
        name=entry["name"],
        guarantee=entry["guarantee"],
        reimbursement=" ".join(entry["reimbursement"].split()),
        articles=tuple(
            ArticleReference(number=str(n), summary=data["articles"][str(n)])
            for n in entry["articles"]
        ),
    )
