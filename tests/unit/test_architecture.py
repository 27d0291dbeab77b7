"""The shape of the code: no import circles, no imports inside functions, one writer of the
gate log."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kiosk"

# The app factory imports the routes and the CLI when it builds the app (Flask's pattern).
LATE_IMPORTS_ALLOWED = {"kiosk"}


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        out[name] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return out


def _imported(name: str, path: Path, node: ast.AST, modules) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            if f"{base}.{alias.name}" in modules:
                found.add(f"{base}.{alias.name}")
            elif base in modules:
                found.add(base)
    elif isinstance(node, ast.Import):
        found |= {a.name for a in node.names if a.name in modules}
    return found - {name}


def test_no_module_imports_another_that_imports_it_back():
    modules = _modules()
    graph = {
        name: set().union(*(_imported(name, path, n, modules) for n in tree.body))
        for name, (path, tree) in modules.items()
    }
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep) :], dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_imports_are_at_the_top_of_each_module():
    late = []
    for name, (path, tree) in _modules().items():
        if name in LATE_IMPORTS_ALLOWED:
            continue
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(func):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        late.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert late == []


def test_only_the_gate_log_writes_access_events():
    writers = []
    for name, (path, tree) in _modules().items():
        if name == "kiosk.services.gatelog":
            continue
        for node in ast.walk(tree):
            # insert(AccessEvent...), AccessEvent(...) objects, or Core on its table
            if isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                args = " ".join(ast.unparse(a) for a in node.args)
                if (
                    func == "AccessEvent"
                    or (func.endswith("insert") and "AccessEvent" in func + args)
                    or (func.endswith("add") and "AccessEvent(" in args)
                ):
                    writers.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert writers == []
