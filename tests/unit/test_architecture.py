"""The package's shape as rules: imports point one way (no cycles, messaging below channels, the
domain free of Rasa and HTTP), and importing a module changes nothing (installs happen in
bot/startup.py, called by the entry points)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

from bot.config import ROOT

PACKAGES = ("bot", "actions")


def _modules() -> Dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[Tuple[str, bool]]:
    """(imported module, at module level?) for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, id(node) in top
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    yield candidate, id(node) in top


def _graph() -> Dict[str, Set[str]]:
    return {name: {target for target, _ in _imports(path) if target in MODULES and target != name}
            for name, path in MODULES.items()}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _is_package_parent(importer: str, target: str) -> bool:
    return importer.startswith(target + ".")  # a module importing its own package's __init__


def test_no_import_cycles_even_through_imports_inside_functions():
    graph = {name: {t for t in targets if not _is_package_parent(name, t)} for name, targets in _graph().items()}
    assert _cycles(graph) == []


def test_messaging_does_not_import_channels():
    offenders = [(name, t) for name, targets in _graph().items() if name.startswith("bot.messaging")
                 for t in targets if t.startswith("bot.channels")]
    assert offenders == []


def test_the_domain_imports_no_rasa_and_no_web_framework():
    offenders = [(name, target) for name, path in MODULES.items() if name.startswith("bot.domain")
                 for target, _ in _imports(path)
                 if target.split(".")[0] in {"rasa", "rasa_sdk", "sanic", "aiohttp"}
                 or target.startswith(("bot.channels", "bot.console", "bot.messaging", "actions"))]
    assert offenders == []


def _module_level_calls(path: Path) -> List[str]:
    """Bare calls among a module's top-level statements (``install()``), outside ``__main__`` guards."""
    calls = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Call, ast.Await)):
            calls.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.value)[:60]}")
    return calls


#: The one exception, with its reason: Rasa imports this module before it loads any component, and
#: importing skops here (then restoring the level) undoes skops' own import-time change of the root
#: log level before the model's classifier triggers it (tests/nlu_unit/test_log_level.py).
UNDOES_A_LIBRARY_SIDE_EFFECT = "bot/nlu/components.py"


def test_importing_a_module_installs_nothing():
    calls = [call for path in MODULES.values() for call in _module_level_calls(path)]
    assert [call for call in calls if not call.startswith(UNDOES_A_LIBRARY_SIDE_EFFECT)] == []
