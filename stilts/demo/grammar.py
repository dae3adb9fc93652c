"""A small seeded generative grammar of English, its corpus and the demo's transfer tasks.

The grammar has about 300 word forms: nouns in singular and plural, verbs in base, third-person
singular and past forms, adjectives, adverbs, prepositions and the function words that agreement,
coordination, tense, wh-questions (with do-support), relative clauses and the articles a/an/the
need. Every generated sentence is grammatical by construction: a present-tense verb agrees with its
subject, `a`/`an` follow the next word's sound, `a`/`an`/`every`/`this` only take singular nouns.

`write_demo_data` writes the masked-LM corpus (one sentence per line, also an input of
`stilts-probes`) and five SentEval-format tasks (`partition \\t label \\t sentence`, read by the
demo_* task yamls with stilts.tasks.probing.SentEvalReader):

- demo_subjnum (intermediate, NN/NNS): number of the main-clause subject, often behind an attractor.
- demo_localagree (intermediate, acceptable iff the verb agrees with the noun right before it): a
  spurious rule that agrees with real agreement only when subject and attractor share a number.
- demo_tense (intermediate, PAST/PRES) and demo_question (intermediate, STATEMENT/QUESTION).
- demo_agree (target, acceptable iff the main verb agrees with the subject; 80% of the sentences
  put an attractor noun between them, of the other number in half of those).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ANIMATE = [
    ("dog", "dogs"), ("cat", "cats"), ("teacher", "teachers"), ("farmer", "farmers"),
    ("doctor", "doctors"), ("child", "children"), ("student", "students"), ("pilot", "pilots"),
    ("singer", "singers"), ("baker", "bakers"), ("lawyer", "lawyers"), ("nurse", "nurses"),
    ("artist", "artists"), ("king", "kings"), ("girl", "girls"), ("boy", "boys"), ("man", "men"),
    ("woman", "women"), ("friend", "friends"), ("neighbor", "neighbors"), ("driver", "drivers"),
    ("writer", "writers"), ("actor", "actors"), ("uncle", "uncles"), ("owl", "owls"),
    ("eagle", "eagles"), ("officer", "officers"), ("engineer", "engineers"),
]  # fmt: skip
THINGS = [
    ("book", "books"), ("apple", "apples"), ("car", "cars"), ("letter", "letters"), ("song", "songs"),
    ("picture", "pictures"), ("box", "boxes"), ("key", "keys"), ("ball", "balls"), ("house", "houses"),
    ("window", "windows"), ("egg", "eggs"), ("orange", "oranges"), ("umbrella", "umbrellas"),
    ("engine", "engines"), ("island", "islands"), ("idea", "ideas"), ("story", "stories"),
    ("cake", "cakes"), ("map", "maps"), ("coin", "coins"), ("hat", "hats"),
]  # fmt: skip
TRANSITIVE = [
    ("see", "sees", "saw"), ("like", "likes", "liked"), ("find", "finds", "found"),
    ("help", "helps", "helped"), ("call", "calls", "called"), ("visit", "visits", "visited"),
    ("watch", "watches", "watched"), ("follow", "follows", "followed"), ("chase", "chases", "chased"),
    ("carry", "carries", "carried"), ("paint", "paints", "painted"), ("want", "wants", "wanted"),
    ("need", "needs", "needed"), ("buy", "buys", "bought"), ("sell", "sells", "sold"),
    ("draw", "draws", "drew"), ("catch", "catches", "caught"), ("hold", "holds", "held"),
    ("meet", "meets", "met"), ("know", "knows", "knew"), ("love", "loves", "loved"),
    ("admire", "admires", "admired"), ("greet", "greets", "greeted"), ("push", "pushes", "pushed"),
]  # fmt: skip
INTRANSITIVE = [
    ("sleep", "sleeps", "slept"), ("laugh", "laughs", "laughed"), ("smile", "smiles", "smiled"),
    ("wait", "waits", "waited"), ("run", "runs", "ran"), ("sing", "sings", "sang"),
    ("dance", "dances", "danced"), ("cry", "cries", "cried"), ("swim", "swims", "swam"),
    ("arrive", "arrives", "arrived"), ("fall", "falls", "fell"), ("rest", "rests", "rested"),
]  # fmt: skip
ADJECTIVES = (
    "old young tall small happy quiet busy kind red green big little brave clever lazy angry early "
    "ugly empty honest"
).split()
ADVERBS = "often quickly slowly happily quietly today yesterday again".split()
PREPOSITIONS = "near behind beside with under above".split()
PLACES = "park station market school library kitchen office garden river forest".split()
WH_ADJUNCT = ("where", "when", "why")
VOWEL_SOUND = tuple("aeiou")
SILENT_H = ("honest",)


def article_for(word: str) -> str:
    return "an" if word.startswith(VOWEL_SOUND) or word in SILENT_H else "a"


def verb_form(verb: tuple[str, str, str], tense: str, plural: bool) -> str:
    """The finite form: past for PAST, else the agreeing present (base for plural subjects)."""
    if tense == "PAST":
        return verb[2]
    return verb[0] if plural else verb[1]


@dataclass
class Sentence:
    """A generated sentence and the facts the tasks label it by."""

    tokens: list[str]
    subject_plural: bool
    tense: str
    verb_index: int  # the main verb (or do-auxiliary of a question)
    attractor_plural: bool | None = None  # the noun right before the main verb, if not the subject
    question: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class Grammar:
    """Seeded sentence generator. All randomness goes through `self.rng`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def coin(self, p: float = 0.5) -> bool:
        return self.rng.random() < p

    def noun_phrase(self, plural: bool, animate: bool = True) -> list[str]:
        noun = self.rng.choice(ANIMATE if animate else THINGS)[1 if plural else 0]
        words = [self.rng.choice(ADJECTIVES), noun] if self.coin(0.4) else [noun]
        if plural:
            det = self.rng.choice(["the", "the", "some", "many", "these", "those"])
        else:
            det = self.rng.choice(["the", "the", "a", "every", "this", "that"])
            det = article_for(words[0]) if det == "a" else det
        return [det, *words]

    def predicate(self, tense: str, plural: bool) -> list[str]:
        """Finite verb first, then an object (transitive) and optional PP/adverb."""
        if self.coin(0.65):
            out = [
                verb_form(self.rng.choice(TRANSITIVE), tense, plural),
                *self.noun_phrase(self.coin(), self.coin()),
            ]
        else:
            out = [verb_form(self.rng.choice(INTRANSITIVE), tense, plural)]
        if self.coin(0.3):
            out += [self.rng.choice(PREPOSITIONS), "the", self.rng.choice(PLACES)]
        elif self.coin(0.2):
            out.append(self.rng.choice(ADVERBS))
        return out

    def clause(
        self, tense: str | None = None, plural: bool | None = None, attractor: bool | None = None
    ) -> Sentence:
        """A declarative clause; `attractor` (its number) puts a relative clause or PP with a noun
        of that number between subject and verb."""
        tense = tense or self.rng.choice(["PAST", "PRES"])
        plural = self.coin() if plural is None else plural
        subject = self.noun_phrase(plural)
        if attractor is not None:
            if self.coin():  # relative clause: "the dog that chases the cats"; its verb agrees with the head
                verb = verb_form(self.rng.choice(TRANSITIVE), tense, plural)
                subject += ["that", verb, *self.noun_phrase(attractor)]
            else:
                subject += [self.rng.choice(PREPOSITIONS), *self.noun_phrase(attractor)]
        return Sentence(subject + self.predicate(tense, plural), plural, tense, len(subject), attractor)

    def declarative(self, **kwargs: object) -> Sentence:
        sentence = self.clause(**kwargs)  # type: ignore[arg-type]
        if not kwargs and self.coin(0.2):  # coordination of two clauses
            second = self.clause()
            sentence.tokens += [",", self.rng.choice(["and", "but", "or"]), *second.tokens]
        sentence.tokens = [sentence.tokens[0].capitalize(), *sentence.tokens[1:], "."]
        return sentence

    def question(self, tense: str | None = None, plural: bool | None = None) -> Sentence:
        """`who` + finite verb, or wh-word + do-support (`does`/`do`/`did`) + subject + base verb."""
        tense = tense or self.rng.choice(["PAST", "PRES"])
        plural = self.coin() if plural is None else plural
        if self.coin(0.3):  # subject question: `who` is singular
            verb = verb_form(self.rng.choice(TRANSITIVE), tense, False)
            return Sentence(["Who", verb, *self.noun_phrase(plural), "?"], False, tense, 1, question=True)
        aux = "did" if tense == "PAST" else ("do" if plural else "does")
        subject = self.noun_phrase(plural)
        if self.coin():
            tokens = ["What", aux, *subject, self.rng.choice(TRANSITIVE)[0], "?"]
        else:
            tokens = [
                self.rng.choice(WH_ADJUNCT).capitalize(),
                aux,
                *subject,
                self.rng.choice(INTRANSITIVE)[0],
                "?",
            ]
        return Sentence(tokens, plural, tense, 1, question=True)

    def any_sentence(self) -> Sentence:
        if self.coin(0.15):
            return self.question()
        return self.declarative(attractor=self.coin()) if self.coin(0.3) else self.declarative()


