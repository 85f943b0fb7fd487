"""Dashboard pages of blocks (mounted at /), at the addresses of Prefect's own UI.

A page answers with and without the trailing slash, like the deployment pages (APPEND_SLASH
is off).
"""

from django.urls import path

from . import views

urlpatterns = [
    path("blocks/", views.blocks_list, name="blocks"),
    path("blocks", views.blocks_list),
    path("blocks/catalog/", views.catalog, name="block-catalog"),
    path("blocks/catalog", views.catalog),
    path("blocks/catalog/<str:slug>/", views.block_type_detail, name="block-type"),
    path("blocks/catalog/<str:slug>", views.block_type_detail),
    path("blocks/catalog/<str:slug>/create/", views.block_create, name="block-create"),
    path("blocks/catalog/<str:slug>/create", views.block_create),
    path("blocks/block/<uuid:pk>/", views.block_detail, name="block"),
    path("blocks/block/<uuid:pk>", views.block_detail),
    path("blocks/block/<uuid:pk>/edit/", views.block_edit, name="block-edit"),
    path("blocks/block/<uuid:pk>/edit", views.block_edit),
    path("blocks/block/<uuid:pk>/delete/", views.block_delete, name="block-delete"),
]
