"""Every list's search box takes whatever is typed into it, even a NUL character."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from orchestrator.paging import search_text

pytestmark = pytest.mark.django_db

LISTS = ["/runs/", "/flows/", "/deployments/", "/variables/", "/artifacts/", "/blocks/", "/blocks/catalog/"]


@pytest.mark.parametrize("path", LISTS)
def test_a_search_with_a_nul_character_shows_the_list_instead_of_failing(client, path):
    response = client.get(path, {"q": "etl\x00nightly"})
    assert response.status_code == 200


def test_the_search_text_is_trimmed_bounded_and_freed_of_nul_characters():
    request = RequestFactory().get("/runs/", {"q": "  daily\x00-etl  " + "x" * 300})
    text = search_text(request)
    assert text.startswith("daily-etl")
    assert "\x00" not in text
    assert len(text) == 255