def flip_agreement(sentence: Sentence) -> str:
    """The sentence with its present-tense main verb in the other number (ungrammatical)."""
    tokens = list(sentence.tokens)
    word = tokens[sentence.verb_index]
    for base, third, _ in TRANSITIVE + INTRANSITIVE:
        if word in (base, third):
            tokens[sentence.verb_index] = third if word == base else base
            return " ".join(tokens)
    raise ValueError(f"no present-tense verb at {sentence.verb_index} in {sentence.text!r}")


def _rows(grammar: Grammar, task: str, n: int) -> list[tuple[str, str]]:
    """n balanced (label, sentence) rows of one demo task."""
    g, rows = grammar, []
    for i in range(n):
        first = i % 2 == 0  # alternate the two labels: balanced by construction
        if task == "demo_subjnum":
            s = g.declarative(plural=first, attractor=not first if g.coin(0.7) else None)
            rows.append(("NNS" if first else "NN", s.text))
        elif task == "demo_tense":
            rows.append(("PAST" if first else "PRES", g.declarative(tense="PAST" if first else "PRES").text))
        elif task == "demo_question":
            s = g.question() if first else g.declarative()
            rows.append(("QUESTION" if first else "STATEMENT", s.text))
        else:  # demo_agree / demo_localagree: present tense, an attractor in most sentences
            s = g.declarative(tense="PRES", attractor=g.coin() if g.coin(0.8) else None)
            local = s.subject_plural if s.attractor_plural is None else s.attractor_plural
            # Correct verb: agrees with the subject. Local rule: agrees with the nearest noun.
            agrees_with = s.subject_plural if task == "demo_agree" else local
            if first:
                text = s.text if agrees_with == s.subject_plural else flip_agreement(s)
            else:
                text = flip_agreement(s) if agrees_with == s.subject_plural else s.text
            rows.append(("acceptable" if first else "unacceptable", text))
    return rows


