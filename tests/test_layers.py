"""Imports run downhill: the layer order written in docs/architecture.md, checked on every import."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ltvad_search", "indexer", "ui")


def layers() -> list[list[str]]:
    block = re.search(r"```layers\n(.*?)```", (ROOT / "docs" / "architecture.md").read_text(), re.S)
    assert block, "docs/architecture.md has no ```layers block"
    return [line.split() for line in block.group(1).splitlines() if line.strip()]


def layer_of(module: str, order: list[list[str]]) -> int | None:
    """The layer of the longest listed prefix of `module`; None for modules outside the project."""
    best: tuple[int, int] | None = None
    for depth, names in enumerate(order):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > best[1]):
                best = (depth, len(name))
    return best[0] if best else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth; relative imports resolved against
    `package` (by default the file's own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if package is None:
        package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]  # `from pkg import module`
    return out


def test_every_project_module_has_a_layer() -> None:
    order = layers()
    missing = [module_name(p) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
               if layer_of(module_name(p), order) is None and module_name(p) not in PACKAGES]
    assert missing == [], "add these to the layers block in docs/architecture.md"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    order = layers()
    uphill = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            own = layer_of(module_name(path), order)
            if own is None:
                continue
            for line, target in imports(path):
                theirs = layer_of(target, order)
                if theirs is not None and theirs > own:
                    uphill.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({order[theirs][0]}...)")
    assert uphill == []


def test_the_walker_sees_imports_at_any_depth(tmp_path: Path) -> None:
    """The check itself: function-level and relative imports are found and named in full."""
    order = [["low"], ["high"]]
    assert layer_of("high.thing", order) == 1 and layer_of("low", order) == 0 and layer_of("numpy", order) is None
    source = tmp_path / "m.py"
    source.write_text("import low\n\ndef f():\n    from high.thing import x\n    from . import sibling\n")
    assert imports(source, package="low.pkg") == [(1, "low"), (4, "high.thing.x"), (5, "low.pkg.sibling")]


def test_modules_stay_small_and_the_package_root_holds_packages() -> None:
    """A module over 350 lines has more than one job; the root keeps config, records, prompts, extras."""
    long = [f"{p.relative_to(ROOT)} ({n})" for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 350]
    assert long == []
    root_modules = sorted(p.name for p in (ROOT / "ltvad_search").glob("*.py") if p.name != "__init__.py")
    assert len(root_modules) <= 4, root_modules
