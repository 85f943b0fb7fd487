"""Filter models and sort orders of notification policies and deliveries."""

from __future__ import annotations

from orchestrator.api.filters import (
    BOOL,
    CHOICE,
    Model,
    after,
    before,
    eq,
    icontains,
    in_,
    is_null,
    same,
    tags_all,
    tags_any,
    tags_empty,
)

from .choices import DeliveryStatus

# Prefect 2's `flow_run_notification_policy_filter` had only `is_active: {eq_}`; the other
# fields are ours. Unlike Prefect 2, a filter object without `is_active` does not mean
# "inactive only": it does not filter on it (see docs/notifications.md).
POLICY_FILTER = Model(
    {
        "is_active": Model({"eq_": eq("is_active", BOOL)}, operator=False),
        "state_names": Model({"any_": tags_any("state_names"), "is_null_": tags_empty("state_names")}, operator=False),
        "tags": Model(
            {"any_": tags_any("tags"), "all_": tags_all("tags"), "is_null_": tags_empty("tags")}, operator=False
        ),
        "block_document_id": Model({"any_": in_("block_document_id")}, operator=False),
        "message_template": Model(
            {"is_null_": is_null("message_template"), "like_": icontains("message_template")}, operator=False
        ),
    },
    operator=False,
)

POLICY_BODY_FILTERS = {"flow_run_notification_policy_filter": (POLICY_FILTER, same)}

# Prefect 2 listed policies by id; ids are time-ordered, so that is oldest first.
POLICY_SORTS = {
    "ID_ASC": ["id"],
    "CREATED_DESC": ["-created", "-id"],
    "UPDATED_DESC": ["-updated", "-id"],
}

DELIVERY_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "policy_id": Model({"any_": in_("policy_id")}, operator=False),
        "flow_run_id": Model({"any_": in_("flow_run_id")}, operator=False),
        "status": Model({"any_": in_("status", CHOICE(*DeliveryStatus.values))}, operator=False),
        "is_test": Model({"eq_": eq("is_test", BOOL)}, operator=False),
        "created": Model({"before_": before("created"), "after_": after("created")}, operator=False),
    }
)

DELIVERY_BODY_FILTERS = {"deliveries": (DELIVERY_FILTER, same)}

DELIVERY_SORTS = {
    "CREATED_DESC": ["-created", "-id"],
    "CREATED_ASC": ["created", "id"],
}
