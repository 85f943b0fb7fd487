"""Encrypting block document data at rest.

Documents are encrypted with Fernet (AES with an HMAC) under a key that is not stored in
the database: it comes from ORCHESTRATOR_BLOCK_ENCRYPTION_KEY, or is created once in
$PREFECT_HOME/orchestrator-block-key (readable by its owner only). A database dump alone
therefore reveals no secret. Several servers sharing one database must share the key.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class DecryptionError(Exception):
    pass


@functools.cache
def _fernet() -> Fernet:
    key = settings.ORCHESTRATOR.get("BLOCK_ENCRYPTION_KEY")
    if not key:
        path = settings.PREFECT_HOME / "orchestrator-block-key"
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            settings.PREFECT_HOME.mkdir(parents=True, exist_ok=True)
            new_key = Fernet.generate_key().decode()
            try:
                with open(path, "x") as fh:
                    fh.write(new_key)
                path.chmod(0o600)
                key = new_key
            except FileExistsError:
                key = path.read_text().strip()
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise DecryptionError("block data cannot be decrypted with this server's key") from exc
