"""The dashboard's pages, registered from code: each declares its path, title, roles and layout.

Page modules own component ids that start with their ``id_prefix``; the access guard uses the
prefix to refuse a callback request from a role that may not use that page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dash.development.base_component import Component

from dashboard.security.site import page_at, page_owning


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    roles: frozenset[str]
    id_prefix: str
    layout: Callable[..., Component]
    register_callbacks: Callable[..., None] | None = None

    def allows(self, role: str | None) -> bool:
        return role in self.roles


def all_pages() -> tuple[Page, ...]:
    from dashboard.pages import (
        account,
        accounts,
        audit,
        campaigns,
        cases,
        coverage,
        crime_data,
        erasure,
        gaps,
        home,
        protection,
        search,
        storage,
        uptake,
    )

    return (
        home.PAGE,
        search.PAGE,
        cases.PAGE,
        coverage.PAGE,
        gaps.PAGE,
        uptake.PAGE,
        campaigns.PAGE,
        accounts.PAGE,
        erasure.PAGE,
        crime_data.PAGE,
        storage.PAGE,
        audit.PAGE,
        protection.PAGE,
        account.PAGE,
    )


def page_for_path(path: str) -> Page | None:
    """The page at ``path``, or owning it (``/campaigns/x/qr.png`` belongs to ``/campaigns``)."""
    return page_at(all_pages(), path)


def page_for_component(component_id: str) -> Page | None:
    return page_owning(all_pages(), component_id)
