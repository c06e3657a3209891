"""Dependency direction (DESIGN.md): domain <- data <- components/pages, never the other way round."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(source: str, package: str) -> set[str]:
    """Absolute names of every module a source imports (relative imports resolved against `package`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            # `from data import tables` imports the module data.tables
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def imports_by_file(directory: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / directory).rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        found[str(path.relative_to(ROOT))] = imported_modules(path.read_text(encoding="utf-8"), package)
    return found


def offenders(directory: str, forbidden: set[str]) -> list[str]:
    """`forbidden` holds module names; a module or any of its submodules counts."""
    bad = []
    for file, modules in imports_by_file(directory).items():
        for module in sorted(modules):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{file} imports {module}")
    return bad


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    files = imports_by_file("domain")
    assert len(files) >= 7, f"expected the domain modules, found {sorted(files)}"
    bad = [
        f"{file} imports {module}"
        for file, modules in files.items()
        for module in sorted(modules)
        if module.split(".")[0] not in sys.stdlib_module_names and module.split(".")[0] != "domain"
    ]
    assert bad == []


def test_data_never_imports_the_ui() -> None:
    assert imports_by_file("data"), "data/ has modules"
    assert offenders("data", {"nicegui", "pages", "components", "main"}) == []


def test_components_never_touch_a_session_or_the_tables() -> None:
    assert offenders("components", {"sqlmodel", "sqlalchemy", "data.tables", "data.uow"}) == []


def test_pages_hold_no_sql() -> None:
    assert offenders("pages", {"sqlmodel", "sqlalchemy", "data.tables"}) == []


def test_the_checker_sees_forbidden_imports() -> None:
    """The checks above would catch a violation, in each import form."""
    source = "import sqlalchemy as sa\nfrom data import tables\nfrom sqlmodel.orm import session\nfrom . import x\n"
    modules = imported_modules(source, "components")
    assert {"sqlalchemy", "data.tables", "sqlmodel.orm.session", "components.x"} <= modules
    assert imported_modules("from ..data.uow import SqlUnitOfWork\n", "pages") >= {"data.uow"}
    assert "nicegui" not in sys.stdlib_module_names and "zoneinfo" in sys.stdlib_module_names
