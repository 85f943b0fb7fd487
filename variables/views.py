"""Dashboard pages of variables: the list with search, and the create, edit and delete forms.

Lists are bounded and follow the unique index on the name: they page by name with a keyset
cursor (orchestrator.paging) rather than by offset.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from orchestrator.paging import BY_NAME, paginate, search_text

from .forms import VariableForm
from .models import Variable

PAGE_SIZE = 100
PREVIEW_LENGTH = 120  # characters of a value shown in the list


def preview(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"


def variable_list(request: HttpRequest) -> HttpResponse:
    query = search_text(request)
    variables = Variable.objects.all()
    if query:
        variables = variables.filter(name__icontains=query)
    page = paginate(request, variables, BY_NAME, PAGE_SIZE)
    return render(
        request,
        "variables/list.html",
        {
            "section": "variables",
            "query": query,
            "variables": [(variable, preview(variable.value)) for variable in page.rows],
            "page": page,
        },
    )


def _save(form: VariableForm, variable: Variable) -> bool:
    """Write the form's values; False (with the error on the form) if the name was taken
    meanwhile."""
    variable.name = form.cleaned_data["name"]
    variable.value = form.cleaned_data["value"]
    variable.tags = form.cleaned_data["tags"]
    try:
        with transaction.atomic():
            variable.save()
    except IntegrityError:
        form.add_error("name", f"A variable named {variable.name!r} already exists.")
        return False
    return True


@require_http_methods(["GET", "POST"])
def variable_create(request: HttpRequest) -> HttpResponse:
    form = VariableForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and _save(form, Variable()):
        messages.success(request, f"Created the variable {form.cleaned_data['name']}.")
        return redirect("variables")
    return render(request, "variables/form.html", {"section": "variables", "form": form, "variable": None})


@require_http_methods(["GET", "POST"])
def variable_edit(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    variable = get_object_or_404(Variable, pk=pk)
    form = VariableForm(request.POST if request.method == "POST" else None, instance=variable)
    if request.method == "POST" and form.is_valid() and _save(form, variable):
        messages.success(request, f"Saved the variable {variable.name}.")
        return redirect("variables")
    return render(request, "variables/form.html", {"section": "variables", "form": form, "variable": variable})


@require_http_methods(["GET", "POST"])
def variable_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    variable = get_object_or_404(Variable, pk=pk)
    if request.method == "POST":
        variable.delete()
        messages.success(request, f"Deleted the variable {variable.name}.")
        return redirect("variables")
    return render(request, "variables/delete.html", {"section": "variables", "variable": variable})
