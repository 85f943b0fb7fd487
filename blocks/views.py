"""Dashboard pages of blocks: saved documents, the catalog of block types, and the forms that
create, edit and delete documents.

The forms are generated from the block type's schema (blocks.forms) and save through
blocks.documents, as the API does. Secrets never reach the page: documents are shown with
their secrets masked, and the edit form sends the mask back to mean "unchanged".

Every query has a LIMIT and follows an index of blocks.models; the lists page by name with a
keyset cursor on (name, id) (orchestrator.paging), and never count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import APIException

from orchestrator.api.errors import Conflict
from orchestrator.paging import BY_NAME, paginate, search_text

from . import crypto, documents
from .forms import MISSING, REFERENCE_CHOICES, BlockDocumentForm, Kind, describe, masked
from .models import BlockDocument, BlockDocumentReference, BlockSchema, BlockType

PAGE_SIZE = 50
TYPE_DOCUMENTS_SHOWN = 20
REFERENCES_SHOWN = 100

DOCUMENT_ROW_FIELDS = (
    "id",
    "name",
    "updated",
    "block_type_id",
    "block_type__name",
    "block_type__slug",
    "block_schema_id",
    "block_schema__capabilities",
)
TYPE_ROW_FIELDS = ("id", "name", "slug", "description", "documentation_url", "is_protected")


def _latest_schema(block_type: BlockType) -> BlockSchema | None:
    """The schema new documents of a type use: its newest (index block_schema_type)."""
    return BlockSchema.objects.filter(block_type=block_type).order_by("-created", "-id").first()


def safe_url(url: str | None) -> str | None:
    """A link a page may show: only http(s), never `javascript:` from a registered type."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def code_example(block_type: BlockType, name: str | None = None) -> str:
    """A type's code example without its Markdown fences, with the document's name filled in."""
    lines = [line for line in (block_type.code_example or "").strip().splitlines() if not line.startswith("```")]
    text = "\n".join(lines).strip()
    return text.replace("BLOCK_NAME", name) if name else text


# -- saved documents ----------------------------------------------------------------------


def blocks_list(request: HttpRequest) -> HttpResponse:
    query = search_text(request)
    slug = request.GET.get("type", "").strip()[:255]
    rows = (
        BlockDocument.objects.filter(is_anonymous=False)
        .select_related("block_type", "block_schema")
        .only(*DOCUMENT_ROW_FIELDS)
    )
    block_type = None
    if slug:
        block_type = BlockType.objects.filter(slug=slug).only("id", "name", "slug").first()
        rows = rows.filter(block_type=block_type) if block_type else rows.none()
    if query:
        rows = rows.filter(name__icontains=query)
    page = paginate(request, rows, BY_NAME, PAGE_SIZE)
    return render(
        request,
        "blocks/list.html",
        {
            "section": "blocks",
            "page": page,
            "query": query,
            "slug": slug,
            "block_type": block_type,
            "filtered": bool(query or slug),
        },
    )


# -- the catalog --------------------------------------------------------------------------


def _with_capabilities(types: QuerySet) -> QuerySet:
    """Block types with the capabilities of their latest schema (one subquery per row,
    on the index block_schema_type)."""
    latest = BlockSchema.objects.filter(block_type=OuterRef("pk")).order_by("-created", "-id")
    return types.annotate(capabilities=Subquery(latest.values("capabilities")[:1], output_field=JSONField()))


def catalog(request: HttpRequest) -> HttpResponse:
    query = search_text(request)
    types = BlockType.objects.only(*TYPE_ROW_FIELDS)
    if query:
        types = types.filter(name__icontains=query)
    page = paginate(request, _with_capabilities(types), BY_NAME, PAGE_SIZE)
    return render(request, "blocks/catalog.html", {"section": "blocks", "page": page, "query": query})


