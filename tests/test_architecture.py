"""The package's layering, read from its imports (every import, also those inside functions).

Each top-level module or subpackage of `keras_colorful` is one unit. Units import only units
below them, so the import graph between units has no cycle, and a few boundaries that the design
depends on are checked by name (see README.md, "Layout").
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_colorful"


def _unit(path: pathlib.Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_units(path: pathlib.Path) -> set[str]:
    """The `keras_colorful` units a source file imports (at the top or inside functions)."""
    units = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "keras_colorful":
                names = [f"keras_colorful.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "keras_colorful" and len(parts) > 1:
                units.add(parts[1])
    return units


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        unit = _unit(path)
        graph.setdefault(unit, set()).update(_imported_units(path) - {unit})
    return graph


def _module_imports(relative: str) -> set[str]:
    return _imported_units(PACKAGE / relative)


def test_no_import_cycle_between_units():
    graph = _graph()
    visiting, done, cycles = set(), set(), []

    def visit(unit, trail):
        if unit in done:
            return
        if unit in visiting:
            cycles.append(trail[trail.index(unit):] + [unit])
            return
        visiting.add(unit)
        for dependency in sorted(graph.get(unit, ())):
            visit(dependency, trail + [unit])
        visiting.discard(unit)
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, [])
    assert not cycles, f"import cycles between units: {cycles}"


@pytest.mark.parametrize(
    "unit, forbidden",
    [
        # Lower layers never import higher ones.
        ("models", {"inference", "export", "training", "data", "loading", "weights"}),
        ("data", {"inference", "export", "training", "loading", "models", "weights"}),
        ("inference", {"export", "training", "loading", "weights", "data", "evaluation"}),
        ("export", {"training", "loading", "evaluation", "cli"}),
        ("training", {"export", "loading", "weights", "evaluation"}),
        ("weights", {"inference", "export", "training", "data", "loading"}),
    ],
)
def test_layer_boundaries(unit, forbidden):
    assert not _graph()[unit] & forbidden


def test_the_inference_pipeline_depends_only_on_colour_bins_and_models():
    assert _module_imports("inference/pipeline.py") <= {"constants", "color", "bins", "models"}


def test_the_pytorch_port_and_the_plain_data_need_no_tensorflow_module():
    assert _graph()["torch_port"] <= {"constants", "presets"}
    assert _graph()["presets"] == set() and _graph()["constants"] == set()


def test_no_module_loads_code_by_file_path_or_edits_sys_path():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "spec_from_file_location" not in text, path
        assert "sys.path.insert" not in text and "sys.path.append" not in text, path
