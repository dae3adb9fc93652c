"""Function-word acceptability tasks derived from any tokenised corpus (after Kim et al. 2019, DNC).

Each builder returns {"acceptable": [(context, hypothesis)], "unacceptable": [...]} from disjoint
halves of the usable sentences (no sentence appears both intact and corrupted):

- eos: lower-cased, unpunctuated sentences whose end is intact (acceptable) or moved: cut 1-3 words
  early or run 1-3 words into the next corpus line (unacceptable). `hypothesis` holds the text that
  follows the context, as in DNC's eos files.
- def: an article made wrong: `a` <-> `an` (against the next word's sound), or `the` before a
  plural-looking noun turned into `a`/`an` ("a dogs").
- coord: a coordinating conjunction made wrong: its correlative partner mismatched
  (either ... and, neither ... or, both ... or) or, without one, moved after the next word.
- wh: a wh-word swapped across classes: an argument wh-word (who, what, whom, which) for an adjunct
  one (where, when, why, how) or the other way round ("Why ate the cake ?").
The heuristics are made for plain English text and leave some corrupted sentences acceptable; the
tasks are for comparing encoders, not for measuring grammar.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from stilts.probes.corpus import PUNCTUATION, is_word
from stilts.probes.senteval import join

Pairs = dict[str, list[tuple[str, str]]]
Sentences = Sequence[list[str]]
VOWEL_SOUND = tuple("aeiou")
CONJUNCTIONS = ("and", "or", "but", "nor")
CORRELATIVE_MISMATCH = {"either": ("or", "and"), "neither": ("nor", "or"), "both": ("and", "or")}
ARGUMENT_WH = ("who", "what", "whom", "which")
ADJUNCT_WH = ("where", "when", "why", "how")


def _split(candidates: list, rng: random.Random) -> tuple[list, list]:
    candidates = list(candidates)
    rng.shuffle(candidates)
    half = len(candidates) // 2
    return candidates[:half], candidates[half:]


def _cased_like(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _plain(tokens: Sequence[str]) -> list[str]:
    return [t.lower() for t in tokens if t not in PUNCTUATION]


def eos(sentences: Sentences, rng: random.Random) -> Pairs:
    """Acceptable: a whole sentence; unacceptable: its end cut early or run into the next line."""
    plain = [_plain(t) for t in sentences]
    usable = [i for i in range(len(plain) - 1) if len(plain[i]) >= 5 and len(plain[i + 1]) >= 4]
    changed, kept = _split(usable, rng)
    good = [(join(plain[i]), join(plain[i + 1])) for i in kept]
    bad = []
    for i in changed:
        words, following, k = plain[i], plain[i + 1], rng.randint(1, 3)
        if rng.random() < 0.5:
            bad.append((join(words[:-k]), join(words[-k:] + following)))
        else:
            bad.append((join(words + following[:k]), join(following[k:])))
    return {"acceptable": good, "unacceptable": bad}


def _article_spots(tokens: list[str]) -> list[int]:
    spots = []
    for i, token in enumerate(tokens[:-1]):
        word, after = token.lower(), tokens[i + 1].lower()
        if not after.isalpha():
            continue
        if word in ("a", "an") or (word == "the" and after.endswith("s") and not after.endswith("ss")):
            spots.append(i)
    return spots


def definiteness(sentences: Sentences, rng: random.Random) -> Pairs:
    """Unacceptable: one article made wrong (a/an against the next word's sound, or a/an before a
    plural-looking noun where the sentence had `the`)."""
    changed, kept = _split([t for t in sentences if _article_spots(t)], rng)
    bad = []
    for tokens in changed:
        i = rng.choice(_article_spots(tokens))
        word, after = tokens[i].lower(), tokens[i + 1].lower()
        if word == "the":
            new = "an" if after.startswith(VOWEL_SOUND) else "a"
        else:
            new = "a" if word == "an" else "an"
        out = list(tokens)
        out[i] = _cased_like(new, tokens[i])
        bad.append((join(out), ""))
    return {"acceptable": [(join(t), "") for t in kept], "unacceptable": bad}


def _conjunction_spots(tokens: list[str]) -> list[int]:
    return [
        i for i in range(1, len(tokens) - 1) if tokens[i].lower() in CONJUNCTIONS and is_word(tokens[i + 1])
    ]


def coordinating_conjunctions(sentences: Sentences, rng: random.Random) -> Pairs:
    """Unacceptable: a correlative pair mismatched, else a conjunction moved after the next word."""
    changed, kept = _split([t for t in sentences if _conjunction_spots(t)], rng)
    bad = []
    for tokens in changed:
        out = list(tokens)
        lowered = [t.lower() for t in tokens]
        i = rng.choice(_conjunction_spots(tokens))
        partner = next((w for w in lowered[:i] if w in CORRELATIVE_MISMATCH), None)
        if partner is not None and CORRELATIVE_MISMATCH[partner][0] == lowered[i]:
            out[i] = CORRELATIVE_MISMATCH[partner][1]
        else:
            out[i], out[i + 1] = out[i + 1], out[i]
        bad.append((join(out), ""))
    return {"acceptable": [(join(t), "") for t in kept], "unacceptable": bad}


def _wh_spots(tokens: list[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if t.lower() in ARGUMENT_WH + ADJUNCT_WH]


def wh_words(sentences: Sentences, rng: random.Random) -> Pairs:
    """Unacceptable: a wh-word replaced by one of the other class (argument <-> adjunct)."""
    changed, kept = _split([t for t in sentences if _wh_spots(t)], rng)
    bad = []
    for tokens in changed:
        i = rng.choice(_wh_spots(tokens))
        word = tokens[i].lower()
        other = ADJUNCT_WH if word in ARGUMENT_WH else ARGUMENT_WH
        out = list(tokens)
        out[i] = _cased_like(rng.choice(other), tokens[i])
        bad.append((join(out), ""))
    return {"acceptable": [(join(t), "") for t in kept], "unacceptable": bad}
