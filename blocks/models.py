"""Blocks: typed, reusable configuration (credentials, storage, notification targets).

A block type (e.g. `slack-webhook`) has schemas (versions of its fields, identified by a
checksum of the fields), and documents (saved values of one schema). Document data is
encrypted at rest (see `blocks.crypto`); nested blocks are stored as references between
documents, not copied into the parent.
"""

from __future__ import annotations

from django.db import models

from orchestrator.lib.json_field import JSONField
from runs.models import PrefectModel, empty_dict, empty_list


class BlockType(PrefectModel):
    name = models.CharField(max_length=255, unique=True)
    slug = models.CharField(max_length=255, unique=True)
    logo_url = models.TextField(null=True)
    documentation_url = models.TextField(null=True)
    description = models.TextField(null=True)
    code_example = models.TextField(null=True)
    is_protected = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.slug


class BlockSchema(PrefectModel):
    checksum = models.CharField(max_length=255)
    fields = JSONField(default=empty_dict)
    block_type = models.ForeignKey(BlockType, on_delete=models.CASCADE, related_name="schemas")
    capabilities = JSONField(default=empty_list)
    version = models.CharField(max_length=255, default="non-versioned")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["checksum", "version"], name="block_schema_checksum_version")]
        indexes = [models.Index(fields=["block_type", "-created"], name="block_schema_type")]

    def __str__(self) -> str:
        return f"{self.block_type_id} {self.checksum}"

    @property
    def secret_fields(self) -> list[str]:
        return list((self.fields or {}).get("secret_fields") or [])


class BlockDocument(PrefectModel):
    name = models.CharField(max_length=255)
    # The document's own values (not its nested blocks), encrypted: see blocks.crypto.
    data = models.TextField(default="")
    block_schema = models.ForeignKey(BlockSchema, on_delete=models.CASCADE, related_name="documents")
    block_type = models.ForeignKey(BlockType, on_delete=models.CASCADE, related_name="documents")
    block_type_name = models.CharField(max_length=255, null=True)
    is_anonymous = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["block_type", "name"], name="block_document_type_name")]
        indexes = [models.Index(fields=["name"], name="block_document_name")]

    def __str__(self) -> str:
        return self.name


class BlockDocumentReference(PrefectModel):
    """A field of a parent document that holds another document."""

    name = models.CharField(max_length=255)
    parent_block_document = models.ForeignKey(BlockDocument, on_delete=models.CASCADE, related_name="references")
    reference_block_document = models.ForeignKey(BlockDocument, on_delete=models.CASCADE, related_name="referenced_by")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parent_block_document", "name"], name="block_document_reference_name")
        ]

    def __str__(self) -> str:
        return self.name
