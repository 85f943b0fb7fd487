"""Dashboard pages of deployments and work pools: two lists, a page each, and their buttons.

Every query has a LIMIT and follows an index of deployments.models or runs.models, so a page
costs the same with ten deployments or ten thousand. The lists never count: they page by
name with a keyset cursor on (name, id) (orchestrator.paging). The buttons are POST forms under Django's CSRF protection; they change
things the way the API does, through the deployments app's domain and scheduling functions.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException, ValidationError

from concurrency.models import ConcurrencyLimit
from orchestrator.api.errors import drf_errors_to_locs, summary
from orchestrator.api.fields import validate
from orchestrator.paging import BY_NAME, paginate, search_text
from runs.choices import StateType
from runs.models import FlowRun
from runs.views import RUN_ROW_FIELDS

from . import domain
from .api.serializers import DeploymentFlowRunCreateSerializer
from .choices import WorkerStatus, WorkPoolStatus
from .models import Deployment, DeploymentSchedule, Worker, WorkPool, WorkQueue
from .run_form import CustomRunForm

PAGE_SIZE = 50
RUNS_SHOWN = 20
SCHEDULES_SHOWN = 50  # per deployment; the scheduler reads them all anyway
QUEUES_SHOWN = 200
WORKERS_SHOWN = 200

# What a row of the deployments list reads; parameters and their schema can be large.
DEPLOYMENT_ROW_FIELDS = (
    "id",
    "name",
    "flow",
    "flow__name",
    "paused",
    "status",
    "tags",
    "last_polled",
    "work_queue_name",
    "work_queue",
    "work_queue__name",
    "work_queue__work_pool",
    "work_queue__work_pool__name",
)
POOL_ROW_FIELDS = ("id", "name", "type", "status", "is_paused", "concurrency_limit", "description")


def _recent_runs(runs: QuerySet) -> list[FlowRun]:
    """The latest runs due by now, newest first (future scheduled runs are "upcoming")."""
    return list(
        runs.filter(expected_start_time__lte=timezone.now())
        .select_related("flow")
        .only(*RUN_ROW_FIELDS, "flow__name")
        .order_by("-expected_start_time", "-id")[:RUNS_SHOWN]
    )


# -- deployments --------------------------------------------------------------------------


def _deployment_or_404(pk: uuid.UUID, *, for_update: bool = False) -> Deployment:
    deployments = Deployment.objects.select_related("flow", "work_queue__work_pool")
    if for_update:
        deployments = deployments.select_for_update(of=("self",))
    return get_object_or_404(deployments, pk=pk)


def _attach_schedules(deployments: list[Deployment]) -> None:
    """Give each deployment its schedules as `schedule_list`, in one query for the page."""
    by_deployment: dict[uuid.UUID, list[DeploymentSchedule]] = {d.pk: [] for d in deployments}
    if by_deployment:
        found = (
            DeploymentSchedule.objects.filter(deployment_id__in=list(by_deployment))
            .only("id", "deployment_id", "schedule", "active")
            .order_by("created", "id")[: len(by_deployment) * SCHEDULES_SHOWN]
        )
        for schedule in found:
            by_deployment[schedule.deployment_id].append(schedule)
    for deployment in deployments:
        deployment.schedule_list = by_deployment[deployment.pk]


def deployments_list(request: HttpRequest) -> HttpResponse:
    query = search_text(request)
    deployments = Deployment.objects.select_related("flow", "work_queue__work_pool").only(*DEPLOYMENT_ROW_FIELDS)
    if query:
        deployments = deployments.filter(Q(name__icontains=query) | Q(flow__name__icontains=query))
    page = paginate(request, deployments, BY_NAME, PAGE_SIZE)
    _attach_schedules(page.rows)
    return render(request, "deployments/list.html", {"section": "deployments", "page": page, "query": query})


def _deployment_page(request: HttpRequest, deployment: Deployment) -> HttpResponse:
    runs = FlowRun.objects.filter(deployment_id=deployment.pk)
    upcoming = list(
        runs.filter(state_type=StateType.SCHEDULED, next_scheduled_start_time__isnull=False)
        .only(*RUN_ROW_FIELDS, "next_scheduled_start_time")
        .order_by("next_scheduled_start_time", "id")[: RUNS_SHOWN + 1]
    )
    limit = None
    if deployment.concurrency_limit_id:
        limit = (
            ConcurrencyLimit.objects.filter(pk=deployment.concurrency_limit_id).only("limit", "active_slots").first()
        )
    return render(
        request,
        "deployments/deployment.html",
        {
            "section": "deployments",
            "deployment": deployment,
            "schedules": list(deployment.schedules.order_by("created", "id")[:SCHEDULES_SHOWN]),
            "upcoming": upcoming[:RUNS_SHOWN],
            "upcoming_truncated": len(upcoming) > RUNS_SHOWN,
            "recent": _recent_runs(runs),
            "runs_shown": RUNS_SHOWN,
            "concurrency": limit,
        },
    )


def deployment_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _deployment_page(request, _deployment_or_404(pk))


def _error_text(exc: APIException) -> str:
    if isinstance(exc.detail, str):
        return str(exc.detail)
    return summary(drf_errors_to_locs(exc.detail, ())) or "The run could not be created."


# Where an error of the API's request body shows on the custom run form.
BODY_FIELDS = {"name": "name", "tags": "tags", "job_variables": "job_variables", "state": "scheduled_time"}


def _create_run(deployment: Deployment, body: dict) -> tuple[FlowRun | None, list[tuple[str | None, str]]]:
    """Create the run as `POST /api/deployments/{id}/create_flow_run` does: the API's
    serializer, then the domain function. A refusal comes back as (form field, message)s."""
    try:
        data = validate(DeploymentFlowRunCreateSerializer, body)
        run, _ = domain.create_run(deployment, dict(data))
    except ValidationError as exc:  # the body did not pass the API's serializer
        return None, [
            (BODY_FIELDS.get(str((error.get("loc") or [""])[0])), str(error.get("msg")))
            for error in drf_errors_to_locs(exc.detail, ())
        ]
    except APIException as exc:  # the domain refuses with the API's errors (Conflict, ...)
        return None, [(None, _error_text(exc))]
    return run, []


def _run_page(
    request: HttpRequest, deployment: Deployment, form: CustomRunForm, errors: list[str] = (), status: int = 200
) -> HttpResponse:
    return render(
        request,
        "deployments/run.html",
        {"section": "deployments", "deployment": deployment, "form": form, "run_errors": errors},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def deployment_run(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """GET: the custom run form. POST: create a run and open its page. "Quick run" posts no
    fields and gets the deployment's default parameters; the custom form posts its own."""
    deployment = _deployment_or_404(pk)
    if request.method == "GET":
        return _run_page(request, deployment, CustomRunForm(deployment))
    if not request.POST.get("custom"):  # a quick run
        run, errors = _create_run(deployment, {})
        if run is None:
            # The form, unfilled, to choose parameters that the deployment accepts.
            return _run_page(request, deployment, CustomRunForm(deployment), [m for _, m in errors], status=400)
    else:
        form = CustomRunForm(deployment, request.POST)
        if not form.is_valid():
            return _run_page(request, deployment, form, status=400)
        run, errors = _create_run(deployment, form.request_body())
        if run is None:
            for field, message in errors:
                form.add_error(field if field in form.fields else None, message)
            return _run_page(request, deployment, form, status=400)
    messages.success(request, f"Run {run.name} created.")
    return redirect("flow-run", run.pk)


