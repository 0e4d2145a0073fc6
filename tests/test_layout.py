"""The shape of the package: no import cycles between modules, and none between rooms
(a room is a subpackage or a top-level module: two rooms never import each other,
directly or round a loop); lazy and ``TYPE_CHECKING`` imports count too. A core with no
web imports, checks/ below every face, and a README layout true to the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fakevoipbin"
WEB_LIBRARIES = {"starlette", "uvicorn", "httpx", "httptools", "uvloop"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every fakevoipbin module ``path`` imports anywhere in its body: at the top, in
    a function, under ``if TYPE_CHECKING:``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule; ``pkg`` itself only for a
            # name that is not a submodule of it.
            subs = [f"{base}.{a.name}" for a in node.names]
            targets = subs if all(t in known for t in subs) else [base, *subs]
        for target in targets:
            # the deepest known module the import names
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph = _graph()
    assert "fakevoipbin.web.app" in graph and graph["fakevoipbin.web.app"], "the graph is empty"
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def room_of(module: str) -> str:
    """A module's room: its subpackage (``core``, ``web``, ``checks``, ``contract``,
    ``proxy``) or, for a top-level module, its name (``spec``, ``cli``, ``run``); the
    package's ``__init__`` is the room ``fakevoipbin``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def room_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which rooms each room imports (itself left out)."""
    rooms: dict[str, set[str]] = {}
    for module, imported in graph.items():
        here = room_of(module)
        rooms.setdefault(here, set())
        rooms[here] |= {room_of(m) for m in imported} - {here}
    return rooms


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every node ``start`` reaches, itself not counted unless round a loop."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += graph.get(node, ())
    return seen


#: The faces and the commands: what a user or a test drives. What every face shares
#: (checks/, the spec, the core) must reach none of them.
FACES = {
    "web",
    "contract",
    "proxy",
    "testing",
    "cli",
    "server",
    "run",
    "pytest_plugin",
    "attach",
    "assemble",
    "__main__",
    "fakevoipbin",
}


def test_no_two_rooms_import_each_other() -> None:
    rooms = room_graph(_graph())
    assert {"core", "web", "checks", "contract", "proxy", "spec", "run"} <= set(rooms)
    assert "checks" in rooms["proxy"] and "checks" in rooms["contract"], rooms
    cycle = _cycle(rooms)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_room_check_finds_a_loop_between_rooms() -> None:
    """A loop between two rooms through modules that form no loop themselves (what
    contract/run.py -> proxy/session.py -> contract/report.py was) is found."""
    graph = {
        "fakevoipbin.contract.run": {"fakevoipbin.proxy.session"},
        "fakevoipbin.proxy.session": {"fakevoipbin.contract.report"},
        "fakevoipbin.contract.report": {"fakevoipbin.core.journal"},
        "fakevoipbin.core.journal": set(),
    }
    assert _cycle(graph) is None
    rooms = room_graph(graph)
    assert rooms == {"contract": {"proxy", "core"}, "proxy": {"contract"}, "core": set()}
    assert _cycle(rooms) == ["contract", "proxy", "contract"]
    # Round three rooms, through a top-level module.
    graph["fakevoipbin.core.journal"] = {"fakevoipbin.spec"}
    graph["fakevoipbin.spec"] = {"fakevoipbin.proxy.app"}
    graph.pop("fakevoipbin.proxy.session")
    graph["fakevoipbin.proxy.app"] = set()
    graph["fakevoipbin.proxy.record"] = {"fakevoipbin.contract.target"}
    graph["fakevoipbin.contract.target"] = set()
    assert _cycle(graph) is None
    assert _cycle(room_graph(graph)) == ["contract", "core", "spec", "proxy", "contract"]


def test_checks_reach_no_face() -> None:
    """checks/ (the request checks, the exchange rules, the report) sits below every
    face: it imports none, directly or through another room."""
    rooms = room_graph(_graph())
    assert "checks" in rooms
    assert "core" in rooms["checks"] and "spec" in rooms["checks"], rooms["checks"]
    assert reachable(rooms, "checks") & FACES == set(), reachable(rooms, "checks")


def test_the_face_check_sees_a_face_reached_through_another_room() -> None:
    rooms = {"checks": {"options"}, "options": {"core"}, "core": {"web"}, "web": set()}
    assert reachable(rooms, "checks") & FACES == {"web"}
    assert reachable({"checks": {"core"}, "core": set()}, "checks") & FACES == set()


def test_the_core_imports_no_web_library_and_no_web_module() -> None:
    for path in (PACKAGE / "core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{path.name} reaches out of the core: {ast.dump(node)}"
            for name in names:
                assert name.split(".")[0] not in WEB_LIBRARIES, f"{path.name} imports {name}"
                assert not name.startswith("fakevoipbin.web"), f"{path.name} imports {name}"


#: The contributors' page whose Layout section holds the tree (moved out of the README,
#: a landing page, by issue 27).
LAYOUT_PAGE = ROOT / "docs" / "explanation" / "layout.md"


def test_the_readme_layout_names_every_module_and_only_those() -> None:
    text = LAYOUT_PAGE.read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    tree = section.split("```", 2)[1]  # the tree itself, not the prose around it
    package = tree.split("\nfakevoipbin/", 1)[1].split("\ntests/", 1)[0]
    listed = set(re.findall(r"([a-z_]+\.py)\b", package))
    on_disk = {p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    assert len(on_disk) > 40
    assert listed == on_disk, {"missing": on_disk - listed, "not on disk": listed - on_disk}


TESTS = ROOT / "tests"
#: The one folder of tests that is not a room of the package.
ACROSS_LAYERS = "api"
#: The image's checks (make test-image): the package as a container, no one module.
IMAGE_CHECKS = "image"
#: The browser's checks (make test-browser): the HTML report and /_fake/ui in Chromium.
BROWSER_CHECKS = "browser"


def test_the_tests_mirror_the_package() -> None:
    """Each folder of tests/ is a subpackage's (``tests/core`` for ``fakevoipbin/core``),
    but ``tests/api``, ``tests/image`` and ``tests/browser``; a test file in a room's folder
    names a module of that room (``test_journal.py``, ``test_journal_bodies.py`` for
    ``journal.py``), or is placed there by the README's Layout section."""
    rooms = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in TESTS.iterdir() if (p / "__init__.py").exists()}
    assert folders - {ACROSS_LAYERS, IMAGE_CHECKS, BROWSER_CHECKS} <= rooms, folders - rooms
    assert {"core", "web", "checks", "contract", "proxy"} <= folders
    readme = LAYOUT_PAGE.read_text(encoding="utf-8")
    for folder in sorted(folders - {ACROSS_LAYERS, IMAGE_CHECKS, BROWSER_CHECKS}):
        modules = {p.stem for p in (PACKAGE / folder).glob("*.py")}
        for test in sorted((TESTS / folder).glob("test_*.py")):
            name = test.stem.removeprefix("test_")
            placed = f"{folder}/{test.name}" in readme
            named = any(name == m or name.startswith(m + "_") for m in modules)
            assert named or placed, f"tests/{folder}/{test.name} names no module"


def test_the_readmes_test_map_names_files_that_exist() -> None:
    text = LAYOUT_PAGE.read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\b((?:[a-z]+/)?test_[a-z_]+\.py)\b", section))
    assert len(named) > 8
    missing = {n for n in named if not (TESTS / n.removeprefix("tests/")).exists()}
    assert not missing, missing
