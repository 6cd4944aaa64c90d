"""Turning what a visitor typed into a query every search backend accepts."""

import re

# Letters, digits and underscores in any script: the "barewords" of SQLite's FTS5
# syntax, which Wagtail's SQLite backend passes to MATCH. Quotes, operators and
# other punctuation raise there (wagtail/wagtail#13227), and PostgreSQL refuses
# NUL bytes, so only words get through.
WORD = re.compile(r"\w+")
MAX_WORDS = 12
MAX_WORD_LENGTH = 40


def clean_query(raw: str) -> str:
    """The first few words of `raw`, lower-cased and without punctuation."""
    # Lower case, so that AND, OR, NOT and NEAR are words, not FTS5 operators.
    words = WORD.findall(raw.lower())
    return " ".join(word[:MAX_WORD_LENGTH] for word in words[:MAX_WORDS])
