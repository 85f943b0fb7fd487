"""API routes of blocks (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import slashed

from .api import views

urlpatterns = [
    path("block_types/", views.BlockTypesView.as_view()),
    path("block_types", views.BlockTypesView.as_view()),
    *slashed("block_types/filter", views.BlockTypeFilterView.as_view()),
    *slashed("block_types/install_system_block_types", views.InstallSystemBlockTypesView.as_view()),
    path("block_types/<uuid:pk>", views.BlockTypeView.as_view()),
    path("block_types/slug/<text:slug>", views.BlockTypeBySlugView.as_view()),
    *slashed("block_types/slug/<text:slug>/block_documents", views.DocumentsOfTypeView.as_view()),
    path("block_types/slug/<text:slug>/block_documents/name/<text:name>", views.DocumentOfTypeByNameView.as_view()),
    path("block_schemas/", views.BlockSchemasView.as_view()),
    path("block_schemas", views.BlockSchemasView.as_view()),
    *slashed("block_schemas/filter", views.BlockSchemaFilterView.as_view()),
    path("block_schemas/<uuid:pk>", views.BlockSchemaView.as_view()),
    path("block_schemas/checksum/<text:checksum>", views.BlockSchemaByChecksumView.as_view()),
    *slashed("block_capabilities", views.CapabilitiesView.as_view()),
    path("block_documents/", views.BlockDocumentsView.as_view()),
    path("block_documents", views.BlockDocumentsView.as_view()),
    *slashed("block_documents/filter", views.BlockDocumentFilterView.as_view()),
    *slashed("block_documents/count", views.BlockDocumentCountView.as_view()),
    path("block_documents/<uuid:pk>", views.BlockDocumentView.as_view()),
]
