"""Reading the dashboard's pages in tests: fetch one, and its words without the markup."""

from __future__ import annotations

import html
import re

from django.test import Client


def page(client: Client, url: str = "/", status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def text(markup: str) -> str:
    """The page's words, without tags, entities decoded and spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
