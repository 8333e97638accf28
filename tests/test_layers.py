"""The layers: `products` (sales and the one payment path) imports nothing from
`subscriptions`, which builds on it (issue 8)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_products_imports_nothing_from_subscriptions():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "subscriptions"
        )
        for path in (ROOT / "products").rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}
