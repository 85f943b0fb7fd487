"""Block documents: saving them (secrets encrypted, nested blocks as references), and
reading them back whole (nested documents inlined, secrets masked unless asked for)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.db import IntegrityError, transaction

from orchestrator.api.errors import BadRequest, Conflict, NotFound
from runs.orchestration.states import iso

from . import crypto
from .models import BlockDocument, BlockDocumentReference, BlockSchema, BlockType

MASK = "********"
MAX_DEPTH = 50


# -- secrets ---------------------------------------------------------------------------


def _walk(data: Any, path: list[str], visit) -> None:
    """Call visit(container, key) for every value `path` (dotted, with * wildcards) names."""
    if not path or not isinstance(data, dict):
        return
    head, rest = path[0], path[1:]
    keys = list(data.keys()) if head == "*" else ([head] if head in data else [])
    for key in keys:
        if rest:
            _walk(data[key], rest, visit)
        else:
            visit(data, key)


def mask(data: dict[str, Any], secret_fields: list[str]) -> dict[str, Any]:
    masked = copy.deepcopy(data)

    def hide(container, key):
        if container[key] is not None:
            container[key] = MASK

    for field in secret_fields:
        _walk(masked, field.split("."), hide)
    return masked


def keep_unchanged_secrets(new: dict[str, Any], current: dict[str, Any], secret_fields: list[str]) -> dict[str, Any]:
    """A form that sends back the mask for a secret means "leave the secret as it is"."""
    result = copy.deepcopy(new)
    for field in secret_fields:
        path = field.split(".")

        def restore(container, key, _path=path):
            if container.get(key) != MASK:
                return
            value = _lookup(current, _path[:-1], key)
            if value is not None:
                container[key] = value

        _walk(result, path, restore)
    return result


def _lookup(data: dict, parents: list[str], key: str):
    node: Any = data
    for part in parents:
        if not isinstance(node, dict):
            return None
        node = node.get(part) if part != "*" else None
    return node.get(key) if isinstance(node, dict) else None


# -- references ------------------------------------------------------------------------


def split_references(data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, uuid.UUID]]]:
    plain, references = {}, []
    for key, value in (data or {}).items():
        if isinstance(value, dict) and "$ref" in value:
            ref = value["$ref"]
            target = ref.get("block_document_id") if isinstance(ref, dict) else None
            if target is None:
                raise BadRequest(f"Received a block reference without a block_document_id in key {key}")
            try:
                references.append((key, uuid.UUID(str(target))))
            except ValueError:
                raise BadRequest(f"The block reference in key {key} is not a UUID") from None
        else:
            plain[key] = value
    return plain, references


def _set_references(document: BlockDocument, references: list[tuple[str, uuid.UUID]]) -> None:
    targets = {t.id: t for t in BlockDocument.objects.filter(id__in=[r for _, r in references])}
    missing = [str(r) for _, r in references if r not in targets]
    if missing:
        raise NotFound(f"Referenced block documents not found: {', '.join(missing)}")
    BlockDocumentReference.objects.filter(parent_block_document=document).exclude(
        name__in=[name for name, _ in references]
    ).delete()
    for name, target in references:
        if target == document.id:
            raise BadRequest("A block document cannot reference itself")
        BlockDocumentReference.objects.update_or_create(
            parent_block_document=document, name=name, defaults={"reference_block_document": targets[target]}
        )


# -- writes ------------------------------------------------------------------------------


def create(data: dict[str, Any]) -> BlockDocument:
    block_type = BlockType.objects.filter(pk=data["block_type_id"]).first()
    if block_type is None:
        raise NotFound("Block type not found")
    schema = BlockSchema.objects.filter(pk=data["block_schema_id"]).first()
    if schema is None:
        raise NotFound("Block schema not found")
    if schema.block_type_id != block_type.id:
        raise BadRequest("The block schema belongs to another block type")
    name = data.get("name")
    if data.get("is_anonymous") and not name:
        name = f"anonymous-{uuid.uuid4()}"
    if not name:
        raise BadRequest("A block document needs a name unless it is anonymous")
    plain, references = split_references(data.get("data") or {})
    try:
        with transaction.atomic():
            document = BlockDocument.objects.create(
                name=name,
                data=crypto.encrypt(plain),
                block_schema=schema,
                block_type=block_type,
                block_type_name=block_type.name,
                is_anonymous=bool(data.get("is_anonymous")),
            )
            _set_references(document, references)
    except IntegrityError:
        raise Conflict("Block already exists") from None
    return document


def update(document: BlockDocument, data: dict[str, Any] | None, schema_id=None, merge: bool = True) -> None:
    with transaction.atomic():
        document = BlockDocument.objects.select_for_update().select_related("block_schema").get(pk=document.pk)
        if schema_id is not None and schema_id != document.block_schema_id:
            schema = BlockSchema.objects.filter(pk=schema_id).first()
            if schema is None:
                raise NotFound("Block schema not found")
            if schema.block_type_id != document.block_type_id:
                raise BadRequest("A block document can only move to a schema of its own block type.")
            document.block_schema = schema
        if data is not None:
            current = crypto.decrypt(document.data)
            data = keep_unchanged_secrets(data, current, document.block_schema.secret_fields)
            plain, references = split_references(data)
            if merge:
                new_references = dict(references)
                merged_references = {
                    r.name: r.reference_block_document_id
                    for r in BlockDocumentReference.objects.filter(parent_block_document=document)
                }
                merged_references.update(new_references)
                merged_plain = {**current, **plain}
                for key in plain:  # a plain value replaces a nested block of the same name
                    merged_references.pop(key, None)
                for key in new_references:
                    merged_plain.pop(key, None)
                plain, references = merged_plain, list(merged_references.items())
            document.data = crypto.encrypt(plain)
            _set_references(document, references)
        document.save()


# -- reads -------------------------------------------------------------------------------


def type_json(block_type: BlockType) -> dict[str, Any]:
    return {
        "id": str(block_type.id),
        "created": iso(block_type.created),
        "updated": iso(block_type.updated),
        "name": block_type.name,
        "slug": block_type.slug,
        "logo_url": block_type.logo_url,
        "documentation_url": block_type.documentation_url,
        "description": block_type.description,
        "code_example": block_type.code_example,
        "is_protected": block_type.is_protected,
    }


def schema_json(schema: BlockSchema) -> dict[str, Any]:
    return {
        "id": str(schema.id),
        "created": iso(schema.created),
        "updated": iso(schema.updated),
        "checksum": schema.checksum,
        "fields": schema.fields,
        "block_type_id": str(schema.block_type_id),
        "block_type": type_json(schema.block_type),
        "capabilities": schema.capabilities,
        "version": schema.version,
    }


def _full_data(document: BlockDocument, include_secrets: bool, depth: int = 0) -> tuple[dict, dict]:
    """The document's data with nested documents inlined, and its references description."""
    if depth > MAX_DEPTH:
        raise BadRequest("Block document references are nested too deeply")
    data = crypto.decrypt(document.data)
    if not include_secrets:
        data = mask(data, document.block_schema.secret_fields)
    references: dict[str, Any] = {}
    for reference in BlockDocumentReference.objects.filter(parent_block_document=document).select_related(
        "reference_block_document__block_schema__block_type", "reference_block_document__block_type"
    ):
        child = reference.reference_block_document
        child_data, child_references = _full_data(child, include_secrets, depth + 1)
        data[reference.name] = child_data
        references[reference.name] = {
            "block_document": {
                "id": str(child.id),
                "name": child.name,
                "block_type": type_json(child.block_type),
                "is_anonymous": child.is_anonymous,
                "block_document_references": child_references,
            }
        }
    return data, references


def document_json(document: BlockDocument, include_secrets: bool = False) -> dict[str, Any]:
    data, references = _full_data(document, include_secrets)
    return {
        "id": str(document.id),
        "created": iso(document.created),
        "updated": iso(document.updated),
        "name": document.name,
        "data": data,
        "block_schema_id": str(document.block_schema_id),
        "block_schema": schema_json(document.block_schema),
        "block_type_id": str(document.block_type_id),
        "block_type_name": document.block_type_name or document.block_type.name,
        "block_type": type_json(document.block_type),
        "block_document_references": references,
        "is_anonymous": document.is_anonymous,
    }


def documents() -> Any:
    return BlockDocument.objects.select_related("block_schema__block_type", "block_type")
