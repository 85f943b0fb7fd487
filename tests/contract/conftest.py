"""Fixtures of the contract suite: the world every operation is called against."""

from __future__ import annotations

import pytest

from .world import World, build


@pytest.fixture
def world(api) -> World:
    return build(api)