def block_type_detail(request: HttpRequest, slug: str) -> HttpResponse:
    block_type = get_object_or_404(BlockType, slug=slug)
    schema = _latest_schema(block_type)
    saved = list(
        BlockDocument.objects.filter(block_type=block_type, is_anonymous=False)
        .only("id", "name", "updated")
        .order_by("name", "id")[: TYPE_DOCUMENTS_SHOWN + 1]
    )
    return render(
        request,
        "blocks/block_type.html",
        {
            "section": "blocks",
            "block_type": block_type,
            "schema": schema,
            "fields": describe(schema.fields) if schema else [],
            "code": code_example(block_type),
            "documentation_url": safe_url(block_type.documentation_url),
            "saved": saved[:TYPE_DOCUMENTS_SHOWN],
            "saved_truncated": len(saved) > TYPE_DOCUMENTS_SHOWN,
        },
    )


# -- one document ---------------------------------------------------------------------------


@dataclass
class DataRow:
    """One value of a document as its page shows it."""

    name: str
    label: str
    kind: str
    value: Any = None
    is_set: bool = True
    secret: bool = False
    reference: BlockDocument | None = None
    help: str = ""

    @property
    def structured(self) -> bool:
        """Shown as indented JSON (objects, and lists other than lists of text)."""
        if self.kind == Kind.LINES and isinstance(self.value, list):
            return not all(isinstance(item, str) for item in self.value)
        return isinstance(self.value, (dict, list))


def _document_or_404(pk: uuid.UUID) -> BlockDocument:
    return get_object_or_404(documents.documents(), pk=pk)


def _references(document: BlockDocument) -> dict[str, BlockDocument]:
    """The document's nested blocks by field name."""
    found = (
        BlockDocumentReference.objects.filter(parent_block_document=document)
        .select_related("reference_block_document__block_type")
        .only(
            "name",
            "reference_block_document__id",
            "reference_block_document__name",
            "reference_block_document__is_anonymous",
            "reference_block_document__block_type__name",
            "reference_block_document__block_type__slug",
        )
        .order_by("name")[:REFERENCES_SHOWN]
    )
    return {reference.name: reference.reference_block_document for reference in found}


def _referenced_by(document: BlockDocument) -> list[BlockDocumentReference]:
    return list(
        BlockDocumentReference.objects.filter(reference_block_document=document)
        .select_related("parent_block_document__block_type")
        .only(
            "name",
            "parent_block_document__id",
            "parent_block_document__name",
            "parent_block_document__is_anonymous",
            "parent_block_document__block_type__name",
        )
        .order_by("parent_block_document__name", "name")[:REFERENCES_SHOWN]
    )


def _rows(document: BlockDocument, data: dict[str, Any], references: dict[str, BlockDocument]) -> list[DataRow]:
    """The document's values in the schema's order, then any the schema does not name."""
    shown = masked(data, document.block_schema.fields)
    rows = []
    named = set()
    for described in describe(document.block_schema.fields):
        named.add(described.name)
        row = DataRow(described.name, described.label, str(described.kind), secret=described.secret)
        row.help = described.help
        if described.name in references:
            row.kind, row.reference = str(Kind.BLOCK), references[described.name]
        elif described.name in shown and shown[described.name] is not None:
            row.value = shown[described.name]
        else:
            row.is_set = False
            if described.name not in shown and described.default is not MISSING and not described.secret:
                row.value = described.default  # shown as "default: ..."
        rows.append(row)
    for name in sorted(set(shown) - named):
        rows.append(DataRow(name, name, str(Kind.JSON), value=shown[name], is_set=shown[name] is not None))
    for name in sorted(set(references) - named):
        rows.append(DataRow(name, name, str(Kind.BLOCK), reference=references[name]))
    return rows


def block_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    document = _document_or_404(pk)
    references = _references(document)
    try:
        rows = _rows(document, crypto.decrypt(document.data), references)
        unreadable = False
    except crypto.DecryptionError:
        rows, unreadable = [], True
    return render(
        request,
        "blocks/block.html",
        {
            "section": "blocks",
            "document": document,
            "schema": document.block_schema,
            "block_type": document.block_type,
            "rows": rows,
            "unreadable": unreadable,
            "referenced_by": _referenced_by(document),
            "code": code_example(document.block_type, document.name),
        },
    )


# -- forms ----------------------------------------------------------------------------------


