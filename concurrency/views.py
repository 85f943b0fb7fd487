"""Dashboard pages of concurrency limits: the three kinds in tabs, a page per limit, and the
forms and buttons that create, edit, reset and delete them.

One table holds every limit; its name says what kind it is (concurrency.models): a task-run
tag limit is named `tag:<tag>`, a deployment's limit `deployment:<id>`, anything else is a
global limit. Deployment limits belong to their deployment and are shown read-only here.

Every query has a LIMIT and follows the unique index on the name; the lists page by name
with a keyset cursor (orchestrator.paging) and never count. The buttons are POST
forms under Django's CSRF protection.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from deployments.models import Deployment
from orchestrator.paging import BY_NAME, paginate
from runs.models import TaskRun

from . import slots
from .models import ConcurrencyLimit, Lease

PAGE_SIZE = 50
LEASES_SHOWN = 1000  # leases read for one page of limits (holders of the tag limits shown)
LIMIT_LEASES_SHOWN = 200  # leases listed on a limit's page

TAG_PREFIX = "tag:"
DEPLOYMENT_PREFIX = "deployment:"
MAX_COUNT = 2**31 - 1

GLOBAL, TASK_RUN, DEPLOYMENT = "global", "task-run", "deployment"
TABS = ((GLOBAL, "Global"), (TASK_RUN, "Task run (tags)"), (DEPLOYMENT, "Deployments"))

NAME_VALIDATOR = RegexValidator(r"^[^/%&><]+$", "A name may not contain / %% & > or <.")


def kind_of(limit: ConcurrencyLimit) -> str:
    if limit.name.startswith(TAG_PREFIX):
        return TASK_RUN
    if limit.name.startswith(DEPLOYMENT_PREFIX):
        return DEPLOYMENT
    return GLOBAL


def _of_kind(kind: str) -> QuerySet:
    limits = ConcurrencyLimit.objects.all()
    if kind == TASK_RUN:
        return limits.filter(name__startswith=TAG_PREFIX)
    if kind == DEPLOYMENT:
        return limits.filter(name__startswith=DEPLOYMENT_PREFIX)
    return limits.exclude(Q(name__startswith=TAG_PREFIX) | Q(name__startswith=DEPLOYMENT_PREFIX))


def _deployment_id(limit: ConcurrencyLimit) -> uuid.UUID | None:
    try:
        return uuid.UUID(limit.name[len(DEPLOYMENT_PREFIX) :])
    except ValueError:
        return None


def _leases(limit_ids: list[uuid.UUID], size: int) -> list[Lease]:
    """Up to `size` leases that hold slots on any of the limits, soonest to expire first."""
    if not limit_ids:
        return []
    return list(
        Lease.objects.filter(limit_ids__contains_any=[str(pk) for pk in limit_ids])
        .only("id", "limit_ids", "slots", "holder", "created", "expires")
        .order_by("expires", "id")[:size]
    )


def _task_runs(leases: list[Lease]) -> dict[str, TaskRun]:
    """The task runs that hold leases, by id (one query)."""
    ids = set()
    for lease in leases:
        holder = lease.holder or {}
        if holder.get("type") == "task_run":
            try:
                ids.add(uuid.UUID(str(holder.get("id"))))
            except ValueError:
                continue
    if not ids:
        return {}
    found = TaskRun.objects.filter(id__in=ids).only("id", "name", "flow_run_id")[: len(ids)]
    return {str(task_run.pk): task_run for task_run in found}


def _holder(lease: Lease, task_runs: dict[str, TaskRun]) -> dict[str, Any]:
    """What the page shows of a lease's holder: its kind, id, and the task run if known."""
    holder = lease.holder or {}
    ident = str(holder.get("id") or "")
    flow_run_id = None
    if holder.get("type") == "flow_run":
        try:
            flow_run_id = uuid.UUID(ident)
        except ValueError:
            pass
    return {
        "type": str(holder.get("type") or ""),
        "id": ident,
        "task_run": task_runs.get(ident) if holder.get("type") == "task_run" else None,
        "flow_run_id": flow_run_id,
        "slots": lease.slots,
        "expires": lease.expires,
    }