DEMO_TASKS = {  # task -> file name (under out_dir/<task>/), read by conf/task/<task>.yaml
    "demo_subjnum": "subj_number.txt",
    "demo_localagree": "local_agreement.txt",
    "demo_tense": "past_present.txt",
    "demo_question": "question.txt",
    "demo_agree": "agreement.txt",
}
TARGETS = ("demo_agree",)


def write_demo_data(
    out_dir: str | Path,
    seed: int = 0,
    n_sentences: int = 20000,
    n_intermediate: int = 2000,
    n_target: int = 400,
) -> dict[str, Path]:
    """Write the corpus and the demo tasks under `out_dir`.

    Args:
        out_dir: written as `out_dir/corpus.txt` and `out_dir/<task>/<file>` (a `paths.data_dir`).
        seed: the only source of randomness: equal seeds give byte-identical files.
        n_sentences: corpus lines.
        n_intermediate: training examples of each intermediate task (val and test: a tenth each).
        n_target: training examples of each target task (val and test: half as many each).

    Returns:
        `corpus` and every task name -> the file written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grammar = Grammar(seed)
    corpus = out / "corpus.txt"
    corpus.write_text(
        "\n".join(grammar.any_sentence().text for _ in range(n_sentences)) + "\n", encoding="utf-8"
    )
    written = {"corpus": corpus}
    for task, file in DEMO_TASKS.items():
        size = n_target if task in TARGETS else n_intermediate
        held_out = max(8, size // 2 if task in TARGETS else size // 10)
        lines = []
        for partition, n in (("tr", size), ("va", held_out), ("te", held_out)):
            lines += [f"{partition}\t{label}\t{text}" for label, text in _rows(grammar, task, n)]
        path = out / task / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written[task] = path
    log.info(
        "demo data (seed %d): %d corpus sentences, tasks %s -> %s", seed, n_sentences, list(DEMO_TASKS), out
    )
    return written
