"""The layout's rules (../shared/design/layout.md), checked by walking every module's imports.

Like the route matrix, the walk covers every file on disk, so a module added tomorrow is held
to the rules the day it is added: a new package under models/ must be placed in LAYERS first.
"""
import ast
import importlib
import pathlib
import re
import sys

import pytest

from models import startup
from models.sealing import explorer, registry

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ("core", "storage", "sealing", "people", "consent", "clinical", "care", "exchange",
          "research", "notify")
"""models/ packages, left to right: each imports only packages to its left (and itself)."""
LEDGER_THIRD_PARTY = {"Crypto"}
LEDGER_STORE_ONLY = {"pymongo", "bson"}
LEDGER_OPTIONAL = {"notes.py": {"cryptography"}}
"""Optional accelerators: imported under `try/except ImportError` with a pycryptodome fallback,
so the ledger still runs on the standard library and pycryptodome alone (the receipt verifier's
zip application does; tests/ledger/test_notes_backends.py runs both paths)."""
KIND_RE = re.compile(r"^(record|access|emergency|account|organization|schedule|appointment"
                     r"|admission|directory|research)\.[a-z_]+$")


def modules(folder):
    return sorted((ROOT / folder).rglob("*.py"))


def dotted(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path):
    """[(imported module, line, at module level?)] of one file (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            nested = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                    ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = dotted(path).split(".")
                    package = package[:len(package) - child.level + (path.name == "__init__.py")]
                    base = ".".join(package + ([base] if base else []))
                found.append((base, child.lineno, top))
                # `from models.sealing import seam` imports the module models.sealing.seam
                found.extend((f"{base}.{alias.name}", child.lineno, top) for alias in child.names
                             if _is_module(f"{base}.{alias.name}"))
            visit(child, nested)
    visit(tree, True)
    return found


def _is_module(name):
    parts = name.split(".")
    return (ROOT.joinpath(*parts).with_suffix(".py").exists()
            or ROOT.joinpath(*parts, "__init__.py").exists())


def layer_of(module):
    """models.sealing.seam -> "sealing"; models.startup -> "startup"; models -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


# Rule 1 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", modules("ledger"), ids=lambda p: p.name)
def test_the_ledger_imports_only_the_standard_library_and_pycryptodome(path):
    for name, line, _ in imports(path):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "ledger" or top in LEDGER_THIRD_PARTY:
            continue
        if top in LEDGER_OPTIONAL.get(path.name, ()):
            assert _guarded_by_import_error(path, line), f"{path.name}:{line} imports {name}"
            continue
        assert top in LEDGER_STORE_ONLY and path.name == "store.py", \
            f"{path.name}:{line} imports {name}"


def _guarded_by_import_error(path, line):
    """Whether the import on `line` sits in a `try` whose handler catches ImportError."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(handler.type, ast.Name) and handler.type.id == "ImportError"
                for handler in node.handlers):
            if any(stmt.lineno <= line <= stmt.end_lineno for stmt in node.body):
                return True
    return False


# Rules 2 and 3 ---------------------------------------------------------------------------------

def test_every_models_package_has_its_place_in_the_layers():
    packages = {path.name for path in (ROOT / "models").iterdir()
                if path.is_dir() and (path / "__init__.py").exists()}
    assert packages == set(LAYERS), f"place {sorted(packages - set(LAYERS))} in LAYERS"


@pytest.mark.parametrize("path", modules("models"), ids=lambda p: dotted(p))
def test_models_import_only_packages_to_their_left(path):
    mine = layer_of(dotted(path))
    for name, line, _ in imports(path):
        if not name.startswith("models.") or mine is None:
            continue
        theirs = layer_of(name)
        assert theirs in LAYERS, f"{dotted(path)}:{line} imports {name}, outside the layers"
        if mine == "startup":
            continue
        assert LAYERS.index(theirs) <= LAYERS.index(mine), \
            f"{dotted(path)}:{line} imports {name}: {mine} may not import {theirs}"
    for name, line, _ in imports(path):
        top = name.split(".")[0]
        assert top not in ("blueprints", "cli", "app", "flask_login", "flask_wtf"), \
            f"{dotted(path)}:{line} imports {name}: models know nothing of views"


OPTIONAL = {"ledger.store": "pymongo", "models.storage.db": "mongomock"}
"""The only imports a function may make: a library's optional dependency, where it is used."""
PROJECT = ("models", "ledger", "blueprints", "cli", "app", "config", "extensions")


@pytest.mark.parametrize("path", modules("models") + modules("ledger"), ids=lambda p: dotted(p))
def test_no_function_level_imports(path):
    lazy = [(name, line) for name, line, top in imports(path) if not top
            and (name.split(".")[0] in PROJECT
                 or name.split(".")[0] != OPTIONAL.get(dotted(path)))]
    assert lazy == [], f"{dotted(path)} imports inside a function: {lazy}"


# Rule 4 ----------------------------------------------------------------------------------------

@pytest.fixture
def installed(app):
    """An app has been created: the registry is filled."""
    return app


def test_every_declared_event_kind_is_registered(installed):
    declared = {}
    for path in modules("models"):
        module = importlib.import_module(dotted(path))
        for event in getattr(module, "EVENTS", ()):
            declared[event.kind] = dotted(path)
            assert module in startup.DOMAINS, f"{dotted(path)} declares EVENTS: add it to DOMAINS"
    assert set(declared) == set(registry.DECLARED)


def test_lists_of_kinds_derive_from_the_registry(installed):
    assert explorer.kinds() == registry.kinds()
    assert set(registry.document_kinds()) <= set(registry.DECLARED)
    for collection, specs in registry.height_indexes().items():
        for keys, _ in specs:
            assert (collection, keys) in [(c, k) for c, found in startup.declared_indexes().items()
                                          for k, _ in found]


def test_each_event_kind_is_spelled_once_in_models():
    """A kind written out twice is a list kept by hand that will drift (as the explorer's did)."""
    seen = {}
    for path in modules("models"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and KIND_RE.match(node.value):
                seen.setdefault(node.value, []).append(f"{dotted(path)}:{node.lineno}")
    repeated = {kind: places for kind, places in seen.items() if len(places) > 1}
    assert repeated == {}


# Rule 5 ----------------------------------------------------------------------------------------

AREAS = sorted(path.name for path in (ROOT / "blueprints").iterdir()
               if (path / "__init__.py").exists())


@pytest.mark.parametrize("path", modules("blueprints"), ids=lambda p: dotted(p))
def test_views_use_models_never_another_area_nor_pymongo(path):
    here = dotted(path).split(".")
    area = here[1] if len(here) > 2 or path.name == "__init__.py" and len(here) > 1 else None
    for name, line, _ in imports(path):
        parts = name.split(".")
        assert parts[0] not in ("pymongo", "bson", "gridfs", "ledger"), \
            f"{dotted(path)}:{line} imports {name}: views reach data through models"
        if parts[0] == "blueprints" and len(parts) > 1 and parts[1] in AREAS:
            assert parts[1] == area, f"{dotted(path)}:{line} imports another area: {name}"
