"""Hiding the secret part of a connection URL before it is shown (the settings page)."""

from __future__ import annotations

import re

MASK = "********"
# Query parameters that carry a secret in database and Redis URLs (libpq's `password`, ...).
SECRET_PARAMETER = re.compile(r"([?&;](?:password|passwd|pwd|sslpassword|token|secret)=)[^&;#]*", re.IGNORECASE)


def mask_url_password(url: str) -> str:
    """`postgresql://user:pw@host/db` as `postgresql://user:********@host/db`; a password
    passed as a query parameter is masked too. The rest of the URL is kept as written."""
    scheme, separator, rest = url.partition("://")
    if separator:
        end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        authority, remainder = rest[:end], rest[end:]
        if "@" in authority:
            credentials, _, host = authority.rpartition("@")
            user, has_password, _ = credentials.partition(":")
            authority = f"{user}:{MASK}@{host}" if has_password else authority
        url = f"{scheme}://{authority}{remainder}"
    return SECRET_PARAMETER.sub(lambda match: f"{match.group(1)}{MASK}", url)
