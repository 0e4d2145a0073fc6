"""The docs site's build hook (mkdocs.yml ``hooks:``): each page's
``<!-- reference: NAME -->`` line becomes what ``fakevoipbin.reference`` renders from the
code, so a reference page cannot drift from what it describes."""

from __future__ import annotations

from typing import Any

from fakevoipbin.reference import filled


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    return filled(markdown)
