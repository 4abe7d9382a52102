"""The dashboard's pages as the access guard, the query log and the audit's descriptions see them.

The pages sit above security (they import it), so security does not import them: ``create_app``
hands them over once with :func:`use_pages`. Until then no page is known (everything is refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class SitePage(Protocol):
    """What security needs of a page (``dashboard.pages.Page`` is one)."""

    path: str
    title: str
    id_prefix: str

    def allows(self, role: str | None) -> bool: ...


_pages: tuple[SitePage, ...] = ()
_titles: dict[str, tuple[str, str]] = {}


def use_pages(pages: Iterable[SitePage]) -> None:
    """The pages of the app (``create_app`` gives them)."""
    global _pages
    _pages = tuple(pages)
    _titles.clear()


def page_at(pages: Sequence[SitePage], path: str) -> SitePage | None:
    """The page at ``path``, or owning it (``/campaigns/x/qr.png`` belongs to ``/campaigns``)."""
    clean = "/" + path.strip("/")
    return next((p for p in pages if p.path == clean or (p.path != "/" and clean.startswith(p.path + "/"))), None)


def page_owning(pages: Sequence[SitePage], component_id: str) -> SitePage | None:
    """The page whose component ids start like ``component_id``."""
    return next((p for p in pages if component_id.startswith(p.id_prefix)), None)


def page_for_path(path: str) -> SitePage | None:
    return page_at(_pages, path)


def page_for_component(component_id: str) -> SitePage | None:
    return page_owning(_pages, component_id)


def page_title(path: str) -> tuple[str, str]:
    """(The page's title, its component id prefix) for a page path; the path itself when no page has it."""
    found = _titles.get(path) if isinstance(path, str) else None
    if found is None:
        page = page_for_path(path) if isinstance(path, str) and path.startswith("/") else None
        found = (page.title, page.id_prefix) if page is not None else (str(path), "")
        if isinstance(path, str) and len(_titles) < 256:
            _titles[path] = found
    return found
