"""Error pages: JSON under /api, HTML elsewhere."""

from django.http import JsonResponse
from django.shortcuts import render


def page_not_found(request, exception=None):
    if request.path.startswith("/api"):
        return JsonResponse({"detail": "Not Found"}, status=404)
    return render(request, "errors/404.html", status=404)


def server_error(request):
    if request.path.startswith("/api"):
        return JsonResponse({"exception_message": "Internal Server Error"}, status=500)
    return render(request, "errors/500.html", status=500)
