"""The house rules of the code, checked on its source: imports only go downward through the pipeline's
layers, no import cycle, ``analytics/`` never imports ``service/``, and the README's map of the
tree names every module (and nothing that is gone).

Read with ``ast`` rather than by importing, so a rule broken by an import inside a function is
caught too.
"""

import ast
import re
from collections import defaultdict
from pathlib import Path

from tests.support import ROOT

LAYERS = (
    ("foundation", ("service.timeutil", "service.errors", "service.sealing", "service.settings")),
    ("storage", ("service.models", "service.hashing", "service.migrations", "service.db")),
    ("access", ("service.access",)),
    ("ingest", ("service.ingest",)),
    ("anchor", ("service.anchor",)),
    ("verify", ("service.verify",)),
    ("read", ("service.read",)),
    ("insights", ("service.insights",)),
    ("notify", ("service.notify",)),  # webhook delivery of stored query results: reads through read/, run by the process
    ("process", ("service.runtime", "service.runtime", "service.health")),
    ("api", ("service.api",)),
    ("demo", ("service.demo",)),
    ("cli", ("service.cli", "service")),
)
"""The data's route, bottom first: a module may import from its own layer and the layers below it.
``service`` itself (the package's ``__init__``) sits on top, beside the CLI."""

PACKAGES = ("service", "analytics")
MAP_ROOTS = ("contracts", "service", "analytics")


def _modules() -> dict[str, Path]:
    """Dotted name → file of every module under the product packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module that defines ``name`` (a module, or something imported from one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """The product modules ``module`` imports, anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(owner for name in names if name.split(".")[0] in PACKAGES and (owner := _owner(name)))
    found.discard(module)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    """Index of the most specific layer entry that ``module`` falls under."""
    matches = [(len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} is in no layer of tests/test_architecture.py: give it a place"
    return max(matches)[1]


def test_analytics_never_imports_service():
    leaks = {module: sorted(target for target in targets if target.startswith("service"))
             for module, targets in GRAPH.items() if module.startswith("analytics")}
    assert not {module: targets for module, targets in leaks.items() if targets}


def test_imports_only_go_downward():
    upward = [f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
              for module, targets in GRAPH.items() if module.startswith("service")
              for target in targets if target.startswith("service") and _layer(target) > _layer(module)]
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    state: dict[str, int] = defaultdict(int)  # 0 unseen, 1 on the current path, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH.get(module, ())):
            if state[target] == 1:
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif state[target] == 0:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if state[module] == 0:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def _readme_map() -> set[str]:
    """Files named in the README's architecture map, as paths: a line ending a word in ``/`` opens that
    folder under the nearest less-indented folder; ``*.py`` and ``*.sol`` words name files in it."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Architecture\n+```\n(.*?)```", text, re.S)
    assert block, "README.md has an ## Architecture section opening with the map in a code block"
    folders: list[tuple[int, str]] = []
    named = set()
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        first = line.split()[0]
        if first.endswith("/"):
            while folders and folders[-1][0] >= indent:
                folders.pop()
            parent = folders[-1][1] if folders else ""
            folders.append((indent, parent + first))
            words = line.split()[1:]
        else:
            while folders and folders[-1][0] >= indent:
                folders.pop()
            words = line.split()
        where = folders[-1][1] if folders else ""
        named.update(where + word for word in words if re.fullmatch(r"[\w.]+\.(py|sol)", word))
    return named


def _tree() -> set[str]:
    """Every module and contract a newcomer should find on the map (Alembic revisions are data)."""
    files = {str(path.relative_to(ROOT)) for root in MAP_ROOTS for path in (ROOT / root).rglob("*")
             if path.suffix in (".py", ".sol") and path.name != "__init__.py" and "node_modules" not in path.parts}
    return {file for file in files if "/migrations/versions/" not in file}


def test_the_readme_map_names_every_module():
    assert sorted(_tree() - _readme_map()) == []


def test_the_readme_map_names_nothing_that_is_gone():
    assert sorted(_readme_map() - _tree()) == []


def test_every_service_module_has_a_layer():
    for module in MODULES:
        if module.startswith("service"):
            _layer(module)
