"""The house as the README draws it: every module named in the layout section, every
subpackage saying what it holds, and no import running back up the flow."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "phonecoach"
# the flow, top to bottom: a module may import from its own folder and the folders before it
FLOW = ["core", "inputs", "hearing", "judging", "pipeline", "archive", "sinks", "live", "cli"]


def layout_text() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Layout", 1)[1].split("\n## ", 1)[0]


def test_every_module_is_in_the_readme_layout():
    text = layout_text()
    for folder in sorted(p for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert re.search(rf"^\s+{folder.name}/", text, re.M), f"{folder.name}/ missing from the README layout"
        for module in sorted(folder.glob("*.py")):
            if module.name not in ("__init__.py", "__main__.py"):
                assert module.name in text, f"{folder.name}/{module.name} missing from the README layout"


def test_each_subpackage_says_what_it_holds():
    for init in PKG.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 15, f"{init.parent.name}/__init__.py has no paragraph saying what it holds"


def test_no_import_runs_back_up_the_flow():
    def stage(path: Path) -> int:
        rel = path.relative_to(PKG).parts
        return FLOW.index(rel[0] if len(rel) > 1 else path.stem)

    for path in PKG.rglob("*.py"):
        if path.parent == PKG and path.stem not in FLOW:
            continue  # phonecoach/__init__.py, __main__.py
        here = stage(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = path.parent.relative_to(PKG).parts[: len(path.parent.relative_to(PKG).parts) - node.level + 1]
                target = [*base, *(node.module or "").split(".")] if node.module else list(base)
                target = [t for t in target if t]
                if target and target[0] in FLOW:
                    there = FLOW.index(target[0])
                    assert there <= here, f"{path.relative_to(ROOT)} imports {'.'.join(target)}: back up the flow"


def test_the_wheel_lists_every_subpackage_and_ships_the_rules():
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    subpackages = {"phonecoach"} | {f"phonecoach.{p.parent.name}" for p in PKG.glob("*/__init__.py")}
    assert set(conf["packages"]) == subpackages | {"phonecoach.rules"}
    assert conf["package-dir"]["phonecoach.rules"] == "rules" and (ROOT / "rules" / "zh-CN.toml").exists()
