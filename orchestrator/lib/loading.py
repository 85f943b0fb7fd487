"""Building model instances from database rows without going through Model.__init__.

Reading a page of 50 flow runs with their states builds 100 instances. Django builds each one
by calling the model with the row's values as positional arguments, and Model.__init__ then
checks every argument and sets every field one attribute at a time, through descriptors. A
profile of `POST /flow_runs/filter` put that at about a quarter of the request's time. For a
row that carries every concrete column, the instance it produces is simply those values under
the fields' attribute names, marked as loaded from `db`. `QuickLoad.from_db` (the hook Django
documents for customising loading) builds exactly that. Rows with deferred columns, and
models whose instances someone follows through pre_init/post_init signals, go the usual way.
"""

from __future__ import annotations

from typing import Any

from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


class QuickLoad:
    """Model mixin: instances loaded from the database are built without Model.__init__."""

    @classmethod
    def from_db(cls, db: str, field_names: Any, values: Any):
        attnames = cls.__dict__.get("_quick_load_attnames")
        if attnames is None:
            # Decided on the first load of each model, once every app has connected its
            # receivers (Django connects post_init for models with image fields, for example).
            followed = pre_init.has_listeners(cls) or post_init.has_listeners(cls)
            attnames = () if followed else tuple(f.attname for f in cls._meta.concrete_fields)
            cls._quick_load_attnames = attnames
        if len(values) != len(attnames):
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        state = ModelState()
        state.adding = False
        state.db = db
        new.__dict__.update(zip(attnames, values, strict=True))
        new._state = state
        return new
