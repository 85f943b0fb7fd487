"""orchestrator.lib.ids.uuid7: time-ordered ids that sort in the order they were made."""

from __future__ import annotations

import threading
import time
import uuid

from orchestrator.lib.ids import uuid7


def test_ids_made_one_after_the_other_sort_in_that_order_even_within_a_millisecond():
    ids = [uuid7() for _ in range(20_000)]  # many per millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_from_several_threads_are_all_distinct():
    made: list[uuid.UUID] = []

    def make():
        made.extend(uuid7() for _ in range(5_000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 20_000


def test_an_id_is_version_7_and_starts_with_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after + 1


def test_a_forked_child_draws_other_random_bits_than_its_parent():
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its id's random bits, then leave at once
        os.write(write, (uuid7().int & (2**62 - 1)).to_bytes(8, "big"))
        os._exit(0)
    os.close(write)
    parent_bits = uuid7().int & (2**62 - 1)
    child_bits = int.from_bytes(os.read(read, 8), "big")
    os.waitpid(pid, 0)
    os.close(read)
    assert child_bits != parent_bits
