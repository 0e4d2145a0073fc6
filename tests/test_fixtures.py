"""Fixture files (fakevoipbin/fixtures.py): what a file that cannot be loaded is told,
at start (``fakevoipbin serve --fixtures``, a subprocess) and as data. Each refusal is
one line naming the file and the place, and never quotes the file's content."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from fakevoipbin import fixtures

MAX_EXPIRE_S = 2**31 - 1  # a key lives at most int32 seconds, in both profiles

CLI = [sys.executable, "-m", "fakevoipbin"]
#: A line no message may show: the file's content, whatever the file is.
SECRET = "hunter2-SECRET-do-not-print"


def refused(*args: str) -> str:
    """``serve`` that must refuse to start: its one stderr line."""
    r = subprocess.run(
        [*CLI, "serve", "--port", "0", *args], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert "ready on" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


#: Files that start cleanly on main and break later, or fail badly: (bytes, what the
#: one line must say besides the file's name).
START_REFUSALS = {
    "not-utf8": (b'version: 1\ncustomers:\n  - name: "\xff\xfe"\n', ["not UTF-8", "line 3"]),
    "empty": (b"", ["the file is empty"]),
    "only-a-comment": (b"# nothing here\n", ["the file is empty"]),
    "duplicate-key": (
        b"version: 1\ncustomers:\n  - name: a\n    name: b\n",
        ["'name' given twice", "line 4", "first at line 3"],
    ),
    "expire-past-int32": (
        b"customers:\n  - keys:\n      - expire: 300000000000\n",
        ["customers/0/keys/0/expire", "at most 2147483647"],
    ),
    "expire-huge": (
        b"customers:\n  - keys:\n      - expire: 99999999999999999999999999999\n",
        ["customers/0/keys/0/expire", "at most 2147483647"],
    ),
    "customer-created-before-1970": (
        b"customers:\n  - created_ago: 99999999999\n",
        ["customers/0/created_ago", "1970-01-01T00:00:00Z"],
    ),
    "key-created-before-1970": (
        b"customers:\n  - keys:\n      - {name: k}\n      - {created_ago: 1796120131}\n",
        ["customers/0/keys/1/created_ago", "at most 1796120130"],
    ),
    "created-ago-nan": (
        b"customers:\n  - keys:\n      - created_ago: .nan\n",
        ["customers/0/keys/0/created_ago", "finite"],
    ),
    "deleted-ago-infinite": (
        b"customers:\n  - keys:\n      - deleted_ago: .inf\n",
        ["customers/0/keys/0/deleted_ago", "finite"],
    ),
    "key-deleted-before-1970": (
        b"customers:\n  - keys:\n      - deleted_ago: 99999999999\n",
        ["customers/0/keys/0/deleted_ago", "1970-01-01T00:00:00Z"],
    ),
}


@pytest.mark.parametrize("name", sorted(START_REFUSALS))
def test_a_bad_fixtures_file_is_one_start_line_naming_the_file_and_place(
    tmp_path: Path, name: str
) -> None:
    content, said = START_REFUSALS[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    line = refused("--now", "2026-12-01T10:15:30Z", "--fixtures", str(path))
    assert line.startswith(f"fakevoipbin: {path}: "), line
    for words in said:
        assert words in line, line


def test_a_fixture_at_the_clocks_earliest_instant_is_taken(tmp_path: Path) -> None:
    """The bound is the clock's: 1796120130 s before 2026-12-01T10:15:30Z is 1970."""
    path = tmp_path / "edge.yaml"
    path.write_text(
        "customers:\n  - created_ago: 1796120130\n"
        f"    keys: [{{created_ago: 1796120130, expire: {MAX_EXPIRE_S}}}]\n"
    )
    loaded = fixtures.load_fixtures(path)
    assert loaded.customers[0].created_ago == 1796120130
    assert loaded.customers[0].keys[0].expire == MAX_EXPIRE_S