@require_POST
def deployment_pause(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Pause the schedules: no new runs, and the scheduler's runs not yet started go."""
    deployment = _deployment_or_404(pk)
    removed = domain.pause(deployment)
    if removed is None:
        messages.info(request, "This deployment was already paused.")
    else:
        removed_text = f"{removed} scheduled run{'' if removed == 1 else 's'}" if removed else "no scheduled runs"
        messages.success(request, f"Deployment paused; {removed_text} removed.")
    return redirect("deployment", deployment.pk)


@require_POST
def deployment_resume(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Resume the schedules: the next runs are scheduled at once."""
    deployment = _deployment_or_404(pk)
    created = domain.resume(deployment)
    if created is None:
        messages.info(request, "This deployment was not paused.")
    elif created:
        messages.success(request, f"Deployment resumed; {created} run{'' if created == 1 else 's'} scheduled.")
    else:
        messages.success(request, "Deployment resumed. It has no active schedule, so no runs were scheduled.")
    return redirect("deployment", deployment.pk)


# -- work pools ---------------------------------------------------------------------------


def _counts(rows: QuerySet, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many of `rows` each pool in `ids` has, in one grouped query."""
    if not ids:
        return {}
    grouped = rows.filter(work_pool_id__in=ids).values("work_pool_id").annotate(n=Count("id")).order_by()
    return {row["work_pool_id"]: row["n"] for row in grouped}


def work_pools_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, WorkPool.objects.only(*POOL_ROW_FIELDS), BY_NAME, PAGE_SIZE)
    ids = [pool.pk for pool in page.rows]
    online = _counts(Worker.objects.filter(status=WorkerStatus.ONLINE), ids)
    queues = _counts(WorkQueue.objects.all(), ids)
    for pool in page.rows:
        pool.online_workers = online.get(pool.pk, 0)
        pool.queue_count = queues.get(pool.pk, 0)
    return render(request, "deployments/work_pools.html", {"section": "work-pools", "page": page})


def work_pool_detail(request: HttpRequest, name: str) -> HttpResponse:
    pool = get_object_or_404(WorkPool.objects.select_related("default_queue"), name=name)
    queues = list(WorkQueue.objects.filter(work_pool=pool).order_by("priority", "name")[: QUEUES_SHOWN + 1])
    workers = list(Worker.objects.filter(work_pool=pool).order_by("-last_heartbeat_time", "id")[: WORKERS_SHOWN + 1])
    return render(
        request,
        "deployments/work_pool.html",
        {
            "section": "work-pools",
            "pool": pool,
            "queues": queues[:QUEUES_SHOWN],
            "queues_truncated": len(queues) > QUEUES_SHOWN,
            "workers": workers[:WORKERS_SHOWN],
            "workers_truncated": len(workers) > WORKERS_SHOWN,
            "recent": _recent_runs(FlowRun.objects.filter(work_pool_id=pool.pk)),
            "runs_shown": RUNS_SHOWN,
        },
    )


def _set_pool_paused(request: HttpRequest, name: str, paused: bool) -> HttpResponse:
    """Pause or resume a pool as PATCH /api/work_pools/<name> does: a paused pool is PAUSED;
    a resumed one is READY if a worker is online, else NOT_READY."""
    with transaction.atomic():
        pool = get_object_or_404(WorkPool.objects.select_for_update(), name=name)
        if pool.is_paused == paused:
            messages.info(request, f"This work pool was {'already' if paused else 'not'} paused.")
        else:
            pool.is_paused = paused
            if paused:
                pool.status = WorkPoolStatus.PAUSED
            elif pool.status == WorkPoolStatus.PAUSED:
                online = pool.workers.filter(status=WorkerStatus.ONLINE).exists()
                pool.status = WorkPoolStatus.READY if online else WorkPoolStatus.NOT_READY
            pool.last_transitioned_status_at = pool.updated = timezone.now()
            pool.save(update_fields=["is_paused", "status", "last_transitioned_status_at", "updated"])
            if paused:
                messages.success(request, "Work pool paused.")
            else:
                messages.success(request, "Work pool resumed: workers get runs from it again.")
    return redirect("work-pool", pool.name)


@require_POST
def work_pool_pause(request: HttpRequest, name: str) -> HttpResponse:
    return _set_pool_paused(request, name, True)


@require_POST
def work_pool_resume(request: HttpRequest, name: str) -> HttpResponse:
    return _set_pool_paused(request, name, False)
