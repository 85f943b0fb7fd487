"""Time-ordered UUIDs (version 7), so new rows land at the end of their primary-key index.

Lists sort newest first by id, so ids made one after the other in a process must sort in that
order even within one millisecond: the 12 bits after the millisecond timestamp hold the
fraction of the millisecond (RFC 9562, section 6.2, method 3), and an id that would not sort
after the previous one takes the next value instead.

The 62 random bits keep ids of different processes apart; they are not secrets. They come
from a generator seeded once per process from the system's entropy rather than from
os.urandom per id: that system call lets go of the interpreter lock, and a state change makes
its ids while holding SQLite's turn to write, which then waited for the lock to come back.
"""

import os
import random
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0  # the previous id's timestamp and fraction: (milliseconds << 12) | fraction
_random = random.Random()  # seeded from os.urandom
# A forked child would otherwise draw the same bits as its parent.
os.register_at_fork(after_in_child=_random.seed)


def uuid7() -> uuid.UUID:
    global _last
    millis, rest = divmod(time.time_ns(), 1_000_000)
    stamp = (millis << 12) | (rest * 4096 // 1_000_000)
    with _lock:
        if stamp <= _last:
            stamp = _last + 1
        _last = stamp
    value = ((stamp >> 12) & 0xFFFF_FFFF_FFFF) << 80  # 48-bit timestamp
    value |= 0x7 << 76  # version 7
    value |= (stamp & 0x0FFF) << 64  # 12 bits: the fraction of the millisecond
    value |= 0x2 << 62  # RFC 4122 variant
    value |= _random.getrandbits(62)
    return uuid.UUID(int=value)
