"""Request bodies are JSON whatever the Content-Type says, as Prefect's server treats them."""

import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .errors import BodyInvalid, TooLarge

# Only a \u escape can put a NUL or a lone surrogate into a decoded string: look for one
# before walking the whole body.
SUSPICIOUS_ESCAPE = re.compile(r"\\u(0000|[dD][89a-fA-F])")


def _not_json(name: str):
    raise ValueError(f"{name} is not valid JSON")


def unstorable(value, loc: tuple) -> dict | None:
    """The first string no database can store: one with a NUL (PostgreSQL refuses them) or a
    lone surrogate (not UTF-8 at all), as a located error."""
    if isinstance(value, str):
        if "\x00" in value:
            return {"loc": list(loc), "msg": "Null characters are not allowed.", "type": "null_characters_not_allowed"}
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {"loc": list(loc), "msg": "Input should be a valid Unicode string", "type": "string_unicode"}
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = unstorable(key, (*loc, key)) or unstorable(item, (*loc, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, (*loc, index))
            if found:
                return found
    return None


def repaired(value):
    """`value` with every NUL and lone surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            return "".join("\ufffd" if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in value)
        return value
    if isinstance(value, dict):
        return {repaired(key): repaired(item) for key, item in value.items()}
    if isinstance(value, list):
        return [repaired(item) for item in value]
    return value


class PrefectJSONParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit else stream.read()
        if limit and len(raw) > limit:
            raise TooLarge(f"Request body is larger than {limit} bytes")
        if not raw.strip():
            return None
        try:
            text = raw.decode("utf-8-sig")
            # NaN and Infinity are not JSON, and neither database can store them.
            data = json.loads(text, parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON decode error: {exc}") from exc
        if SUSPICIOUS_ESCAPE.search(text):
            view = (parser_context or {}).get("view")
            if getattr(view, "repairs_unstorable_text", False):
                return repaired(data)
            problem = unstorable(data, ("body",))
            if problem:
                raise BodyInvalid([problem])
        return data
