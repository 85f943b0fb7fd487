"""Dashboard pages of notifications: the policies, each as its sentence; the form that creates
or edits one together with its destination's settings; and each policy's delivery history.

Every write goes through notifications.domain, as the API's do, so the two say the same
things in the same words. The destination's settings are a block form generated from the
service's schema (blocks.forms), so secrets are masked and `********` keeps a saved one.

The create form lists every service's settings, only the chosen one shown and enabled; a
little JavaScript switches them as the choice changes, and without it the "Show its settings"
button asks the server for the chosen service's (the rest of the form kept as typed).

Lists are newest first, paged with a keyset cursor on (created, id) (orchestrator.paging),
and never count; each page is a fixed number of queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import JSONField, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException

from blocks import crypto
from blocks.forms import BlockDocumentForm, secret_paths
from blocks.models import BlockSchema, BlockType
from orchestrator.api.errors import Conflict, NotFound
from orchestrator.paging import Keyset, paginate

from . import domain, transports
from .choices import COLORS, DeliveryStatus
from .forms import STATE_COLORS, PolicyForm
from .messages import TEMPLATE_KEYS
from .models import Delivery, NotificationPolicy

PAGE_SIZE = 50
DELIVERIES_PAGE_SIZE = 25
NEWEST_FIRST = Keyset("created", descending=True, times=True)

# What the list shows of a policy's block document (its data, encrypted, is not needed).
LIST_DEFERRED = ("block_document__data",)


def _policy_or_404(pk: uuid.UUID) -> NotificationPolicy:
    policy = (
        NotificationPolicy.objects.select_related("block_document__block_type", "block_document__block_schema")
        .filter(pk=pk)
        .first()
    )
    if policy is None:
        raise Http404(domain.POLICY_NOT_FOUND)
    return policy


def _detail(exc: APIException) -> str:
    """An API error's message, for a person."""
    detail = exc.detail
    if isinstance(detail, list):
        detail = " ".join(str(item) for item in detail)
    return str(detail)


def _back(request: HttpRequest, default: str) -> str:
    """Where a button's POST returns to: the page it was pressed on, if it is one of ours."""
    target = request.POST.get("next") or ""
    if target.startswith("/notifications") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def status_badge(status: str | None) -> dict[str, str] | None:
    """A delivery status as the badge partial shows it."""
    if not status:
        return None
    return {"color": COLORS.get(status, "none"), "label": DeliveryStatus(status).label}


# -- the list ---------------------------------------------------------------------------------


@dataclass
class PolicyRow:
    policy: NotificationPolicy
    sentence: str
    last: dict[str, str] | None  # the newest delivery's status badge
    last_created: Any


def notification_list(request: HttpRequest) -> HttpResponse:
    newest = Delivery.objects.filter(policy=OuterRef("pk")).order_by("-created", "-id")  # notif_delivery_policy
    policies = (
        NotificationPolicy.objects.select_related("block_document__block_type")
        .defer(*LIST_DEFERRED)
        .annotate(
            last_status=Subquery(newest.values("status")[:1]),
            last_created=Subquery(newest.values("created")[:1]),
        )
    )
    page = paginate(request, policies, NEWEST_FIRST, PAGE_SIZE)
    rows = [
        PolicyRow(policy, domain.describe(policy), status_badge(policy.last_status), policy.last_created)
        for policy in page.rows
    ]
    return render(request, "notifications/list.html", {"section": "notifications", "page": page, "rows": rows})


# -- the form ---------------------------------------------------------------------------------


@dataclass
class Service:
    """One service the create form offers: its block type and a settings form for it."""

    block_type: BlockType
    form: BlockDocumentForm
    selected: bool = False

    @property
    def slug(self) -> str:
        return self.block_type.slug


def _service_types() -> list[BlockType]:
    """The block types a notification can send through, each with its latest schema's fields
    (one query), in the order of Prefect's notification blocks, email last."""
    latest = BlockSchema.objects.filter(block_type=OuterRef("pk")).order_by("-created", "-id")  # block_schema_type
    types = domain.notification_block_types().annotate(
        schema_fields=Subquery(latest.values("fields")[:1], output_field=JSONField())
    )
    order = list(transports.TRANSPORTS)
    found = [block_type for block_type in types if isinstance(block_type.schema_fields, dict)]
    return sorted(found, key=lambda block_type: order.index(block_type.slug))


