"""Write a held-out text sample for the forgetting measures (`forgetting.text`): one sentence a line,
taken from text fields of JSON-lines files that are no training data of the study.

    python scripts/heldout_text.py OUT.txt FILE.jsonl:passage FILE.jsonl:passage.text ...

Each FILE:FIELD names a jsonl file and the (dotted) field holding running text; the text is split into
sentences at `.`, `!` or `?` followed by white space, with markup such as `@highlight` lines and
`<b>Sent 1: </b>` labels removed, and sentences of fewer than 5 words dropped. The output is in file
and sentence order, without duplicates.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MARKUP = re.compile(r"<[^>]+>|Sent \d+:|@highlight")


def sentences(text: str) -> list[str]:
    clean = " ".join(MARKUP.sub(" ", text).split())
    return [s for s in SENTENCE_END.split(clean) if len(s.split()) >= 5]


def field(obj: dict, dotted: str) -> str:
    value: object = obj
    for part in dotted.split("."):
        value = value[part]  # type: ignore[index]
    if not isinstance(value, str):
        raise SystemExit(f"field {dotted} is not text")
    return value


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    out, sources = Path(argv[0]), argv[1:]
    seen: dict[str, None] = {}
    for source in sources:
        path, _, dotted = source.rpartition(":")
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.update(dict.fromkeys(sentences(field(json.loads(line), dotted))))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{s}\n" for s in seen), encoding="utf-8")
    print(f"{out}: {len(seen)} sentences")


if __name__ == "__main__":
    main(sys.argv[1:])