def _decorate(rows: list[ConcurrencyLimit], kind: str) -> None:
    """Give each limit of a page what its row shows: slots in use after decay, the task runs
    holding a tag limit's slots, the deployment of a deployment limit."""
    now = timezone.now()
    for limit in rows:
        limit.in_use = slots.available(limit, now)
        limit.holders = []
    if kind == TASK_RUN:
        by_id = {str(limit.pk): limit for limit in rows}
        leases = _leases(list(by_id), LEASES_SHOWN)
        task_runs = _task_runs(leases)
        for lease in leases:
            if (lease.holder or {}).get("type") != "task_run":
                continue
            for limit_id in lease.limit_ids:
                if limit_id in by_id:
                    by_id[limit_id].holders.append(_holder(lease, task_runs))
    if kind == DEPLOYMENT:
        ids = {limit.pk: _deployment_id(limit) for limit in rows}
        found = (
            Deployment.objects.filter(id__in=[i for i in ids.values() if i])
            .select_related("flow")
            .only("id", "name", "flow__name")[: len(rows)]
        )
        deployments = {deployment.pk: deployment for deployment in found}
        for limit in rows:
            limit.deployment_id = ids[limit.pk]
            limit.deployment = deployments.get(ids[limit.pk])


def limits_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("tab", GLOBAL)
    if kind not in dict(TABS):
        kind = GLOBAL
    page = paginate(request, _of_kind(kind), BY_NAME, PAGE_SIZE)
    _decorate(page.rows, kind)
    return render(
        request,
        "concurrency/list.html",
        {"section": "concurrency", "page": page, "tab": kind, "tabs": TABS},
    )


def _list_url(kind: str) -> str:
    url = reverse("concurrency-limits")
    return url if kind == GLOBAL else f"{url}?tab={kind}"


# -- forms ----------------------------------------------------------------------------------


def _limit_field() -> forms.IntegerField:
    return forms.IntegerField(
        min_value=0,
        max_value=MAX_COUNT,
        label="Limit",
        help_text="How many slots can be taken at once.",
    )


