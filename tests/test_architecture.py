"""The package arrows of docs/architecture.md stay one-way: read from the source with ``ast``.

Every import of a ``servey_faas`` module counts, at module level or inside a function, except
those under ``if TYPE_CHECKING:`` (they never run).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import servey_faas

ROOT = Path(servey_faas.__file__).parent
#: The packages, most specific first; a module belongs to the first that prefixes it, else the core.
PACKAGES = (
    "servey_faas.faas.client",
    "servey_faas.faas.deploy",
    "servey_faas.faas.runtime",
    "servey_faas.faas.gateway",
    "servey_faas.faas",
    "servey_faas.web",
    "servey_faas.scheduling",
    "servey_faas.testing",
    "servey_faas.cli",
)
CORE = "servey_faas"
#: Entry points that may import anything: ``python -m servey_faas`` starts the command line.
ENTRY_POINTS = frozenset({"servey_faas.__main__"})


def package_of(module: str) -> str:
    return next((p for p in PACKAGES if module == p or module.startswith(p + ".")), CORE)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def existing_module(dotted: str) -> str:
    """The longest prefix of ``dotted`` that is a module or package of servey_faas."""
    parts = dotted.split(".")
    while parts:
        candidate = ROOT.parent.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return dotted


def imports() -> Iterator[tuple[str, str]]:
    """``(importing module, imported servey_faas module)`` for every import that runs."""
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "servey_faas":
                    yield module, existing_module(name)


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for importer, imported in imports():
        if importer not in ENTRY_POINTS and package_of(importer) != package_of(imported):
            edges[package_of(importer)].add(package_of(imported))
    return edges


def test_no_cycle_between_packages() -> None:
    edges = package_edges()
    cycles = []
    for start in edges:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*path, nxt]))
                elif nxt not in path:
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def test_the_core_imports_nothing_above_it() -> None:
    assert package_edges().get(CORE, set()) == set()


def test_no_package_imports_another_packages_private_module() -> None:
    private = sorted(
        {
            f"{importer} -> {imported}"
            for importer, imported in imports()
            if package_of(importer) != package_of(imported)
            and imported.rsplit(".", 1)[-1].startswith("_")
            and not imported.rsplit(".", 1)[-1].startswith("__")
        }
    )
    assert private == []


def test_the_checker_sees_imports_inside_functions_and_skips_type_checking_ones() -> None:
    found = set(imports())
    # servey_faas.cli.build imports the packager inside its command function
    assert ("servey_faas.cli.build", "servey_faas.faas.deploy.packager") in found
    assert ("servey_faas.app", "servey_faas.settings") in found  # at module level
    # the packager imports ServeyApp only under TYPE_CHECKING
    assert ("servey_faas.faas.deploy.packager", "servey_faas.app") not in found
    assert package_of("servey_faas.faas.client._api") == "servey_faas.faas.client"
    assert package_of("servey_faas.cron") == CORE
