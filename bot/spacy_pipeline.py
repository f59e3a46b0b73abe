"""Build the project's own spaCy pipeline: a blank English tokenizer plus an EntityRuler.

Pretrained spaCy models cannot be downloaded on the bureau's machines, and we only need
tokens and a dictionary of domain terms anyway. The terms come from the lookup tables and
synonyms in data/nlu/entities.yml, the same file Rasa trains on, so a term is added in one
place. Rasa's SpacyNLP loads the saved directory by path (config.yml names it).

    python -m bot.spacy_pipeline [OUTPUT_DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TERMS_FILE = PROJECT_ROOT / "data" / "nlu" / "entities.yml"
DEFAULT_OUTPUT_DIR = PROJECT_ROOT / "build" / "spacy" / "bureau_en"


def _example_lines(block: str) -> list[str]:
    """Rasa writes examples as a YAML block of `- text` lines."""
    return [
        line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")
    ]


def load_terms(terms_file: Path = DEFAULT_TERMS_FILE) -> dict[str, dict[str, list[str]]]:
    """Read {entity label: {canonical value: [surface forms]}} from a Rasa NLU file.

    A lookup table names the entity and lists its canonical values; a synonym entry
    lists surface forms of one canonical value. Canonical values written with
    underscores (old_age) are identifiers, not text anyone types, so they are not
    surface forms themselves.
    """
    items = yaml.safe_load(terms_file.read_text(encoding="utf-8"))["nlu"]
    synonyms: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if "synonym" in item:
            synonyms[str(item["synonym"])].extend(_example_lines(item["examples"]))

    terms: dict[str, dict[str, list[str]]] = {}
    for item in items:
        if "lookup" not in item:
            continue
        values = {}
        for value in _example_lines(item["examples"]):
            surfaces = list(synonyms.get(value, []))
            if "_" not in value:
                surfaces.append(value)
            values[value] = sorted(set(surfaces), key=str.lower)
        terms[str(item["lookup"])] = values
    return terms


def build_pipeline(terms: dict[str, dict[str, list[str]]]):
    """A blank English pipeline whose EntityRuler labels each surface form, case-insensitively."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    patterns = [
        {"label": label, "pattern": surface, "id": value}
        for label, values in terms.items()
        for value, surfaces in values.items()
        for surface in surfaces
    ]
    ruler.add_patterns(patterns)
    return nlp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", nargs="?", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument("--terms", type=Path, default=DEFAULT_TERMS_FILE)
    args = parser.parse_args(argv)

    terms = load_terms(args.terms)
    nlp = build_pipeline(terms)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(args.output_dir)
    count = sum(len(s) for values in terms.values() for s in values.values())
    print(f"spaCy pipeline with {count} patterns for {sorted(terms)} saved to {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
