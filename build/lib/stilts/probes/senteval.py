"""SentEval-style probing tasks derived from any tokenised corpus (Conneau et al. 2018, simplified).

Each builder maps tokenised sentences to label -> sentences (before balancing); it never uses a
sentence twice, so no sentence appears both as original and as changed.

- sentence length: SentEval's 6 bins of token counts (5-8, 9-12, 13-16, 17-20, 21-25, 26-28).
- word content: k mid-frequency lower-case words of 4+ letters (the most frequent fifth skipped, as
  SentEval skips the top 2,000 ranks); a sentence qualifies when it holds exactly one occurrence of
  exactly one target word, which is its label.
- bigram shift: two adjacent words (not the first token, not punctuation) swapped (I) or not (O).
- coordination inversion: the two clauses around the only coordinating conjunction swapped (I) or
  not (O); capitalisation moved to the new first word.
- odd man out: one content word (a noun/verb-ish word: not a function word) replaced by another of
  similar corpus frequency and the same suffix class (C), or not (O).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from stilts.probes.corpus import PUNCTUATION, is_word

Sentences = Sequence[list[str]]
LENGTH_BINS = ((5, 8), (9, 12), (13, 16), (17, 20), (21, 25), (26, 28))
CONJUNCTIONS = frozenset({"and", "but", "or", "yet", "so"})
MIN_CLAUSE = 2  # words on each side of the conjunction for it to join two clauses
FUNCTION_WORDS = frozenset(
    """a an the this that these those some any no every each all both either neither and or but nor
    yet so for of in on at by to from with without about into onto over under after before since
    until while as than because if when where why how who whom whose which what i you he she it we
    they me him her us them my your his its our their mine yours is are was were be been being am
    do does did have has had will would shall should can could may might must not n't there here
    then very too also just only even still""".split()
)


def join(tokens: Sequence[str]) -> str:
    return " ".join(tokens)


def sentence_length(sentences: Sentences, rng: random.Random) -> dict[str, list[str]]:
    """Label = the SentEval bin of the token count; sentences outside every bin are not used."""
    out: dict[str, list[str]] = {}
    for tokens in sentences:
        for label, (low, high) in enumerate(LENGTH_BINS):
            if low <= len(tokens) <= high:
                out.setdefault(str(label), []).append(join(tokens))
    return out


def word_content(sentences: Sentences, rng: random.Random, k: int = 1000) -> dict[str, list[str]]:
    """Label = the one target word the sentence holds (once)."""
    counts = Counter(t.lower() for tokens in sentences for t in tokens if t.isalpha() and len(t) >= 4)
    ranked = [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    targets = set(ranked[len(ranked) // 5 :][:k])
    out: dict[str, list[str]] = {}
    for tokens in sentences:
        found = [t.lower() for t in tokens if t.lower() in targets]
        if len(found) == 1:
            out.setdefault(found[0], []).append(join(tokens))
    return out


def _halves(candidates: list[list[str]], rng: random.Random) -> tuple[list[list[str]], list[list[str]]]:
    """Shuffle candidates and cut them in two: the first half is changed, the second kept."""
    candidates = list(candidates)
    rng.shuffle(candidates)
    half = len(candidates) // 2
    return candidates[:half], candidates[half:]


def bigram_shift(sentences: Sentences, rng: random.Random) -> dict[str, list[str]]:
    """I: two adjacent words inverted; O: original. No double quotes (as in SentEval)."""
    usable = [t for t in sentences if len(t) >= 5 and '"' not in t]
    changed, kept = _halves(usable, rng)
    inverted = []
    for tokens in changed:
        spots = [
            i
            for i in range(1, len(tokens) - 1)
            if is_word(tokens[i]) and is_word(tokens[i + 1]) and tokens[i].lower() != tokens[i + 1].lower()
        ]
        if spots:
            i = rng.choice(spots)
            swapped = list(tokens)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            inverted.append(join(swapped))
    return {"I": inverted, "O": [join(t) for t in kept]}


def _coordination(tokens: list[str]) -> tuple[list[str], str, list[str], list[str]] | None:
    """(left clause, conjunction with its comma, right clause, final punctuation) or None."""
    end = len(tokens)
    while end and tokens[end - 1] in PUNCTUATION:
        end -= 1
    spots = [i for i in range(end) if tokens[i].lower() in CONJUNCTIONS]
    if len(spots) != 1:
        return None
    i = spots[0]
    left = tokens[: i - 1] if i and tokens[i - 1] == "," else tokens[:i]
    right = tokens[i + 1 : end]
    if len(left) < MIN_CLAUSE or len(right) < MIN_CLAUSE or any(t in ",;:" for t in left + right):
        return None
    conj = ", " + tokens[i] if len(left) < i else tokens[i]
    return left, conj, right, tokens[end:]


def _recase(first: list[str], second: list[str]) -> tuple[list[str], list[str]]:
    """Move sentence-initial capitalisation from the old first word to the new one."""
    first, second = list(first), list(second)
    word = second[0]
    if word[:1].isupper() and word[1:].islower() and word != "I":
        second[0] = word.lower()
    first[0] = first[0][:1].upper() + first[0][1:]
    return first, second


def coordination_inversion(sentences: Sentences, rng: random.Random) -> dict[str, list[str]]:
    """I: the clauses around the only coordinating conjunction swapped; O: original."""
    usable = [t for t in sentences if _coordination(t) is not None]
    changed, kept = _halves(usable, rng)
    inverted = []
    for tokens in changed:
        left, conj, right, final = _coordination(tokens) or ([], "", [], [])
        right, left = _recase(right, left)
        inverted.append(join([*right, conj, *left, *final]))
    return {"I": inverted, "O": [join(t) for t in kept]}


def _suffix_class(word: str) -> str:
    for suffix in ("ing", "ed", "ly", "s"):
        if word.endswith(suffix):
            return suffix
    return ""


def odd_man_out(sentences: Sentences, rng: random.Random, window: int = 10) -> dict[str, list[str]]:
    """C: one content word replaced by a word of similar frequency and suffix; O: original."""
    counts = Counter(t for tokens in sentences for t in tokens if _content(t))
    ranked = [w for w, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if c >= 2]
    rank = {w: i for i, w in enumerate(ranked)}
    usable = [t for t in sentences if len(t) >= 4 and any(t[i] in rank for i in range(1, len(t)))]
    changed, kept = _halves(usable, rng)
    replaced = []
    for tokens in changed:
        spots = [i for i in range(1, len(tokens)) if tokens[i] in rank]
        i = rng.choice(spots)
        word, here = tokens[i], rank[tokens[i]]
        near = ranked[max(0, here - window) : here + window + 1]
        options = [w for w in near if w not in tokens and _suffix_class(w) == _suffix_class(word)]
        if options:
            new = list(tokens)
            new[i] = rng.choice(options)
            replaced.append(join(new))
    return {"C": replaced, "O": [join(t) for t in kept]}


def _content(token: str) -> bool:
    return token.isalpha() and token.islower() and len(token) >= 3 and token not in FUNCTION_WORDS