def _settings_form(fields: dict, data: Any, slug: str, **kwargs: Any) -> BlockDocumentForm:
    form = BlockDocumentForm(fields, data, prefix=slug, block_choices={}, **kwargs)
    if "name" in form.fields:
        # Named, the block shows on the Blocks page and code can load it; unnamed, it belongs
        # to this notification alone (and is deleted with it).
        form.fields["name"].required = False
        form.fields["name"].label = "Save as a block named"
        form.fields["name"].help_text = (
            "Optional. Named, these settings show on the Blocks page and other notifications or "
            "code can use them; left empty, they belong to this notification only."
        )
    return form


def _form_page(
    request: HttpRequest,
    form: PolicyForm,
    services: list[Service],
    policy: NotificationPolicy | None = None,
    status: int = 200,
) -> HttpResponse:
    for service in services:
        if service.form.is_bound:
            # Shown again (an error here or in the policy's fields): typed secrets are not sent back.
            service.form.forget_typed_secrets()
    chosen = next((service for service in services if service.selected), None)
    has_errors = (form.is_bound and bool(form.errors)) or any(s.form.is_bound and s.form.errors for s in services)
    return render(
        request,
        "notifications/form.html",
        {
            "section": "notifications",
            "form": form,
            "services": services,
            "chosen": chosen,
            "policy": policy,
            "has_errors": has_errors,
            "has_secrets": chosen is not None and bool(secret_paths(chosen.form.schema_fields)),
            "placeholders": TEMPLATE_KEYS,
            "email_configured": settings.ORCHESTRATOR.get("NOTIFICATIONS", {}).get("EMAIL_CONFIGURED", False),
        },
        status=status,
    )


def _typed(request: HttpRequest) -> dict[str, Any]:
    """The policy's fields as posted, to show again as typed, unchecked (when choosing a service)."""
    post = request.POST
    return {
        "state_names": post.getlist("state_names"),
        "tags": post.get("tags", ""),
        "message_template": post.get("message_template", ""),
        "is_active": bool(post.get("is_active")),
    }


@require_http_methods(["GET", "POST"])
def notification_create(request: HttpRequest) -> HttpResponse:
    types = _service_types()
    if not types:
        raise Http404("No notification block types are installed")
    wanted = request.POST.get("service") if request.method == "POST" else request.GET.get("service")
    chosen = next((t for t in types if t.slug == wanted), types[0])
    saving = request.method == "POST" and "choose" not in request.POST

    services = [
        Service(
            block_type,
            _settings_form(
                block_type.schema_fields, request.POST if saving and block_type is chosen else None, block_type.slug
            ),
            selected=block_type is chosen,
        )
        for block_type in types
    ]
    if not saving:  # the empty form, or (without JavaScript) another service's settings
        return _form_page(request, PolicyForm(initial=_typed(request) if request.method == "POST" else None), services)

    form = PolicyForm(request.POST)
    settings_form = next(service.form for service in services if service.selected)
    if form.is_valid() and settings_form.is_valid():
        name = settings_form.cleaned_data.get("name") or None
        try:
            policy = domain.create_policy_with_block(
                block_type_slug=chosen.slug,
                block_data=settings_form.cleaned_data["document_data"],
                block_name=name,
                **form.policy_fields(),
            )
        except Conflict:
            settings_form.add_error("name", f"A {chosen.name} block named “{name}” already exists.")
        except APIException as exc:  # the block type lost its schema meanwhile, ...
            settings_form.add_error(None, _detail(exc))
        else:
            messages.success(request, f"Created the notification: {domain.describe(policy)}.")
            return redirect("notifications")
    return _form_page(request, form, services, status=400)


