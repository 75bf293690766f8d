"""The architecture's rules, checked on every run (docs/architecture.md):

* the import contracts of pyproject.toml's [tool.importlinter] (the layers, the library never
  importing the dashboard, report/ rendering only, compiling reading no YAML), run through
  import-linter;
* no module in archcalc/ or dashboard/ over MAX_MODULE_LINES lines;
* one code-generation site (builtin eval/exec or sympy's lambdify) in archcalc/ and dashboard/;
* `grep -rn "import dashboard\\|from dashboard" archcalc` finds nothing;
* no private name (`_x`) imported from another archcalc or dashboard module, by
  `from X import _x` or as `X._x` on an imported module (benchmarks/ included).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("archcalc", "dashboard")
MAX_MODULE_LINES = 500


def modules(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py")
                  if "__pycache__" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# -- import-linter contracts --------------------------------------------------------------------

def contract_ids() -> list[str]:
    from importlinter.api import read_configuration
    config = read_configuration(str(ROOT / "pyproject.toml"))
    return [c["id"] for c in config["contracts_options"]]


def lint(contract: str) -> subprocess.CompletedProcess:
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename='pyproject.toml', limit_to_contracts=({contract!r},), "
            "no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_contracts_are_the_documented_ones():
    assert contract_ids() == ["layers", "no-dashboard", "report-renders", "compile-decoded"]
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for contract in contract_ids():
        assert f"`{contract}`" in doc, f"docs/architecture.md does not describe {contract}"


@pytest.mark.parametrize("contract", ["layers", "no-dashboard", "report-renders", "compile-decoded"])
def test_import_contract_is_kept(contract):
    done = lint(contract)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "KEPT" in done.stdout and "BROKEN" not in done.stdout


def test_a_broken_layer_is_reported(tmp_path):
    # the check can fail: a package whose bottom layer imports its top one breaks a copy of
    # the layers contract
    pkg = tmp_path / "layered"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("from . import high\n")
    (pkg / "high.py").write_text("")
    (tmp_path / "contracts.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["layered"]\n\n[[tool.importlinter.contracts]]\n'
        'id = "layers"\nname = "layers"\ntype = "layers"\nlayers = ["layered.high", "layered.low"]\n')
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='contracts.toml', no_cache=True, no_logo=True))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1 and "layered.low -> layered.high" in done.stdout


# -- module size -------------------------------------------------------------------------------

def long_modules() -> dict[str, int]:
    out = {}
    for path in modules(*PACKAGES):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            out[rel(path)] = n
    return out


def test_no_module_over_500_lines():
    assert long_modules() == {}


# -- code generation ----------------------------------------------------------------------------

def codegen_sites() -> list[str]:
    """Calls of the builtins eval/exec and of (sympy.)lambdify: `model.eval()` or a method
    named eval is not code generation."""
    sites = []
    for path in modules(*PACKAGES):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if (isinstance(f, ast.Name) and f.id in ("eval", "exec", "lambdify")) or \
                    (isinstance(f, ast.Attribute) and f.attr == "lambdify"):
                sites.append(f"{rel(path)}:{node.lineno}")
    return sites


def test_exactly_one_codegen_site():
    assert len(codegen_sites()) == 1, codegen_sites()


# -- the library never names the dashboard -----------------------------------------------------

def test_library_never_imports_dashboard():
    # grep -rn "import dashboard\|from dashboard" archcalc
    hits = []
    for path in sorted((ROOT / "archcalc").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        hits += [f"{rel(path)}:{i}" for i, line in enumerate(text.splitlines(), 1)
                 if "import dashboard" in line or "from dashboard" in line]
    assert hits == []


# -- private names -----------------------------------------------------------------------------

def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def private_imports(path: Path) -> list[str]:
    """`from X import _y` and `X._y` (X an imported archcalc/dashboard module) in one file,
    where X is not the file's own module."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] not in PACKAGES or source == me:
                continue
            for a in node.names:
                if is_private(a.name):
                    found.append(f"{rel(path)}:{node.lineno}: from {source} import {a.name}")
                elif is_module(f"{source}.{a.name}"):
                    aliases[a.asname or a.name] = f"{source}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES and a.asname:
                    aliases[a.asname] = a.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and \
                isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.append(f"{rel(path)}:{node.lineno}: {aliases[node.value.id]}.{node.attr}")
    return found


