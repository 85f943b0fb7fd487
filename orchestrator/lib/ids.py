"""Time-ordered UUIDs (version 7), so new rows land at the end of their primary-key index.

Lists sort newest first by id, so ids made one after the other in a process must sort in that
order even within one millisecond: the 12 bits after the millisecond timestamp hold the
fraction of the millisecond (RFC 9562, section 6.2, method 3), and an id that would not sort
after the previous one takes the next value instead.
"""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0  # the previous id's timestamp and fraction: (milliseconds << 12) | fraction


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
    value |= int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF  # 62 random bits
    return uuid.UUID(int=value)