def _decay_field() -> forms.FloatField:
    return forms.FloatField(
        min_value=0.0,
        required=False,
        initial=0.0,
        label="Slot decay per second",
        help_text="0 for a concurrency limit. Above 0 it is a rate limit: taken slots free "
        "themselves at this rate instead of being given back, e.g. 0.5 for one slot every two seconds.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


class GlobalLimitForm(forms.Form):
    name = forms.CharField(
        max_length=255,
        validators=[NAME_VALIDATOR],
        help_text='How code takes its slots: concurrency("my-limit", occupy=1).',
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    limit = _limit_field()
    slot_decay_per_second = _decay_field()
    active = forms.BooleanField(required=False, initial=True, help_text="An inactive limit lets everything through.")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        for prefix, what in ((TAG_PREFIX, "task-run tag limits"), (DEPLOYMENT_PREFIX, "deployments' limits")):
            if name.startswith(prefix):
                raise forms.ValidationError(f"Names starting with “{prefix}” are kept for {what}.")
        if ConcurrencyLimit.objects.filter(name=name).exists():
            raise forms.ValidationError(f"A concurrency limit named “{name}” already exists.")
        return name


class TagLimitForm(forms.Form):
    tag = forms.CharField(
        max_length=255 - len(TAG_PREFIX),
        help_text='Task runs with this tag share the limit: @task(tags=["my-tag"]).',
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    limit = _limit_field()

    def clean_tag(self) -> str:
        tag = self.cleaned_data["tag"].strip()
        if ConcurrencyLimit.objects.filter(name=TAG_PREFIX + tag).exists():
            raise forms.ValidationError(f"The tag “{tag}” has a limit already; edit that one.")
        return tag


class EditLimitForm(forms.Form):
    """A limit's settings; a tag limit has only its number."""

    limit = _limit_field()
    slot_decay_per_second = _decay_field()
    active = forms.BooleanField(required=False, help_text="An inactive limit lets everything through.")

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if kind == TASK_RUN:
            del self.fields["slot_decay_per_second"]
            del self.fields["active"]


# -- pages and buttons -------------------------------------------------------------------


def _create(request: HttpRequest, form: forms.Form, values: dict[str, Any], kind: str) -> HttpResponse | None:
    try:
        with transaction.atomic():
            limit = ConcurrencyLimit.objects.create(**values)
    except IntegrityError:  # created by someone else since the form was checked
        form.add_error(None, f"A concurrency limit named “{values['name']}” already exists.")
        return None
    messages.success(request, f"Created the concurrency limit {limit.name}.")
    return redirect(_list_url(kind))


@require_http_methods(["GET", "POST"])
def limit_create(request: HttpRequest) -> HttpResponse:
    form = GlobalLimitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = {
            "name": data["name"],
            "limit": data["limit"],
            "slot_decay_per_second": data["slot_decay_per_second"] or 0.0,
            "active": data["active"],
        }
        if response := _create(request, form, values, GLOBAL):
            return response
    return render(
        request,
        "concurrency/form.html",
        {"section": "concurrency", "form": form, "kind": GLOBAL, "limit": None},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
def tag_limit_create(request: HttpRequest) -> HttpResponse:
    form = TagLimitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        values = {"name": TAG_PREFIX + form.cleaned_data["tag"], "limit": form.cleaned_data["limit"]}
        if response := _create(request, form, values, TASK_RUN):
            return response
    return render(
        request,
        "concurrency/form.html",
        {"section": "concurrency", "form": form, "kind": TASK_RUN, "limit": None},
        status=400 if form.is_bound else 200,
    )


def limit_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    limit = get_object_or_404(ConcurrencyLimit, pk=pk)
    kind = kind_of(limit)
    _decorate([limit], kind)
    leases = _leases([limit.pk], LIMIT_LEASES_SHOWN + 1)
    task_runs = _task_runs(leases[:LIMIT_LEASES_SHOWN])
    return render(
        request,
        "concurrency/limit.html",
        {
            "section": "concurrency",
            "limit": limit,
            "kind": kind,
            "kind_label": dict(TABS)[kind],
            "list_url": _list_url(kind),
            "leases": [_holder(lease, task_runs) | {"lease": lease} for lease in leases[:LIMIT_LEASES_SHOWN]],
            "leases_truncated": len(leases) > LIMIT_LEASES_SHOWN,
        },
    )


def _changeable_or_redirect(request: HttpRequest, limit: ConcurrencyLimit) -> HttpResponse | None:
    """Deployment limits follow their deployment's settings: the dashboard leaves them be."""
    if kind_of(limit) == DEPLOYMENT:
        messages.error(request, "A deployment's concurrency limit changes with the deployment (concurrency_limit=...).")
        return redirect("concurrency-limit", limit.pk)
    return None


@require_http_methods(["GET", "POST"])
def limit_edit(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    limit = get_object_or_404(ConcurrencyLimit, pk=pk)
    if refused := _changeable_or_redirect(request, limit):
        return refused
    kind = kind_of(limit)
    initial = {"limit": limit.limit, "slot_decay_per_second": limit.slot_decay_per_second, "active": limit.active}
    form = EditLimitForm(request.POST if request.method == "POST" else None, initial=initial, kind=kind)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = ConcurrencyLimit.objects.select_for_update().get(pk=limit.pk)
            now = timezone.now()
            # Fold the decay so far into the count, so a new decay rate starts from now.
            locked.active_slots = slots.available(locked, now)
            for key, value in form.cleaned_data.items():
                setattr(locked, key, value if value is not None else 0.0)
            locked.updated = now
            locked.save()
        messages.success(request, f"Saved the concurrency limit {limit.name}.")
        return redirect(_list_url(kind))
    return render(
        request,
        "concurrency/form.html",
        {"section": "concurrency", "form": form, "kind": kind, "limit": limit},
        status=400 if form.is_bound else 200,
    )


@require_POST
def limit_reset(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Free every slot: nothing holds the limit afterwards (holders that still run are not stopped)."""
    limit = get_object_or_404(ConcurrencyLimit, pk=pk)
    if refused := _changeable_or_redirect(request, limit):
        return refused
    with transaction.atomic():
        locked = ConcurrencyLimit.objects.select_for_update().get(pk=limit.pk)
        freed = slots.available(locked)
        ended = slots.end_leases(locked)
        ConcurrencyLimit.objects.filter(pk=locked.pk).update(active_slots=0, updated=timezone.now())
    slot_text = f"{freed} slot{'' if freed == 1 else 's'} freed"
    lease_text = f"{ended} holder{'' if ended == 1 else 's'} released" if ended else "no holders"
    messages.success(request, f"Reset {limit.name}: {slot_text}, {lease_text}.")
    next_url = request.POST.get("next", "")
    if next_url == "detail":
        return redirect("concurrency-limit", limit.pk)
    return redirect(_list_url(kind_of(limit)))


@require_http_methods(["GET", "POST"])
def limit_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    limit = get_object_or_404(ConcurrencyLimit, pk=pk)
    if refused := _changeable_or_redirect(request, limit):
        return refused
    kind = kind_of(limit)
    if request.method == "POST":
        with transaction.atomic():
            slots.delete_limit(limit)
        messages.success(request, f"Deleted the concurrency limit {limit.name}.")
        return redirect(_list_url(kind))
    limit.in_use = slots.available(limit)
    return render(
        request,
        "concurrency/delete.html",
        {"section": "concurrency", "limit": limit, "kind": kind, "list_url": _list_url(kind)},
    )
