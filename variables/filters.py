"""Filter model and sort orders of variables."""

from __future__ import annotations

from orchestrator.api.filters import STR, Model, icontains, in_, same, tags_all, tags_empty

VARIABLE_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}, operator=False),
        "tags": Model({"all_": tags_all("tags"), "is_null_": tags_empty("tags")}),
    }
)

VARIABLE_BODY_FILTERS = {"variables": (VARIABLE_FILTER, same)}

VARIABLE_SORTS = {
    "CREATED_DESC": ["-created", "-id"],
    "UPDATED_DESC": ["-updated", "-id"],
    "NAME_DESC": ["-name"],
    "NAME_ASC": ["name"],
}
