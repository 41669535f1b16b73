"""A module's ``_names`` are its own: no module of the project imports another's private name, or reaches one
through the other module (``report._date``).  A name two modules share is public, with a docstring saying why;
the tests may still reach into the module they test."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The project's own code (its tests are left out: a test may exercise its module's private helpers).
CHECKED = ("pipeline", "ergo_tasks", "statestore", "benchmarks", "deploy")
PROJECT = (*CHECKED, "tests")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _project_module(module: str | None, level: int) -> bool:
    """A relative import, or one of the project's packages."""
    return level > 0 or (module or "").split(".")[0] in PROJECT


def _is_module(package: str | None, level: int, name: str, path: Path) -> bool:
    """``from package import name`` binds a module (a file or a folder beside it), not a name defined in one."""
    if level:
        folder = path.parent
        for _ in range(level - 1):
            folder = folder.parent
    else:
        folder = ROOT
    for part in (package or "").split("."):
        if part:
            folder = folder / part
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def private_uses(source: str, path: Path) -> list[str]:
    """Each place ``source`` (the file at ``path``) imports a private name from another module of the project, or
    reads one off a project module it imported: ``line: what``."""
    tree = ast.parse(source)
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__" and _project_module(node.module, node.level):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}")
                elif _is_module(node.module, node.level, alias.name, path):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names
                           if _project_module(alias.name, 0))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda use: int(use.split(":")[0]))


def test_no_module_uses_another_modules_private_names():
    files = [path for package in CHECKED for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 100, "the project's modules were not found"
    uses = [f"{path.relative_to(ROOT)}:{use}" for path in files for use in private_uses(path.read_text(), path)]
    assert uses == [], "private names used outside their module (make them public where shared):\n" + "\n".join(uses)


def test_the_check_sees_private_imports_and_reads_and_lets_public_ones_and_other_libraries_pass():
    here = ROOT / "pipeline" / "comparison_report.py"
    caught = private_uses("from .report import INK, _date\n"
                          "from pipeline.report import _Layout\n"
                          "from pipeline import report\n"
                          "import pipeline.evidence as evidence\n"
                          "report._date('x')\nevidence._label\n", here)
    assert caught == ["1: from .report import _date", "2: from pipeline.report import _Layout", "5: report._date",
                      "6: evidence._label"]
    assert private_uses("from __future__ import annotations\nimport argparse\nargparse._SubParsersAction\n"
                        "from .report import INK\nclass A:\n    def f(self):\n        return self._x\n", here) == []
