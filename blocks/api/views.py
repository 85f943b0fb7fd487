"""/api/block_types, /api/block_schemas, /api/block_documents, /api/block_capabilities"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import BodyInvalid, Conflict, Forbidden, NotFound
from orchestrator.api.fields import JSONObject, NullableText, NullableUUID, Obj, StrictSerializer, Text, validate
from orchestrator.api.filters import BOOL, STR, Model, custom, icontains, in_, parse_filters, same, tags_all
from orchestrator.api.views import body_of, limit_of, offset_of, sort_of

from .. import documents
from ..models import BlockDocument, BlockSchema, BlockType
from ..registry import checksum, install_system_blocks

NAME = r"^[^/%&><]+$"

BLOCK_TYPE_FILTER = Model(
    {
        "name": Model({"like_": icontains("name")}, operator=False),
        "slug": Model({"any_": in_("slug", STR)}, operator=False),
    },
    operator=False,
)
BLOCK_SCHEMA_FILTER = Model(
    {
        "block_type_id": Model({"any_": in_("block_type_id")}, operator=False),
        "block_capabilities": Model({"all_": tags_all("capabilities")}, operator=False),
        "id": Model({"any_": in_("id")}, operator=False),
        "version": Model({"any_": in_("version", STR)}, operator=False),
    }
)
BLOCK_DOCUMENT_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "is_anonymous": Model({"eq_": custom(lambda v: Q(is_anonymous=v), BOOL)}, operator=False),
        "block_type_id": Model({"any_": in_("block_type_id")}, operator=False),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}, operator=False),
    }
)
DOCUMENT_SORTS = {
    "NAME_DESC": ["-name"],
    "NAME_ASC": ["name"],
    "BLOCK_TYPE_AND_NAME_ASC": ["block_type_name", "name"],
}


def _include_secrets(request) -> bool:
    return str(request.query_params.get("include_secrets", "false")).lower() in ("true", "1", "yes")


# -- block types ---------------------------------------------------------------------


class BlockTypeCreateSerializer(StrictSerializer):
    name = serializers.RegexField(NAME, max_length=255)
    slug = Text(max_length=255)
    logo_url = NullableText()
    documentation_url = NullableText()
    description = NullableText()
    code_example = NullableText()


class BlockTypeUpdateSerializer(StrictSerializer):
    logo_url = NullableText()
    documentation_url = NullableText()
    description = NullableText()
    code_example = NullableText()


class BlockTypesView(APIView):
    def post(self, request):
        data = validate(BlockTypeCreateSerializer, body_of(request))
        if data["name"].lower().startswith("prefect"):
            raise Forbidden("Block type names beginning with 'Prefect' are reserved.")
        try:
            with transaction.atomic():
                block_type = BlockType.objects.create(**data)
        except IntegrityError:
            raise Conflict(f'Block type with name "{data["name"]}" already exists') from None
        return Response(documents.type_json(block_type), status=status.HTTP_201_CREATED)


def _block_type(**lookup) -> BlockType:
    found = BlockType.objects.filter(**lookup).first()
    if found is None:
        raise NotFound("Block type not found")
    return found


class BlockTypeView(APIView):
    def get(self, request, pk=None):
        return Response(documents.type_json(_block_type(pk=pk)))

    def patch(self, request, pk=None):
        body = body_of(request)
        data = validate(BlockTypeUpdateSerializer, body)
        block_type = _block_type(pk=pk)
        for key in data:
            if key in body:
                setattr(block_type, key, data[key])
        block_type.save()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete(self, request, pk=None):
        block_type = _block_type(pk=pk)
        if block_type.is_protected:
            raise Forbidden("protected block types cannot be deleted.")
        block_type.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockTypeBySlugView(APIView):
    def get(self, request, slug=None):
        return Response(documents.type_json(_block_type(slug=slug)))


class BlockTypeFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        qs = BlockType.objects.filter(
            parse_filters(
                body,
                {
                    "block_types": (BLOCK_TYPE_FILTER, same),
                    "block_schemas": (
                        BLOCK_SCHEMA_FILTER,
                        lambda q: Q(id__in=BlockSchema.objects.filter(q).values("block_type_id")),
                    ),
                },
            )
        ).order_by("name")
        offset, limit = offset_of(body), limit_of(body)
        return Response([documents.type_json(t) for t in qs[offset : offset + limit]])


class InstallSystemBlockTypesView(APIView):
    def post(self, request):
        install_system_blocks()
        return Response(None)


class DocumentsOfTypeView(APIView):
    def get(self, request, slug=None):
        block_type = _block_type(slug=slug)
        include = _include_secrets(request)
        qs = documents.documents().filter(block_type=block_type, is_anonymous=False).order_by("name")[:1000]
        return Response([documents.document_json(d, include) for d in qs])


class DocumentOfTypeByNameView(APIView):
    def get(self, request, slug=None, name=None):
        document = documents.documents().filter(block_type__slug=slug, name=name).first()
        if document is None:
            raise NotFound("Block document not found")
        return Response(documents.document_json(document, _include_secrets(request)))


# -- block schemas -------------------------------------------------------------------


class BlockSchemaCreateSerializer(StrictSerializer):
    fields = Obj()
    block_type_id = serializers.UUIDField()
    capabilities = serializers.ListField(child=Text(max_length=255), required=False, default=list)
    version = Text(max_length=255, required=False, default="non-versioned")


class BlockSchemasView(APIView):
    def post(self, request):
        data = validate(BlockSchemaCreateSerializer, body_of(request))
        block_type = BlockType.objects.filter(pk=data["block_type_id"]).first()
        if block_type is None:
            raise NotFound(f"Block type {data['block_type_id']} not found.")
        digest = checksum(data["fields"])
        existing = (
            BlockSchema.objects.select_related("block_type").filter(checksum=digest, version=data["version"]).first()
        )
        if existing is not None:
            return Response(documents.schema_json(existing), status=status.HTTP_200_OK)
        try:
            with transaction.atomic():
                schema = BlockSchema.objects.create(
                    checksum=digest,
                    fields=data["fields"],
                    block_type=block_type,
                    capabilities=data["capabilities"],
                    version=data["version"],
                )
        except IntegrityError:
            schema = BlockSchema.objects.get(checksum=digest, version=data["version"])
            return Response(documents.schema_json(schema), status=status.HTTP_200_OK)
        return Response(documents.schema_json(schema), status=status.HTTP_201_CREATED)


def _schema(**lookup) -> BlockSchema:
    found = BlockSchema.objects.select_related("block_type").filter(**lookup).order_by("-created").first()
    if found is None:
        raise NotFound("Block schema not found")
    return found


class BlockSchemaView(APIView):
    def get(self, request, pk=None):
        return Response(documents.schema_json(_schema(pk=pk)))

    def delete(self, request, pk=None):
        schema = _schema(pk=pk)
        if schema.block_type.is_protected:
            raise Forbidden("Block schemas for protected block types cannot be deleted.")
        schema.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockSchemaByChecksumView(APIView):
    def get(self, request, checksum=None):
        lookup = {"checksum": checksum}
        if request.query_params.get("version"):
            lookup["version"] = request.query_params["version"]
        return Response(documents.schema_json(_schema(**lookup)))


class BlockSchemaFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        qs = (
            BlockSchema.objects.select_related("block_type")
            .filter(parse_filters(body, {"block_schemas": (BLOCK_SCHEMA_FILTER, same)}))
            .order_by("-created")
        )
        offset, limit = offset_of(body), limit_of(body)
        return Response([documents.schema_json(s) for s in qs[offset : offset + limit]])


class CapabilitiesView(APIView):
    def get(self, request):
        found: set[str] = set()
        for capabilities in BlockSchema.objects.values_list("capabilities", flat=True):
            found.update(capabilities or [])
        return Response(sorted(found))


# -- block documents -----------------------------------------------------------------


class BlockDocumentCreateSerializer(StrictSerializer):
    name = serializers.RegexField(NAME, max_length=255, required=False, allow_null=True, default=None)
    data = Obj()
    block_schema_id = serializers.UUIDField()
    block_type_id = serializers.UUIDField()
    is_anonymous = serializers.BooleanField(required=False, default=False)


class BlockDocumentUpdateSerializer(StrictSerializer):
    block_schema_id = NullableUUID()
    data = JSONObject(required=False)
    merge_existing_data = serializers.BooleanField(required=False, default=True)


def _document_filters() -> dict:
    return {
        "block_documents": (BLOCK_DOCUMENT_FILTER, same),
        "block_types": (BLOCK_TYPE_FILTER, lambda q: Q(block_type_id__in=BlockType.objects.filter(q).values("id"))),
        "block_schemas": (
            BLOCK_SCHEMA_FILTER,
            lambda q: Q(block_schema_id__in=BlockSchema.objects.filter(q).values("id")),
        ),
    }


def _filtered_documents(body: dict):
    qs = documents.documents().filter(parse_filters(body, _document_filters()))
    # Anonymous documents (nested blocks saved without a name) are hidden unless asked for.
    document_filter = body.get("block_documents")
    if not isinstance(document_filter, dict) or "is_anonymous" not in document_filter:
        qs = qs.filter(is_anonymous=False)
    return qs


class BlockDocumentsView(APIView):
    def post(self, request):
        data = validate(BlockDocumentCreateSerializer, body_of(request))
        document = documents.create(dict(data))
        return Response(
            documents.document_json(documents.documents().get(pk=document.pk)), status=status.HTTP_201_CREATED
        )


class BlockDocumentFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        include = body.get("include_secrets") or False
        if not isinstance(include, bool):
            raise BodyInvalid(
                [{"loc": ["body", "include_secrets"], "msg": "Input should be a valid boolean", "type": "bool_type"}],
                body,
            )
        qs = _filtered_documents(body).order_by(*sort_of(body, DOCUMENT_SORTS, "NAME_ASC"))
        offset, limit = offset_of(body), limit_of(body)
        return Response([documents.document_json(d, include) for d in qs[offset : offset + limit]])


class BlockDocumentCountView(APIView):
    def post(self, request):
        return Response(_filtered_documents(body_of(request)).count())


def _document(pk) -> BlockDocument:
    found = documents.documents().filter(pk=pk).first()
    if found is None:
        raise NotFound("Block document not found")
    return found


class BlockDocumentView(APIView):
    def get(self, request, pk=None):
        return Response(documents.document_json(_document(pk), _include_secrets(request)))

    def patch(self, request, pk=None):
        body = body_of(request)
        data = validate(BlockDocumentUpdateSerializer, body)
        document = _document(pk)
        documents.update(
            document,
            data.get("data") if "data" in body else None,
            schema_id=data.get("block_schema_id"),
            merge=data["merge_existing_data"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete(self, request, pk=None):
        document = _document(pk)
        with transaction.atomic():
            document.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