def test_the_compiled_check_holds_expires_int32_bound_as_jsonschema_does() -> None:
    plain = Draft202012Validator(fixtures._SCHEMA)
    for expire, good in ((MAX_EXPIRE_S, True), (MAX_EXPIRE_S + 1, False), (10**29, False)):
        doc = {"customers": [{"keys": [{"expire": expire}]}]}
        assert plain.is_valid(doc) is good
        assert (fixtures._problems(doc) == []) is good


#: Files that are not fixture files, each holding SECRET somewhere a message could
#: quote it: a plain text file, a mapping, a YAML error, a bad escape, an unknown key,
#: a duplicate key, a bad value, a byte that is not UTF-8.
SECRET_FILES = {
    "passwd": f"root:x:0:0:root:/root:/bin/bash\n{SECRET}\n".encode(),
    "mapping": f"{SECRET}: {SECRET}\n".encode(),
    "yaml-error": f"customers: [{SECRET}\n  - : :\n".encode(),
    "bad-escape": f'customers: "{SECRET}\\q"\n'.encode(),
    "unknown-field": f"customers:\n  - {SECRET}: 1\n".encode(),
    "duplicate-key": f"customers: []\n{SECRET}: 1\n{SECRET}: 2\n".encode(),
    "bad-value": f"customers:\n  - id: {SECRET}\n    name: {SECRET}\n".encode(),
    "long-name": f"customers:\n  - keys: [{{name: {SECRET * 20}}}]\n".encode(),
    "bad-token": f"customers:\n  - keys: [{{token: {SECRET}}}]\n".encode(),
    "status-frozen": f"customers:\n  - {{name: {SECRET}, frozen: true, status: active}}\n".encode(),
    "same-username": (
        f"customers:\n  - users: [{{username: {SECRET}, password: p, permission: 1}}]\n"
        f"  - users: [{{username: {SECRET}, password: p, permission: 1}}]\n"
    ).encode(),
    "not-utf8": f"customers:\n  - name: {SECRET}\xff\n".encode("latin-1"),
    "permission": (
        f"customers:\n  - users: [{{username: u, password: p, permission: {SECRET}}}]\n"
    ).encode(),
}


@pytest.mark.parametrize("name", sorted(SECRET_FILES))
def test_no_refusal_quotes_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(SECRET_FILES[name])
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.load_fixtures(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert "hunter2" not in message, message


def test_a_secret_file_at_start_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(SECRET_FILES["passwd"])
    line = refused("--fixtures", str(path))
    assert "hunter2" not in line and "root:" not in line, line
    assert line == f"fakevoipbin: {path}: at (top) (line 1, column 1): must be a mapping"


def test_an_unknown_field_is_pointed_at_by_line_not_named(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(SECRET_FILES["unknown-field"])
    with pytest.raises(fixtures.FixtureError, match=r"at customers/0 \(line 2, column 5\): has a"):
        fixtures.load_fixtures(path)


def test_a_field_of_the_format_in_the_wrong_place_is_named(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("customers: []\nkeys: []\n")
    with pytest.raises(
        fixtures.FixtureError, match=r"at \(top\) \(line 2, column 1\): has the field keys"
    ):
        fixtures.load_fixtures(path)


def test_duplicates_name_both_places_not_the_value() -> None:
    with pytest.raises(
        fixtures.FixtureError,
        match=r"^<data>: at customers/1/users/0/username: the same username as "
        r"customers/0/users/0/username$",
    ):
        fixtures.parse_fixtures(
            {
                "customers": [
                    {"users": [{"username": "x", "password": "p", "permission": 1}]},
                    {"users": [{"username": "x", "password": "p", "permission": 1}]},
                ]
            }
        )


def test_a_yaml_merge_key_is_not_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("customers:\n  - &c {name: a, detail: d}\n  - {<<: *c, name: b}\n")
    names = [dict(c.fields)["name"] for c in fixtures.load_fixtures(path).customers]
    assert names == ["a", "b"]
