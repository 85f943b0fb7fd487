"""Tag concurrency limits through Prefect's v1 API: resetting or deleting one limit leaves the
slots a task run holds on its other tags alone."""

from __future__ import annotations

import uuid

import pytest

from concurrency.models import ConcurrencyLimit, Lease

pytestmark = pytest.mark.django_db


def active_slots(tag: str) -> int:
    return ConcurrencyLimit.objects.get(name=f"tag:{tag}").active_slots


@pytest.fixture
def task_run_holding_db_and_gpu(api) -> str:
    for tag in ("db", "gpu"):
        assert api.post("concurrency_limits/", {"tag": tag, "concurrency_limit": 5}).status_code in (200, 201)
    task_run_id = str(uuid.uuid4())
    response = api.post("concurrency_limits/increment", {"names": ["db", "gpu"], "task_run_id": task_run_id})
    assert response.status_code == 200, response.content
    assert (active_slots("db"), active_slots("gpu")) == (1, 1)
    return task_run_id


def test_resetting_one_tag_keeps_the_task_runs_slot_on_its_other_tag(api, task_run_holding_db_and_gpu):
    assert api.post("concurrency_limits/tag/db/reset", {}).status_code == 200

    assert (active_slots("db"), active_slots("gpu")) == (0, 1)
    (lease,) = Lease.objects.all()
    gpu = ConcurrencyLimit.objects.get(name="tag:gpu")
    assert lease.limit_ids == [str(gpu.pk)]


def test_a_reset_with_an_override_keeps_the_named_holders(api, task_run_holding_db_and_gpu):
    other = str(uuid.uuid4())
    body = {"slot_override": [task_run_holding_db_and_gpu, other]}
    assert api.post("concurrency_limits/tag/db/reset", body).status_code == 200

    assert active_slots("db") == 2
    holders = {lease.holder["id"] for lease in Lease.objects.all()}
    assert holders == {task_run_holding_db_and_gpu, other}


@pytest.mark.parametrize("by", ["tag", "id"])
def test_deleting_one_tag_limit_keeps_the_slot_on_the_other_tag(api, task_run_holding_db_and_gpu, by):
    db = ConcurrencyLimit.objects.get(name="tag:db")
    path = "concurrency_limits/tag/db" if by == "tag" else f"concurrency_limits/{db.pk}"
    assert api.delete(path).status_code == 200

    assert not ConcurrencyLimit.objects.filter(pk=db.pk).exists()
    assert active_slots("gpu") == 1
    (lease,) = Lease.objects.all()
    assert str(db.pk) not in lease.limit_ids

    decrement = api.post("concurrency_limits/decrement", {"names": ["gpu"], "task_run_id": task_run_holding_db_and_gpu})
    assert decrement.status_code == 200
    assert active_slots("gpu") == 0
