"""Dependencies point inward: the rooms below the edges never import from a room above them.

Read from the source (every import, including those inside functions), so a shortcut such as a
job borrowing an edge's helper fails here rather than in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}

# What each inner room may import from the project; anything else of ours is a step outward.
ALLOWED = {
    "config": set(),
    "models": {"config"},
    "connections": {"config"},
    "operations": {"models", "config"},
    "channels": {"connections", "operations", "models", "config"},
    "jobs": {"channels", "connections", "operations", "models", "config"},
}


def project_imports(package: str) -> set[tuple[str, str]]:
    """(imported package, importing file) for every import of another package of ours."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PACKAGES and top != package:
                    found.add((top, str(path.relative_to(ROOT))))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_inner_rooms_never_import_outward(package):
    imports = project_imports(package)
    outward = sorted((imported, path) for imported, path in imports if imported not in ALLOWED[package])
    assert outward == []


def test_the_rule_sees_every_room_it_names():
    assert set(ALLOWED) <= PACKAGES
    # The check reads function-level imports too: jobs import operations inside functions.
    assert any(imported == "operations" for imported, _ in project_imports("jobs"))
