"""JSON for the Prefect client; DRF's browsable pages for people exploring /api in a browser."""

from rest_framework import renderers
from rest_framework.negotiation import DefaultContentNegotiation


class PrefectJSONRenderer(renderers.JSONRenderer):
    # Prefect's models accept any JSON; compact output keeps large lists cheap.
    compact = True
    ensure_ascii = False


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML pages; they only answer requests whose Accept header asks for HTML."""


class JSONFirstNegotiation(DefaultContentNegotiation):
    """Answer JSON unless a browser explicitly asks for HTML.

    The Prefect client sends `Accept: */*`; only a request whose Accept header names
    text/html first gets the browsable page, so what the client receives never changes.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "")
        if accept.startswith("text/html"):
            for renderer in renderers:
                if renderer.media_type == "text/html":
                    return renderer, renderer.media_type
        json_renderer = renderers[0]
        return json_renderer, json_renderer.media_type
