"""One place that turns every API error into the shape Prefect's server answers with.

- a missing object: 404 `{"detail": "Flow run not found"}`
- a conflict: 409 `{"detail": ...}`
- a body that does not validate: 422 `{"exception_message": "Invalid request received.",
  "exception_detail": [{"loc": ["body", "state", "type"], "msg": ..., "type": ...}],
  "request_body": ..., "detail": "body.state.type: ..."}` (Prefect's keys, plus a one-line
  `detail` that names the field for people reading it in a terminal)
- a database that is momentarily busy: 503, which the Prefect client retries
- anything else: 500 `{"exception_message": "Internal Server Error"}`, logged with its traceback
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import DatabaseError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("orchestrator.api")


class NotFound(exceptions.APIException):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Not found"


class Forbidden(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Forbidden"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request"


class Unprocessable(exceptions.APIException):
    """A semantically invalid request (Prefect answers these 422 with a plain detail)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Invalid request"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "Gone"


class Locked(exceptions.APIException):
    status_code = status.HTTP_423_LOCKED
    default_detail = "Locked"

    def __init__(self, detail: str | None = None, retry_after: float | None = None):
        super().__init__(detail)
        self.retry_after = retry_after


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large"


class BodyInvalid(exceptions.APIException):
    """A request body that does not match the contract, with the location of every problem."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, errors: list[dict[str, Any]], body: Any = None):
        self.errors = errors
        self.body = body
        super().__init__(summary(errors))


def summary(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{loc}: {error.get('msg')}" if loc else str(error.get("msg")))
    if len(errors) > 5:
        parts.append(f"and {len(errors) - 5} more")
    return "; ".join(parts)


def invalid_body_payload(errors: list[dict[str, Any]], body: Any) -> dict[str, Any]:
    return {
        "exception_message": "Invalid request received.",
        "exception_detail": errors,
        "request_body": body,
        "detail": summary(errors),
    }


def drf_errors_to_locs(detail: Any, loc: tuple = ("body",)) -> list[dict[str, Any]]:
    """Flatten DRF's nested error structure into Prefect/pydantic style `loc` entries."""
    errors: list[dict[str, Any]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = loc if key == "non_field_errors" else (*loc, key)
            errors.extend(drf_errors_to_locs(value, sub))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            for item in detail:
                errors.append({"loc": list(loc), "msg": str(item), "type": getattr(item, "code", "invalid")})
        else:
            for index, item in enumerate(detail):
                if item:
                    errors.extend(drf_errors_to_locs(item, (*loc, index)))
    elif detail:
        errors.append({"loc": list(loc), "msg": str(detail), "type": getattr(detail, "code", "invalid")})
    return errors


def retryable(exc: BaseException) -> bool:
    """Database errors that go away when the client tries again (Prefect's client retries 503)."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    return any(
        marker in text
        for marker in ("database is locked", "deadlock", "could not serialize", "connection", "timeout", "terminating")
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    request = context.get("request")
    if isinstance(exc, BodyInvalid):
        return Response(invalid_body_payload(exc.errors, exc.body), status=422)
    if isinstance(exc, exceptions.ValidationError):
        body = getattr(request, "data", None) if request is not None else None
        errors = drf_errors_to_locs(exc.detail)
        return Response(invalid_body_payload(errors, _safe_body(body)), status=422)
    if isinstance(exc, exceptions.ParseError):
        errors = [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]
        return Response(invalid_body_payload(errors, None), status=422)
    if isinstance(exc, RequestDataTooBig):
        exc = TooLarge()
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return Response({"detail": "Not found"}, status=404)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return Response({"detail": "Method Not Allowed"}, status=405)
    if isinstance(exc, exceptions.APIException):
        response = Response({"detail": exc.detail}, status=exc.status_code)
        if isinstance(exc, Locked) and exc.retry_after is not None:
            response["Retry-After"] = f"{exc.retry_after:.2f}"
        return response
    if isinstance(exc, DatabaseError) and retryable(exc):
        logger.warning("retryable database error: %s", exc)
        response = Response({"exception_message": "Service Unavailable"}, status=503)
        response["Retry-After"] = "1"
        return response
    logger.error("unhandled error in %s", getattr(request, "path", "?"), exc_info=exc)
    return Response({"exception_message": "Internal Server Error"}, status=500)


def _safe_body(body: Any) -> Any:
    try:
        import json

        json.dumps(body, default=str)
        return body
    except Exception:  # noqa: BLE001 - an undecodable body is simply not echoed
        return None


def json_not_found(request, exception=None):
    return JsonResponse({"detail": "Not Found"}, status=404)


def json_server_error(request):
    return JsonResponse({"exception_message": "Internal Server Error"}, status=500)
