"""`stilts-probes`: probing tasks from any plain-text corpus, in the tasks' native formats.

    stilts-probes CORPUS.txt OUT_DIR [--seed N] [--max-sentences N] [--tasks se_bshift aj_def ...]
    stilts-train task@target=se_bshift paths.data_dir=OUT_DIR

The corpus holds one sentence per line. Each task is written as `OUT_DIR/<task>/<original file
name>` (SentEval txt or DNC data + metadata json), so the task yamls read it unchanged. Labels are
balanced; a task the corpus cannot support is skipped with a warning naming it. The output is a
function of the corpus, the options and the seed.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stilts.errors import StiltsError
from stilts.probes import function_words, senteval
from stilts.probes.corpus import DNC_LABELS, TooFewExamples, balance, read_corpus, write_dnc, write_senteval

log = logging.getLogger("stilts.probes")


@dataclass(frozen=True)
class ProbeTask:
    """How to derive one task: its builder, its file (SentEval) or stem (DNC), its labels."""

    build: Callable
    file: str
    labels: tuple[str, ...] | None  # None: an open set (length bins, target words)
    dnc: bool = False


def tasks(wc_words: int = 1000) -> dict[str, ProbeTask]:
    return {
        "se_sentlen": ProbeTask(senteval.sentence_length, "sentence_length.txt", None),
        "se_wc": ProbeTask(partial(senteval.word_content, k=wc_words), "word_content.txt", None),
        "se_bshift": ProbeTask(senteval.bigram_shift, "bigram_shift.txt", ("O", "I")),
        "se_coordinv": ProbeTask(senteval.coordination_inversion, "coordination_inversion.txt", ("O", "I")),
        "se_somo": ProbeTask(senteval.odd_man_out, "odd_man_out.txt", ("O", "C")),
        "aj_eos": ProbeTask(function_words.eos, "acceptability-eos", DNC_LABELS, True),
        "aj_def": ProbeTask(function_words.definiteness, "acceptability-definiteness", DNC_LABELS, True),
        "aj_coord": ProbeTask(
            function_words.coordinating_conjunctions,
            "acceptability-coordinating-conjunctions",
            DNC_LABELS,
            True,
        ),
        "aj_wh": ProbeTask(function_words.wh_words, "acceptability-whwords", DNC_LABELS, True),
    }


TASK_NAMES = tuple(tasks())


def make_probes(
    corpus: Path,
    out_dir: Path,
    seed: int = 1,
    max_sentences: int | None = None,
    names: Sequence[str] = TASK_NAMES,
    min_per_label: int = 10,
    wc_words: int = 1000,
) -> dict[str, dict]:
    """Derive the tasks `names` from `corpus` into `out_dir`.

    Returns:
        task name -> {"files": [paths], "examples": n, "per_label": n} for the tasks written
        (skipped tasks are absent and logged with the reason).
    """
    sentences = read_corpus(corpus, max_sentences)
    registry = tasks(wc_words)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise StiltsError(f"unknown probing tasks {unknown}; known: {', '.join(registry)}")
    written: dict[str, dict] = {}
    for name in names:
        task = registry[name]
        # One generator per task, seeded by (seed, task): a task's output does not depend on
        # which other tasks were asked for.
        rng = random.Random(f"{seed}:{name}")
        try:
            by_label = balance(task.build(sentences, rng), rng, min_per_label, task.labels)
        except TooFewExamples as err:
            log.warning("skipping %s: %s (corpus %s)", name, err, corpus)
            continue
        task_dir = out_dir / name
        if task.dnc:
            count = write_dnc(task_dir, task.file, by_label, rng, corpus.name)
            files = [task_dir / f"{task.file}_data.json", task_dir / f"{task.file}_metadata.json"]
        else:
            count = write_senteval(task_dir / task.file, by_label, rng)
            files = [task_dir / task.file]
        per_label = len(next(iter(by_label.values())))
        log.info("%s: %d examples, %d labels x %d -> %s", name, count, len(by_label), per_label, task_dir)
        written[name] = {
            "files": files,
            "examples": count,
            "labels": sorted(by_label),
            "per_label": per_label,
        }
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stilts-probes", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="plain text, one sentence per line")
    parser.add_argument("out_dir", type=Path, help="written as OUT_DIR/<task>/<file>; use as paths.data_dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-sentences", type=int, default=None, help="read at most this many lines")
    parser.add_argument("--tasks", nargs="+", default=list(TASK_NAMES), choices=TASK_NAMES, metavar="TASK")
    parser.add_argument("--min-per-label", type=int, default=10, help="fewer usable sentences: skip")
    parser.add_argument("--wc-words", type=int, default=1000, help="target words of se_wc (<= 1000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.min_per_label < 3:
        parser.error("--min-per-label must be at least 3 (one example per label in each of tr, va, te)")
    if not 2 <= args.wc_words <= 1000:
        parser.error("--wc-words must be in 2..1000 (se_wc's metric counts at most 1,000 classes)")
    try:
        written = make_probes(
            args.corpus,
            args.out_dir,
            args.seed,
            args.max_sentences,
            args.tasks,
            args.min_per_label,
            args.wc_words,
        )
    except StiltsError as err:
        log.error("%s", err)
        sys.exit(2)
    skipped = [n for n in args.tasks if n not in written]
    log.info(
        "wrote %d tasks under %s%s", len(written), args.out_dir, f"; skipped {skipped}" if skipped else ""
    )