def _block_choices(
    fields: dict[str, Any], exclude: BlockDocument | None, current: dict[str, BlockDocument]
) -> dict[str, list[tuple[str, str]]]:
    """The saved documents each nested-block field may pick, by name (one query a field)."""
    choices: dict[str, list[tuple[str, str]]] = {}
    for described in describe(fields):
        if described.kind != Kind.BLOCK:
            continue
        several = len(described.block_type_slugs) > 1
        found = BlockDocument.objects.filter(block_type__slug__in=described.block_type_slugs, is_anonymous=False)
        if exclude is not None:
            found = found.exclude(pk=exclude.pk)
        rows = found.order_by("name", "id").values_list("id", "name", "block_type__slug")[:REFERENCE_CHOICES]
        options = [(str(pk), f"{name} ({slug})" if several else name) for pk, name, slug in rows]
        chosen = current.get(described.name)
        if chosen is not None and all(key != str(chosen.pk) for key, _ in options):
            label = "(unnamed, saved with its parent)" if chosen.is_anonymous else chosen.name
            options.insert(0, (str(chosen.pk), label))
        choices[described.name] = options
    return choices


def _form_page(
    request: HttpRequest,
    form: BlockDocumentForm,
    block_type: BlockType,
    schema: BlockSchema,
    document: BlockDocument | None,
    status: int = 200,
) -> HttpResponse:
    if form.is_bound and form.errors:
        form.forget_typed_secrets()
    return render(
        request,
        "blocks/form.html",
        {
            "section": "blocks",
            "form": form,
            "block_type": block_type,
            "schema": schema,
            "document": document,
            "has_secrets": any(d.kind == Kind.SECRET for d in form.described),
        },
        status=status,
    )


def _refusal(exc: APIException) -> str:
    detail = exc.detail
    if isinstance(detail, str):
        return detail
    return "The block could not be saved."


@require_http_methods(["GET", "POST"])
def block_create(request: HttpRequest, slug: str) -> HttpResponse:
    block_type = get_object_or_404(BlockType, slug=slug)
    schema = _latest_schema(block_type)
    if schema is None:
        raise Http404("This block type has no schema yet")
    choices = _block_choices(schema.fields, None, {})
    form = BlockDocumentForm(schema.fields, request.POST if request.method == "POST" else None, block_choices=choices)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            document = documents.create(
                {
                    "name": name,
                    "data": form.cleaned_data["document_data"],
                    "block_type_id": block_type.pk,
                    "block_schema_id": schema.pk,
                }
            )
        except Conflict:
            form.add_error("name", f"A {block_type.name} block named “{name}” already exists.")
        except APIException as exc:  # a nested block that was deleted meanwhile, ...
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, f"Created the {block_type.name} block {name}.")
            return redirect("block", document.pk)
    return _form_page(request, form, block_type, schema, None, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
def block_edit(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    document = _document_or_404(pk)
    try:
        current = crypto.decrypt(document.data)
    except crypto.DecryptionError:
        messages.error(request, "This block's data cannot be decrypted with this server's key, so it cannot be edited.")
        return redirect("block", document.pk)
    references = _references(document)
    form = BlockDocumentForm(
        document.block_schema.fields,
        request.POST if request.method == "POST" else None,
        document=document,
        current=current,
        references={name: str(ref.pk) for name, ref in references.items()},
        block_choices=_block_choices(document.block_schema.fields, document, references),
    )
    if request.method == "POST" and form.is_valid():
        try:
            documents.update(document, form.cleaned_data["document_data"], merge=False)
        except APIException as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, f"Saved the block {document.name}.")
            return redirect("block", document.pk)
    return _form_page(
        request, form, document.block_type, document.block_schema, document, status=400 if form.is_bound else 200
    )


@require_http_methods(["GET", "POST"])
def block_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    document = _document_or_404(pk)
    if request.method == "POST":
        with transaction.atomic():
            BlockDocument.objects.filter(pk=document.pk).delete()
        messages.success(request, f"Deleted the {document.block_type.name} block {document.name}.")
        return redirect("blocks")
    return render(
        request,
        "blocks/delete.html",
        {"section": "blocks", "document": document, "referenced_by": _referenced_by(document)},
    )
