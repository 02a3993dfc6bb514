"""No module reaches into another module's private names (``_name``).

A private name is the module's own business: a rule another module needs is made public (with
its docstring) in the module that owns it. Checked on the project's packages with ``ast``:
``from pkg.mod import _name`` and ``mod._name`` where ``mod`` is a name imported from them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "certification", "flows", "documents", "notifications")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _first_party(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in PACKAGES


def private_uses(path: Path, root: Path = ROOT) -> list[str]:
    """The private names of other project modules that the module at ``path`` uses."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(root)
    found: list[str] = []
    imported: set[str] = set()  # local names bound to project modules or their members
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _first_party(node.module):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}:{node.lineno}: from {node.module} import {alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _first_party(alias.name):
                    imported.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_the_private_names_of_another() -> None:
    offenders = [
        use for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")) for use in private_uses(path)
    ]
    assert not offenders, "private names used outside their module:\n" + "\n".join(offenders)


def test_the_check_sees_both_forms(tmp_path: Path) -> None:
    module = tmp_path / "leak.py"
    module.write_text(
        "from certification.services.jury import _query\n"
        "from certification.services import jury as svc\n"
        "svc._editable(None)\n"
        "from certification.services.jury import get_session\n"
        "from fastapi.openapi.utils import _get_api_route_for_openapi\n"
    )
    assert private_uses(module, tmp_path) == [
        "leak.py:1: from certification.services.jury import _query",
        "leak.py:3: svc._editable",
    ]
