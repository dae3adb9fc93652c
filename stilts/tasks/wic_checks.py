"""WiC's judgement check: does a span mark a form of the row's `word`? A span should be one whole word
of its sentence with the same first letter as `word`, case aside (inflections: feel/felt, foot/feet,
ride/rode; in a hyphenated token, any of its parts), or one of the few suppletive forms that do not
share it (be: is/was/were..., go: went). A judgement, so the readers warn and count (`flagged`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Forms of a WiC target word that do not begin with its first letter (English suppletion).
SUPPLETIVE = {
    "be": {"am", "is", "are", "was", "were", "been", "being", "'s", "'re", "'m"},
    "go": {"went"},
}


def wic_span_problem(sentence: str, start: int, end: int, word: str) -> str | None:
    """Why characters [start, end) of `sentence` do not mark `word` (None when they do; rule above)."""
    marked = sentence[start:end]
    cut_start = start > 0 and sentence[start - 1].isalnum() and not marked.startswith("'")
    cut_end = end < len(sentence) and sentence[end].isalnum()
    if cut_start or cut_end or not marked.strip() or len(marked.split()) != len(word.split()):
        return f"marks {marked!r}, which is not a whole word of the sentence"
    form, lemma = marked.lower(), word.lower()
    initials = {part[:1] for part in form.split("-")}  # a compound token: "self-control" for control
    if lemma[:1] not in initials and form not in SUPPLETIVE.get(lemma, ()):
        return f"marks {marked!r}, which is no form of the word {word!r}"
    return None


WIC_FLAG = "spans that may not mark the word (kept as marked)"


def wic_flags(row: Mapping[str, Any]) -> list[str]:
    """The judgement problems of a WiC row's spans (empty when both mark a form of `word`)."""
    if "word" not in row:
        return []
    flags = []
    for k in (1, 2):
        start, end = row[f"start{k}"], row[f"end{k}"]
        problem = wic_span_problem(row[f"sentence{k}"], start, end, row["word"])
        if problem:
            flags.append(f"start{k}/end{k} = {start}/{end} {problem}")
    return flags