@require_http_methods(["GET", "POST"])
def notification_edit(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    policy = _policy_or_404(pk)
    document = policy.block_document
    try:
        current = crypto.decrypt(document.data)
    except crypto.DecryptionError:
        messages.error(
            request, "This notification's settings cannot be decrypted with this server's key, so it cannot be edited."
        )
        return redirect("notification", policy.pk)
    data = request.POST if request.method == "POST" else None
    form = PolicyForm(data, policy=policy)
    settings_form = _settings_form(
        document.block_schema.fields, data, document.block_type.slug, document=document, current=current
    )
    services = [Service(document.block_type, settings_form, selected=True)]
    if request.method == "POST" and form.is_valid() and settings_form.is_valid():
        try:
            with transaction.atomic():
                policy = domain.update_policy(policy.pk, form.policy_fields())
                domain.update_policy_block(policy.pk, settings_form.cleaned_data["document_data"])
        except NotFound:
            raise Http404(domain.POLICY_NOT_FOUND) from None
        except APIException as exc:
            settings_form.add_error(None, _detail(exc))
        else:
            messages.success(request, f"Saved the notification: {domain.describe(policy)}.")
            return redirect("notifications")
    return _form_page(request, form, services, policy, status=400 if form.is_bound else 200)


# -- buttons ----------------------------------------------------------------------------------


@require_POST
def notification_active(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    wanted = request.POST.get("active")
    if wanted not in ("true", "false"):
        return HttpResponseBadRequest("Say active=true or active=false.")
    try:
        policy = domain.set_active(pk, wanted == "true")
    except NotFound:
        raise Http404(domain.POLICY_NOT_FOUND) from None
    verb = "Resumed" if policy.is_active else "Paused"
    messages.success(request, f"{verb} the notification: {domain.describe(policy)}.")
    return redirect(_back(request, reverse("notifications")))


def destination_name(policy: NotificationPolicy) -> str:
    """Where a policy sends, in a few words: its block's name and type, or the type alone."""
    document = policy.block_document
    if document.is_anonymous:
        return document.block_type.name
    return f"{document.name} ({document.block_type.name})"


def test_outcome(delivery: Delivery) -> str:
    """What became of a test notification, in a sentence's words."""
    attempts = list(delivery.attempts.all())
    last = attempts[-1] if attempts else None
    if delivery.status == DeliveryStatus.SUCCEEDED:
        if last is not None and last.status_code is not None:
            return f"delivered (answer {last.status_code} in {request_time(last.duration)})"
        return "delivered"
    return f"failed: {delivery.error or (last and last.error) or 'no reason recorded'}"


@require_POST
def notification_test(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    policy = _policy_or_404(pk)
    try:
        delivery = domain.send_test(policy.pk)
    except NotFound:
        raise Http404(domain.POLICY_NOT_FOUND) from None
    destination = destination_name(policy)
    outcome = test_outcome(delivery)
    if delivery.status == DeliveryStatus.SUCCEEDED:
        messages.success(request, f"Sent a test notification to {destination}: {outcome}.")
    else:
        messages.error(request, f"The test notification to {destination} {outcome}")
    return redirect(_back(request, reverse("notifications")))


@require_http_methods(["GET", "POST"])
def notification_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    policy = _policy_or_404(pk)
    sentence = domain.describe(policy)
    if request.method == "POST":
        try:
            domain.delete_policy(policy.pk)
        except NotFound:
            raise Http404(domain.POLICY_NOT_FOUND) from None
        messages.success(request, f"Deleted the notification: {sentence}.")
        return redirect("notifications")
    return render(
        request,
        "notifications/delete.html",
        {"section": "notifications", "policy": policy, "sentence": sentence},
    )


# -- delivery history -------------------------------------------------------------------------


@dataclass
class DeliveryRow:
    delivery: Delivery
    badge: dict[str, str]
    attempts: list  # (attempt, how long it took)
    can_resend: bool


def request_time(seconds: float | None) -> str:
    """How long a request took: "45 ms" under a second (most do), else "2.3 s"."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f} ms"
    return f"{seconds:.1f} s"


STATUS_FILTERS = [(status.value, status.label) for status in DeliveryStatus]
RESENDABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.SKIPPED})


def notification_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    policy = _policy_or_404(pk)
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    deliveries = domain.deliveries(policy_id=policy.pk, statuses=[status] if status else None)
    page = paginate(request, deliveries, NEWEST_FIRST, DELIVERIES_PAGE_SIZE)
    rows = [
        DeliveryRow(
            delivery,
            status_badge(delivery.status),
            [(attempt, request_time(attempt.duration)) for attempt in delivery.attempts.all()],
            delivery.status in RESENDABLE,
        )
        for delivery in page.rows
    ]
    return render(
        request,
        "notifications/detail.html",
        {
            "section": "notifications",
            "policy": policy,
            "sentence": domain.describe(policy),
            "states": [(name, STATE_COLORS.get(name, "none")) for name in policy.state_names],
            "page": page,
            "rows": rows,
            "status": status,
            "status_filters": STATUS_FILTERS,
        },
    )


@require_POST
def delivery_resend(request: HttpRequest, pk: uuid.UUID, delivery_pk: uuid.UUID) -> HttpResponse:
    if not Delivery.objects.filter(pk=delivery_pk, policy_id=pk).exists():
        raise Http404("Delivery not found")
    try:
        domain.resend(delivery_pk)
    except NotFound:
        raise Http404("Delivery not found") from None
    except APIException as exc:  # not finished (a sender holds it again)
        messages.error(request, _detail(exc))
    else:
        messages.success(request, "Queued the notification again: it is sent within seconds.")
    return redirect(_back(request, reverse("notification", args=[pk])))
