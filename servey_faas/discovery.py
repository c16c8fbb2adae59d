"""Finding the actions of an app: import a module (walking a package), collect its actions once."""

from __future__ import annotations

import importlib
import os
import pkgutil
import traceback
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType

from servey_faas.action import Action, get_action
from servey_faas.errors import ActionNotFoundError, DiscoveryError


class ActionRegistry(Mapping[str, Action]):
    """The actions of an app, by name, in discovery order. Immutable once built.

    :raises DiscoveryError: when two different actions share a name (both places are named).
    """

    def __init__(self, actions: Iterable[Action]) -> None:
        by_name: dict[str, Action] = {}
        for a in actions:
            other = by_name.get(a.name)
            if other is not None and other.fn is not a.fn:
                raise DiscoveryError(f"two actions are named {a.name!r}: {other.location} and {a.location}")
            by_name[a.name] = a
        self._by_name = by_name

    def __getitem__(self, name: str) -> Action:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def get_action(self, name: str) -> Action:
        """The action called ``name``; ``-`` is read as ``_`` (``say-hello`` finds ``say_hello``).

        :raises ActionNotFoundError: naming the actions there are.
        """
        found = self._by_name.get(name) or self._by_name.get(name.replace("-", "_"))
        if found is None:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise ActionNotFoundError(f"no action named {name!r} (actions: {known})")
        return found


def find_actions(module_name: str) -> ActionRegistry:
    """Import ``module_name`` and, if it is a package, all its sub-modules; collect their actions.

    Only functions defined at module level are collected (an action imported into another module
    is found once). Call this once per app and pass the registry down.

    :raises DiscoveryError: naming the module that failed to import and its error, two actions
        that share a name, or a file path given where a dotted module name belongs.
    """
    _check_module_name(module_name)
    return ActionRegistry(a for m in _import_all(module_name) for a in _actions_in(m))


def _check_module_name(name: str) -> None:
    """A file path (``./my_actions.py``, ``app/actions``) is refused with the module name to use."""
    if "/" in name or "\\" in name or name.endswith(".py"):
        stem = name.replace("\\", "/").removesuffix(".py").strip("/")
        parts = [p for p in stem.split("/") if p not in ("", ".")]
        suggestion = ".".join(parts) if parts and ".." not in parts else None
        instead = f": use {suggestion!r} (imported from the project folder)" if suggestion else ""
        raise DiscoveryError(
            f"SERVEY_ACTION_PATH / [tool.servey_faas] actions must be a dotted module name such as 'actions' "
            f"or 'my_app.actions', not the file path {name!r}{instead}"
        )


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
            raise DiscoveryError(
                f"cannot import actions module {name!r}: no module named {e.name!r} "
                "(set SERVEY_ACTION_PATH or [tool.servey_faas] actions, and run from the project folder)"
            ) from e
        raise DiscoveryError(_import_failure(name, e)) from e
    except Exception as e:
        raise DiscoveryError(_import_failure(name, e)) from e


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _import_failure(name: str, e: BaseException) -> str:
    if isinstance(e, SyntaxError) and e.filename:
        where = f" at {e.filename}:{e.lineno}"  # its traceback ends in importlib, not in the file
    else:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith("<frozen ")]
        # the user's line, not servey_faas's: a trigger refused at decoration time raises in servey_faas
        theirs = [f for f in frames if not f.filename.startswith((_PACKAGE_DIR, "<"))] or frames
        where = f" at {theirs[-1].filename}:{theirs[-1].lineno}" if theirs else ""
    return f"cannot import actions module {name!r}: {type(e).__name__}: {e}{where}"


def _import_all(module_name: str) -> Iterator[ModuleType]:
    module = _import(module_name)
    yield module
    path = getattr(module, "__path__", None)
    if path is not None:
        for info in sorted(pkgutil.iter_modules(path, prefix=module.__name__ + "."), key=lambda i: i.name):
            yield from _import_all(info.name)


def _actions_in(module: ModuleType) -> Iterator[Action]:
    for value in vars(module).values():
        found = get_action(value)
        if found is not None and getattr(found.fn, "__module__", None) == module.__name__:
            yield found
