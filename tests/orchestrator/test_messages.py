"""Flash messages are shown by the base template, once, on whichever page comes next."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_message_shows_once_on_the_next_page_whatever_it_is():
    client = Client()
    response = client.post("/variables/new/", {"name": "regions", "value": '["eu"]', "tags": ""})
    assert response.status_code == 302

    html = client.get("/runs/").content.decode()  # a page that knows nothing of variables

    assert html.count("Created the variable regions.") == 1
    assert html.count('class="messages"') == 1
    assert html.index('class="messages"') < html.index("<h1")
    assert "Created the variable" not in client.get("/runs/").content.decode()


def test_a_page_without_messages_has_no_empty_list(client, db):
    assert 'class="messages"' not in client.get("/variables/").content.decode()