def all_private_imports() -> list[str]:
    return [hit for path in modules(*PACKAGES, "benchmarks") for hit in private_imports(path)]


def test_the_private_name_check_finds_both_forms(tmp_path, monkeypatch):
    sample = ROOT / "archcalc" / "cli" / "x_sample.py"     # never written: parsed from text
    text = ("from ..report.output import _hidden\nfrom .. import results\n"
            "from .options import parse_pairs as _sets\nresults._now()\n")
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: text)
    assert private_imports(sample) == [
        "archcalc/cli/x_sample.py:1: from archcalc.report.output import _hidden",
        "archcalc/cli/x_sample.py:4: archcalc.results._now"]


def test_no_private_import_anywhere():
    assert all_private_imports() == []


# -- the spec is decoded once; the compiler needs no outside state -----------------------------

def frozen_leaves(value, where: str, out: list) -> list:
    """Every place in a decoded spec that is not frozen data (a dict, a list, a mutable or
    unfrozen dataclass)."""
    import dataclasses
    from fractions import Fraction
    if dataclasses.is_dataclass(value):
        if not value.__dataclass_params__.frozen:
            out.append(f"{where}: {type(value).__name__} is not frozen")
        for f in dataclasses.fields(value):
            frozen_leaves(getattr(value, f.name), f"{where}.{f.name}", out)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            frozen_leaves(item, f"{where}[{i}]", out)
    elif not isinstance(value, (str, int, float, Fraction, type(None))):
        out.append(f"{where}: {type(value).__name__}")
    return out


@pytest.mark.parametrize("name", ["mobilenet_v2", "nasnet_a_mobile", "shufflenet_v1"])
def test_a_loaded_spec_is_frozen_data_only(name):
    # cells, defaults and rows are decoded when the spec loads: no raw YAML mapping or list
    # is left for the compiler to parse
    import archcalc
    assert frozen_leaves(archcalc.load(name), name, []) == []


def test_the_repeat_rule():
    # MobileNetV2 Table 2: "the first layer of each sequence has a stride s and all others use
    # stride 1"; a row without a stride (a pool with k only, an fc) repeats with stride 1
    from types import SimpleNamespace
    from archcalc.graph.rows import repeats
    assert list(repeats(SimpleNamespace(n=3, s=2))) == [(0, 2), (1, 1), (2, 1)]
    assert list(repeats(SimpleNamespace(n=1, s=1))) == [(0, 1)]
    assert list(repeats(SimpleNamespace(n=2))) == [(0, 1), (1, 1)]


def test_row_takes_its_block_and_repeat_from_its_arguments():
    # one row applied as the design engine's derivations apply it: no attribute of the
    # compiler is set from outside; the ops' block is the path's first part, and a
    # ShuffleNet unit's first repeat keeps its first 1x1 conv dense (Stage 2, group_first_pw)
    from archcalc.graph.archgraph import ArchGraph
    from archcalc.graph.compile import RowCompiler, RowOutput
    from archcalc.graph.width import ConcreteDomain
    from archcalc.ops import Op, OpKind
    from archcalc.spec import schema
    spec = schema.NetworkSpec(name="t", path="<t>", input_channels=24, resolution=56,
                              width=schema.WidthRule(), sections=())
    groups_of_pw1 = []
    for rep in (0, 1):
        graph = ArchGraph(spec=spec, width=1, resolution=56, symbolic=False)
        compiler = RowCompiler(spec, graph, ConcreteDomain(1, 56))
        node = graph.add(Op(kind=OpKind.INPUT, name="input", layer="input", block="input",
                            out_ch=24), (24, 56, 56), [])
        row = schema.ShuffleUnitRow(op="shuffle_unit", line=1, c=24, groups=3,
                                    group_first_pw=False)
        out = compiler.row(row, RowOutput(node, 24), 1, f"stage2.0.{rep}", rep)
        assert out.output_stride == 1
        ops = [graph.op(n) for n in graph.names if n != "input"]
        assert {op.block for op in ops} == {"stage2"}
        groups_of_pw1.append(next(op.groups for op in ops if op.name.endswith(".pw1.conv")))
    assert groups_of_pw1 == [1, 3]
