"""Every import arrow points down a floor, a name is read from the environment in one place, and the import
graph in docs/architecture.md is the one the code has."""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = {"ugc"}
STAGES = {"ingestion", "training", "generation", "serving", "monitoring"}
ROOF = {"ops", "dags", "plugins"}
PROJECT = CORE | STAGES | ROOF


def _package(path: pathlib.Path) -> str:
    return path.relative_to(ROOT).parts[0]


def _imports(path: pathlib.Path) -> set[str]:
    """Top-level names of every module ``path`` imports (at any depth of the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def _files():
    for pkg in sorted(PROJECT):
        yield from sorted((ROOT / pkg).rglob("*.py"))


def import_graph() -> dict[str, set[str]]:
    """package -> project packages it imports."""
    graph: dict[str, set[str]] = {pkg: set() for pkg in PROJECT}
    for f in _files():
        graph[_package(f)] |= (_imports(f) & PROJECT) - {_package(f)}
    return graph


def test_every_import_points_down_a_floor():
    allowed = {**{p: set() for p in CORE}, **{p: CORE for p in STAGES},
               **{p: CORE | STAGES | {"ops"} for p in ROOF}}
    bad = []
    for f in _files():
        pkg = _package(f)
        for imp in (_imports(f) & PROJECT) - {pkg} - allowed[pkg]:
            bad.append(f"{f.relative_to(ROOT)} imports {imp}")
    assert not bad, "\n".join(bad)


def test_only_the_dag_glue_imports_airflow():
    users = {str(f.relative_to(ROOT)) for f in _files() if "airflow" in _imports(f)}
    assert {u for u in users if not u.startswith(("dags/", "plugins/"))} == {"ops/dagkit.py", "ops/alerting.py"}


def test_ugc_environment_variables_are_read_only_in_settings():
    """A UGC_* name spelled anywhere else is a second source of truth (dags/generation_training.py once read
    UGC_TRITON_URL while every other DAG read UGC_TRITON_GRPC_URL)."""
    offenders = [str(f.relative_to(ROOT)) for f in _files() if f.name != "settings.py"
                 and re.search(r"['\"]UGC_[A-Z_]+['\"]", f.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_documented_import_graph_is_the_real_one():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("```mermaid\n", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r"^\s*(\w+) --> (\w+)\s*$", block, flags=re.M))
    real = {(a, b) for a, deps in import_graph().items() for b in deps}
    assert documented == real, f"docs/architecture.md is stale: add {real - documented}, drop {documented - real}"
