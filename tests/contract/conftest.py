"""Fixtures of the contract suite: the world every operation is called against.

Building the world takes a few dozen API calls, about a second; the contract modules make
hundreds of calls against it. So each module builds it once, inside a transaction that is
rolled back when the module ends, and every test runs in a savepoint within it (pytest-django's
`db`), so whatever a test changes is undone before the next one sees the world.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from tests.conftest import Api

from .world import World, build


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield build(Api(Client()))
            transaction.set_rollback(True)


@pytest.fixture
def world(_module_world, db) -> World:
    return _module_world
