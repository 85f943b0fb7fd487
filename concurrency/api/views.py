"""/api/v2/concurrency_limits (global limits, leases) and /api/concurrency_limits (tag limits).

Tag limits are global limits named `tag:<tag>`; the v1 API shows them the way older clients
and `prefect concurrency-limit` expect (`active_slots` as the task runs holding a slot).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import Conflict, Gone, Locked, NotFound, Unprocessable
from orchestrator.api.fields import BodyFields, Choice, StrictSerializer, Text, UUIDField, validate
from orchestrator.api.views import body_of, limit_of, offset_of
from runs.orchestration.states import iso

from .. import slots
from ..models import ConcurrencyLimit, Lease

TAG_PREFIX = "tag:"
V1_LEASE_SECONDS = 24 * 3600  # v1 slots are held until the task run gives them back
NAME = RegexValidator(r"^[^/%&><]+$", "Name may not contain / %% & > <")


def _name_field(**kwargs):
    return Text(max_length=255, allow_blank=False, validators=[NAME], **kwargs)


def _count(**kwargs):
    kwargs.setdefault("min_value", 0)
    kwargs.setdefault("max_value", 2**31 - 1)
    return serializers.IntegerField(**kwargs)


class LimitCreateSerializer(StrictSerializer):
    active = serializers.BooleanField(required=False, default=True)
    name = _name_field()
    limit = _count()
    active_slots = _count(required=False, default=0)
    denied_slots = _count(required=False, default=0)
    slot_decay_per_second = serializers.FloatField(required=False, default=0.0, min_value=0.0)


class LimitUpdateSerializer(StrictSerializer):
    active = serializers.BooleanField(required=False, allow_null=True)
    name = _name_field(required=False, allow_null=True)
    limit = _count(required=False, allow_null=True)
    active_slots = _count(required=False, allow_null=True)
    denied_slots = _count(required=False, allow_null=True)
    slot_decay_per_second = serializers.FloatField(required=False, allow_null=True, min_value=0.0)


class HolderSerializer(StrictSerializer):
    type = Choice(["flow_run", "task_run", "deployment"])
    id = UUIDField()


class IncrementSerializer(BodyFields):
    slots = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    names = serializers.ListField(child=Text(max_length=255), min_length=1)
    mode = Choice(["concurrency", "rate_limit"], required=False, default="concurrency")
    create_if_missing = serializers.BooleanField(required=False, allow_null=True, default=None)


class IncrementWithLeaseSerializer(BodyFields):
    slots = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    names = serializers.ListField(child=Text(max_length=255), min_length=1)
    mode = Choice(["concurrency", "rate_limit"], required=False, default="concurrency")
    lease_duration = serializers.FloatField(required=False, default=300, min_value=60, max_value=86400)
    holder = HolderSerializer(required=False, allow_null=True, default=None)


class DecrementSerializer(BodyFields):
    slots = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    names = serializers.ListField(child=Text(max_length=255), min_length=1)
    occupancy_seconds = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0.0)
    create_if_missing = serializers.BooleanField(required=False, allow_null=True, default=None)


class LeaseIdSerializer(BodyFields):
    lease_id = UUIDField()


class RenewSerializer(BodyFields):
    lease_duration = serializers.FloatField(required=False, default=300, min_value=60, max_value=86400)


class TagLimitCreateSerializer(StrictSerializer):
    tag = Text(max_length=250)
    concurrency_limit = _count()


class TagSlotsSerializer(BodyFields):
    names = serializers.ListField(child=Text(max_length=250))
    task_run_id = UUIDField()


class ResetSerializer(BodyFields):
    slot_override = serializers.ListField(child=UUIDField(), required=False, allow_null=True, default=None)


def limit_json(limit: ConcurrencyLimit) -> dict:
    return {
        "id": str(limit.id),
        "created": iso(limit.created),
        "updated": iso(limit.updated),
        "active": limit.active,
        "name": limit.name,
        "limit": limit.limit,
        "active_slots": slots.available(limit),
        "denied_slots": limit.denied_slots,
        "slot_decay_per_second": limit.slot_decay_per_second,
        "avg_slot_occupancy_seconds": limit.avg_slot_occupancy_seconds,
    }


def minimal_json(limit: ConcurrencyLimit) -> dict:
    return {"id": str(limit.id), "name": limit.name, "limit": limit.limit}


def by_id_or_name(value: str, *, for_update: bool = False) -> ConcurrencyLimit:
    qs = ConcurrencyLimit.objects.select_for_update() if for_update else ConcurrencyLimit.objects.all()
    try:
        found = qs.filter(id=uuid.UUID(value)).first()
    except ValueError:
        found = qs.filter(name=value).first()
    if found is None:
        raise NotFound("Concurrency Limit not found")
    return found


def _take(names: list[str], count: int, mode: str, *, lease_seconds=None, holder=None):
    limits = list(ConcurrencyLimit.objects.filter(name__in=names))
    active = [limit for limit in limits if limit.active]
    if any(limit.limit < count for limit in active):
        raise Unprocessable("Slots requested is greater than the limit")
    steady = [limit.name for limit in active if limit.slot_decay_per_second == 0]
    if mode == "rate_limit" and steady:
        raise Unprocessable(
            "Only limits with a slot decay can be used as rate limits; these have none: " + ", ".join(steady)
        )
    try:
        return limits, slots.acquire(active, count, lease_seconds=lease_seconds, holder=holder)
    except slots.LimitsFull as full:
        raise Locked("Locked", retry_after=full.retry_after) from None


class LimitsView(APIView):
    def post(self, request):
        data = validate(LimitCreateSerializer, body_of(request))
        try:
            with transaction.atomic():
                limit = ConcurrencyLimit.objects.create(**data)
        except IntegrityError:
            raise Conflict(f"A concurrency limit named {data['name']!r} already exists.") from None
        return Response(limit_json(limit), status=status.HTTP_201_CREATED)


class LimitView(APIView):
    def get(self, request, id_or_name=None):
        return Response(limit_json(by_id_or_name(id_or_name)))

    def patch(self, request, id_or_name=None):
        body = body_of(request)
        data = validate(LimitUpdateSerializer, body)
        try:
            with transaction.atomic():
                limit = by_id_or_name(id_or_name, for_update=True)
                for key, value in data.items():
                    if key in body and value is not None:
                        setattr(limit, key, value)
                limit.save()
        except IntegrityError:
            raise Conflict("A concurrency limit with that name already exists.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete(self, request, id_or_name=None):
        with transaction.atomic():
            slots.delete_limit(by_id_or_name(id_or_name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LimitFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        offset, limit = offset_of(body), limit_of(body)
        rows = ConcurrencyLimit.objects.order_by("name")[offset : offset + limit]
        return Response([limit_json(row) for row in rows])


class IncrementView(APIView):
    def post(self, request):
        data = validate(IncrementSerializer, body_of(request))
        limits, acquired = _take(data["names"], data["slots"], data["mode"])
        return Response([minimal_json(limit) for limit in limits])


class IncrementWithLeaseView(APIView):
    def post(self, request):
        data = validate(IncrementWithLeaseSerializer, body_of(request))
        holder = data["holder"]
        if holder is not None:
            holder = {"type": holder["type"], "id": str(holder["id"])}
        limits, acquired = _take(
            data["names"], data["slots"], data["mode"], lease_seconds=data["lease_duration"], holder=holder
        )
        # With no matching limit nothing is held: the id answers the client, no lease is stored.
        lease_id = acquired.lease.id if acquired.lease is not None else uuid.uuid4()
        return Response({"lease_id": str(lease_id), "limits": [minimal_json(limit) for limit in limits]})


class DecrementView(APIView):
    def post(self, request):
        data = validate(DecrementSerializer, body_of(request))
        limits = list(ConcurrencyLimit.objects.filter(name__in=data["names"]))
        slots.release([limit.id for limit in limits if limit.active], data["slots"], data["occupancy_seconds"])
        return Response([minimal_json(limit) for limit in limits])


class DecrementWithLeaseView(APIView):
    def post(self, request):
        data = validate(LeaseIdSerializer, body_of(request))
        slots.release_lease(data["lease_id"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class RenewLeaseView(APIView):
    def post(self, request, lease_id=None):
        data = validate(RenewSerializer, body_of(request))
        if not slots.renew_lease(lease_id, data["lease_duration"]):
            raise Gone("Lease not found - it may have expired or been revoked")
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- tag limits (v1) -----------------------------------------------------------------


def _holders(limit: ConcurrencyLimit) -> list[str]:
    leases = Lease.objects.filter(limit_ids__contains_all=[str(limit.id)])
    return [lease.holder["id"] for lease in leases if (lease.holder or {}).get("type") == "task_run"]


def tag_limit_json(limit: ConcurrencyLimit) -> dict:
    return {
        "id": str(limit.id),
        "created": iso(limit.created),
        "updated": iso(limit.updated),
        "tag": limit.name[len(TAG_PREFIX) :],
        "concurrency_limit": limit.limit,
        "active_slots": _holders(limit),
    }


def tag_limit(tag: str) -> ConcurrencyLimit:
    found = ConcurrencyLimit.objects.filter(name=f"{TAG_PREFIX}{tag}").first()
    if found is None:
        raise NotFound("Concurrency limit not found")
    return found


class TagLimitsView(APIView):
    def post(self, request):
        data = validate(TagLimitCreateSerializer, body_of(request))
        limit, created = ConcurrencyLimit.objects.update_or_create(
            name=f"{TAG_PREFIX}{data['tag']}", defaults={"limit": data["concurrency_limit"]}
        )
        return Response(tag_limit_json(limit), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TagLimitByIdView(APIView):
    def get(self, request, pk=None):
        limit = ConcurrencyLimit.objects.filter(pk=pk, name__startswith=TAG_PREFIX).first()
        if limit is None:
            raise NotFound("Concurrency limit not found")
        return Response(tag_limit_json(limit))

    def delete(self, request, pk=None):
        with transaction.atomic():
            limit = ConcurrencyLimit.objects.filter(pk=pk, name__startswith=TAG_PREFIX).first()
            if limit is None:
                raise NotFound("Concurrency limit not found")
            slots.delete_limit(limit)
        return Response(None)


class TagLimitByTagView(APIView):
    def get(self, request, tag=None):
        return Response(tag_limit_json(tag_limit(tag)))

    def delete(self, request, tag=None):
        with transaction.atomic():
            slots.delete_limit(tag_limit(tag))
        return Response(None)


class TagLimitFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        offset, limit = offset_of(body), limit_of(body)
        rows = ConcurrencyLimit.objects.filter(name__startswith=TAG_PREFIX).order_by("name")[offset : offset + limit]
        return Response([tag_limit_json(row) for row in rows])


class TagLimitResetView(APIView):
    def post(self, request, tag=None):
        data = validate(ResetSerializer, body_of(request))
        keep = {str(i) for i in data["slot_override"] or []}
        with transaction.atomic():
            limit = ConcurrencyLimit.objects.select_for_update().get(pk=tag_limit(tag).pk)
            slots.end_leases(limit, keep_holders=keep)
            ConcurrencyLimit.objects.filter(pk=limit.pk).update(active_slots=len(keep), updated=timezone.now())
            now = timezone.now()
            for task_run_id in keep - set(_holders(limit)):
                Lease.objects.create(
                    expires=now + dt.timedelta(seconds=V1_LEASE_SECONDS),
                    limit_ids=[str(limit.id)],
                    slots=1,
                    holder={"type": "task_run", "id": task_run_id},
                )
        return Response(None)


class TagIncrementView(APIView):
    def post(self, request):
        data = validate(TagSlotsSerializer, body_of(request))
        names = [f"{TAG_PREFIX}{name}" for name in data["names"]]
        limits = [limit for limit in ConcurrencyLimit.objects.filter(name__in=names) if limit.active]
        for limit in limits:
            if limit.limit == 0:
                tag = limit.name[len(TAG_PREFIX) :]
                raise Locked(
                    f'The concurrency limit on tag "{tag}" is 0 and will deadlock if the task tries to run again.'
                )
        try:
            slots.acquire(
                limits, 1, lease_seconds=V1_LEASE_SECONDS, holder={"type": "task_run", "id": str(data["task_run_id"])}
            )
        except slots.LimitsFull as full:
            tag = full.limits[0].name[len(TAG_PREFIX) :]
            raise Locked(
                f"Concurrency limit for the {tag} tag has been reached", retry_after=full.retry_after
            ) from None
        return Response([minimal_json(limit) for limit in limits])


class TagDecrementView(APIView):
    def post(self, request):
        data = validate(TagSlotsSerializer, body_of(request))
        names = [f"{TAG_PREFIX}{name}" for name in data["names"]]
        limits = list(ConcurrencyLimit.objects.filter(name__in=names))
        holder = str(data["task_run_id"])
        ids = {str(limit.id) for limit in limits}
        for lease in Lease.objects.filter(holder__id=holder):
            if ids & set(lease.limit_ids):
                slots.release_lease(lease.id)
        return Response([minimal_json(limit) for limit in limits])
