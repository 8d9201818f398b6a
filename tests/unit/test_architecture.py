"""Dependencies point inward: every import of every package, read with `ast`, against the
layers of docs/architecture (domain at the centre, interfaces the only composition root).

Imports inside functions and under `if TYPE_CHECKING:` count like any other: an arrow that
points outward is one whether it is taken at import time or later.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each package may import of the project (itself included). `interfaces` composes the
# system, so it alone may import everything.
ALLOWED: dict[str, tuple[str, ...]] = {
    "domain": ("domain",),
    "application": ("application", "domain"),
    "projections": ("projections", "domain", "application.ports"),
    # The scheduler learns everything from the log, so it needs no projection's query.
    "scheduler": ("scheduler", "application", "domain"),
    "engine": ("engine", "application", "domain", "jobtypes"),
    # The notifier follows the log and sends through its own ports, as the engine does.
    "notifier": ("notifier", "application", "domain"),
    "jobtypes": ("jobtypes", "domain"),
    # Adapters implement ports: the domain's values, the application's and the engine's
    # ports, the job-type plugin API and the projections' view interfaces.
    "adapters": (
        "adapters",
        "domain",
        "application.ports",
        "engine.ports",
        "notifier.ports",
        "jobtypes",
        "projections",
    ),
    "interfaces": (
        "interfaces",
        "adapters",
        "application",
        "domain",
        "engine",
        "jobtypes",
        "notifier",
        "projections",
        "scheduler",
    ),
}
PACKAGES = tuple(ALLOWED)

# Outside the project, the domain uses the standard library and eventsourcing's domain
# module only, so the rules stay plain Python whatever stores and frameworks surround them.
DOMAIN_LIBRARIES = ("eventsourcing.domain",)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(line, names) for each import: `names` are the dotted modules the import may mean
    (`from a import b` may be module `a` or module `a.b`), relative imports resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", (alias.name,)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", (source, f"{source}.{alias.name}")


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def project_arrows() -> list[tuple[str, str, str]]:
    """Every (importer, imported, where) whose imported module is outside the importer's
    allowed packages."""
    found = []
    for module, path in modules():
        allowed = ALLOWED[module.split(".")[0]]
        for where, names in imports(module, path):
            if names[0].split(".")[0] not in PACKAGES:
                continue
            if not any(within(name, allowed) for name in names):
                found.append((module, names[0], where))
    return found


def test_the_walk_sees_every_package_and_imports_inside_functions() -> None:
    found = {module.split(".")[0] for module, _ in modules()}
    assert found == set(PACKAGES)
    # interfaces/cli/api.py imports the server inside a function: the walk must see it.
    api = ROOT / "interfaces" / "cli" / "api.py"
    names = {n for _, ns in imports("interfaces.cli.api", api) for n in ns}
    assert "interfaces.http.server" in names


def test_every_arrow_between_packages_points_inward() -> None:
    outward = [
        f"{where} ({importer}) imports {imported}" for importer, imported, where in project_arrows()
    ]
    assert outward == [], "imports that point outward:\n" + "\n".join(outward)


@pytest.mark.parametrize(
    ("module", "path"), [mp for mp in modules() if mp[0].split(".")[0] == "domain"]
)
def test_the_domain_uses_no_library_but_the_standard_one_and_eventsourcing_domain(
    module: str, path: Path
) -> None:
    foreign = [
        f"{where} imports {names[0]}"
        for where, names in imports(module, path)
        if names[0].split(".")[0] not in PACKAGES
        and names[0].split(".")[0] not in sys.stdlib_module_names
        and not within(names[0], DOMAIN_LIBRARIES)
    ]
    assert foreign == []


def test_only_the_interfaces_import_adapters() -> None:
    composing = {
        importer.split(".")[0]
        for importer, imported, _ in _all_project_imports()
        if imported.split(".")[0] == "adapters"
    }
    assert composing <= {"interfaces", "adapters"}


def _all_project_imports() -> Iterator[tuple[str, str, str]]:
    for module, path in modules():
        for where, names in imports(module, path):
            if names[0].split(".")[0] in PACKAGES:
                yield module, names[0], where
