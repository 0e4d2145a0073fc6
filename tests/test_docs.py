"""The docs site as a reader meets it: a README of at most 12 KB whose links into the
site name pages that exist and anchors those pages have (headings as the site's build
slugs them, rendered reference parts included), and a nav (mkdocs.yml) that lists every
page of docs/ once and nothing else. ``make docs`` (in .ci/run) builds the site with
``--strict``, where a broken link or anchor inside the site fails the build."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from fakevoipbin.reference import PLACEHOLDER, RENDERERS, filled

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
#: The README is a landing page: the guide is the site.
README_LIMIT = 12 * 1024


def slug(heading: str) -> str:
    """A heading's anchor as the site's build makes it (Python-Markdown's toc)."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(markdown: str) -> set[str]:
    """The anchors of a page: its headings' slugs and its ``<a id>``s, outside code."""
    text = re.sub(r"^```.*?^```", "", filled(markdown), flags=re.M | re.S)
    found = {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+?)\s*$", text, re.M)}
    return found | set(re.findall(r'<a id="([^"]+)"></a>', text))


def readme_links() -> list[tuple[str, str]]:
    """Each ``docs/…`` link of the README: the page, and its anchor ("" when none)."""
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#([^)\s]+))?\)", text)
    return [(page, anchor) for page, anchor in links]


def nav_pages(nav: list[Any]) -> list[str]:
    found: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += nav_pages(value) if isinstance(value, list) else [value]
    return found


def test_the_readme_is_at_most_12_kb() -> None:
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; the guide goes in docs/"


def test_each_readme_link_into_the_site_names_a_page_and_an_anchor_it_has() -> None:
    links = readme_links()
    assert len(links) > 10 and any(anchor for _page, anchor in links)
    for page, anchor in links:
        path = ROOT / page
        assert path.is_file(), f"README links {page}, which does not exist"
        if anchor:
            have = anchors(path.read_text(encoding="utf-8"))
            assert anchor in have, f"README links {page}#{anchor}; its anchors: {sorted(have)}"


def test_the_anchor_check_finds_headings_rendered_parts_and_ids() -> None:
    page = "# Top\n\n## The server: `fakevoipbin serve`\n\n```sh\n# not a heading\n```\n"
    assert anchors(page) == {"top", "the-server-fakevoipbin-serve"}
    assert "fakevoipbin-verify" in anchors("<!-- reference: cli -->\n")
    assert "host" in anchors("<!-- reference: options -->\n")
    assert slug("Intercept: `--intercept`") == "intercept-intercept"


def test_the_nav_lists_every_page_once_and_no_missing_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = nav_pages(config["nav"])
    assert len(listed) == len(set(listed)), "a page is in the nav twice"
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert set(listed) == on_disk, {
        "not in the nav": on_disk - set(listed),
        "missing": set(listed) - on_disk,
    }
    assert len(listed) >= 25


def test_every_reference_placeholder_names_a_renderer_and_each_renderer_is_used() -> None:
    used = set()
    for path in DOCS.rglob("*.md"):
        for name in re.findall(r"^<!-- reference: ([a-z-]+) -->$", path.read_text("utf-8"), re.M):
            assert name in RENDERERS, f"{path.name}: no reference named {name}"
            used.add(name)
    assert used == set(RENDERERS), set(RENDERERS) - used
    assert PLACEHOLDER.format("cli") == "<!-- reference: cli -->"
    assert "<!-- reference" not in filled((DOCS / "reference" / "faults.md").read_text("utf-8"))
