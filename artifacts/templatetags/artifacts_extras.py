"""Template helpers of artifacts: safe Markdown, and the artifacts of one flow run.

Load with `{% load artifacts_extras %}`. A flow-run page shows its artifacts with
`{% flow_run_artifacts run.pk %}` (two bounded queries at most).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import template
from django.utils.safestring import mark_safe

from artifacts import markdown as md
from artifacts.queries import flow_run_artifacts as artifacts_of_flow_run
from artifacts.queries import previews

register = template.Library()

RUN_ARTIFACTS_SHOWN = 100


@register.filter
def markdown(text: str | None) -> str:
    """Markdown as HTML; the renderer escapes everything it does not turn into a tag."""
    return mark_safe(md.render(text))  # noqa: S308 - artifacts.markdown never passes HTML through


@register.inclusion_tag("artifacts/partials/run_artifacts.html")
def flow_run_artifacts(flow_run_id: uuid.UUID) -> dict[str, Any]:
    """The artifacts a flow run (and its tasks) created, newest first."""
    found = artifacts_of_flow_run(flow_run_id, RUN_ARTIFACTS_SHOWN + 1)
    shown = found[:RUN_ARTIFACTS_SHOWN]
    extra = previews((a.pk, a.type) for a in shown)
    return {
        "artifacts": [(a, extra.get(a.pk, {})) for a in shown],
        "truncated": len(found) > RUN_ARTIFACTS_SHOWN,
        "shown": RUN_ARTIFACTS_SHOWN,
    }
