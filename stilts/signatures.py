"""Check `_target_` nodes against their callables' signatures before any data is read.

A misspelt argument under a task's `head:` would otherwise surface as a TypeError traceback when the
head is built, after the data was loaded and featurized. Keys Hydra reads itself (`_partial_`,
`_recursive_`, `_convert_`, `_args_`) are not arguments; a callable that takes `**kwargs` accepts the
arguments of the base class `__init__` it forwards them to, and any key when that chain ends open.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable
from functools import cache
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig

from stilts.errors import ConfigError

HYDRA_KEYS = frozenset({"_target_", "_partial_", "_recursive_", "_convert_", "_args_"})


def check_targets(node: Any, key: str, where: str = "", extra: Iterable[str] = ()) -> None:
    """Check every `_target_` node in `node` (at config key `key`), nested ones included.

    Args:
        where: the yaml that sets the node, for the message (e.g. ` (task yaml task/rte.yaml ...)`).
        extra: keys of the top node that stilts reads itself (a control's `name`).

    Raises:
        ConfigError: naming the key, the callable and the arguments it accepts.
    """
    if isinstance(node, DictConfig):
        if node.get("_target_") is not None:
            check_target(node, key, where, extra)
        children: Iterable[tuple[Any, Any]] = node.items_ex(resolve=False)
    elif isinstance(node, ListConfig):
        children = enumerate(node._iter_ex(resolve=False))  # noqa: SLF001 - items without resolving
    else:
        return
    for name, child in children:
        if name not in HYDRA_KEYS:
            check_targets(child, f"{key}.{name}", where)


def check_target(node: DictConfig, key: str, where: str = "", extra: Iterable[str] = ()) -> None:
    """Refuse a key of `node` that its `_target_` callable takes no argument for."""
    target = str(node.get("_target_"))
    accepted, open_ = arguments(target, f"{key}._target_", where)
    if open_:
        return
    for name in node.keys():
        name = str(name)
        if name in HYDRA_KEYS or name in accepted or name in extra:
            continue
        close = difflib.get_close_matches(name, accepted, n=1)
        hint = f"; did you mean `{key}.{close[0]}`?" if close else ""
        raise ConfigError(
            f"`{key}.{name}` is not a setting `{target}` accepts{where}{hint} "
            f"(its arguments: {', '.join(accepted) or 'none'})"
        )


def build_check(node: DictConfig, key: str, where: str = "") -> None:
    """Build `node` to check it, for a cheap object whose callable takes `**kwargs` (a torchmetrics
    metric checks them in its constructor)."""
    target = str(node.get("_target_"))
    accepted, open_ = arguments(target, f"{key}._target_", where)
    if not open_:
        return
    try:
        instantiate(node)
    except Exception as err:  # noqa: BLE001 - whatever the constructor refuses is a config error
        cause = err.__cause__ or err
        raise ConfigError(
            f"`{key}`{where} cannot be built: {cause} (`{target}` takes {', '.join(accepted)} "
            "and keyword arguments of its own)"
        ) from err


def arguments(target: str, key: str, where: str = "") -> tuple[tuple[str, ...], bool]:
    """The argument names `target` accepts, and whether it takes any other keyword too."""
    try:
        return _arguments(target)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"`{key}` is {target!r}{where}: cannot import it ({err})") from err


@cache
def _arguments(target: str) -> tuple[tuple[str, ...], bool]:
    obj = locate(target)
    chain = inspect.getmro(obj) if inspect.isclass(obj) else (obj,)
    names: list[str] = []
    open_ = True
    for callable_ in chain:
        if inspect.isclass(callable_):
            if "__init__" not in vars(callable_) or callable_ is object:
                continue
            callable_ = callable_.__init__
        try:
            params = inspect.signature(callable_).parameters.values()
        except (TypeError, ValueError):
            break  # a builtin without a readable signature: any keyword may do
        names += [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            open_ = False
            break
    return tuple(dict.fromkeys(n for n in names if n != "self")), open_


def locate(target: str) -> Any:
    """The object at dotted path `target`: its longest importable module, then attributes."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name is None or not module.startswith(err.name):
                raise  # the module exists but imports something missing
            continue
        for name in parts[end:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"no module {parts[0]!r}")
