"""Dump the composed config of every task (in both slots and for stilts-data), model, experiment and
config-group choice to a JSON file, or compare such a dump with the current checkout's configs.

A change to the schema or the yamls must leave every composed config as it was, apart from the
changes meant: dump on the old checkout, then compare on the new one. Checkout paths (a tiny model's
`pretrained`) and the hashes they feed (`cell_name`) differ between checkouts and are masked.

    python scripts/config_snapshot.py dump /tmp/before.json        # on the old checkout
    python scripts/config_snapshot.py compare /tmp/before.json     # on the new one; exit 1 on a change
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

import stilts
from stilts.config import CONF_DIR, compose_config
from stilts.tasks.spec import known_tasks

GROUPS = ("model", "experiment", "control", "optim", "schedule", "trainer", "logger", "debug", "paths")
CHECKOUT = str(Path(stilts.__file__).resolve().parents[1])  # the checkout whose configs are read


def composed(overrides: list[str], config_name: str = "train") -> Any:
    try:
        return OmegaConf.to_container(compose_config(overrides, config_name), resolve=True)
    except Exception as err:  # noqa: BLE001 - a config that fails to compose is recorded as such
        return {"error": f"{type(err).__name__}: {err}"}


def snapshot() -> dict[str, Any]:
    configs: dict[str, Any] = {}
    for task in [*known_tasks(), "none"]:
        for slot in ("intermediate", "target"):
            configs[f"task@{slot}={task}"] = composed([f"task@{slot}={task}", "model=tiny"])
        configs[f"stilts-data task={task}"] = composed([f"task={task}"], "data")
    for group in GROUPS:
        for path in sorted((CONF_DIR / group).glob("*.yaml")):
            tiny = [] if group == "model" else ["model=tiny"]
            configs[f"{group}={path.stem}"] = composed([f"{group}={path.stem}", *tiny])
    for name in ("train", "data", "analyze", "rank"):
        configs[f"config {name}"] = composed([], name)
    return configs


def masked(config: Any, checkout: str = CHECKOUT) -> str:
    text = json.dumps(config).replace(f"{checkout}/stilts/", "<checkout>/stilts/")
    return re.sub(r"__[0-9a-f]{8}(?=__|\")", "__<hash>", text)


def main() -> None:
    command, path = sys.argv[1], Path(sys.argv[2])
    current = snapshot()
    if command == "dump":
        path.write_text(json.dumps({"checkout": CHECKOUT, "configs": current}, indent=1, default=str))
        print(f"{len(current)} configs written to {path}")
        return
    old = json.loads(path.read_text())
    changed = [
        name
        for name in sorted(set(old["configs"]) | set(current))
        if masked(old["configs"].get(name), old["checkout"]) != masked(current.get(name))
    ]
    print(f"{len(current)} configs, {len(changed)} changed" + "".join(f"\n  {n}" for n in changed))
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
