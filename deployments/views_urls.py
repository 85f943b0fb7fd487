"""Dashboard pages of deployments and work pools (mounted at /).

A page answers with and without the trailing slash: the links the Prefect client prints
(`$PREFECT_UI_URL/deployments/deployment/<id>`) have none, and APPEND_SLASH is off.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("deployments/", views.deployments_list, name="deployments"),
    path("deployments/deployment/<uuid:pk>/", views.deployment_detail, name="deployment"),
    path("deployments/deployment/<uuid:pk>", views.deployment_detail),
    path("deployments/deployment/<uuid:pk>/run", views.deployment_run, name="deployment-run"),
    path("deployments/deployment/<uuid:pk>/pause", views.deployment_pause, name="deployment-pause"),
    path("deployments/deployment/<uuid:pk>/resume", views.deployment_resume, name="deployment-resume"),
    path("work-pools/", views.work_pools_list, name="work-pools"),
    path("work-pools/work-pool/<str:name>/", views.work_pool_detail, name="work-pool"),
    path("work-pools/work-pool/<str:name>", views.work_pool_detail),
    path("work-pools/work-pool/<str:name>/pause", views.work_pool_pause, name="work-pool-pause"),
    path("work-pools/work-pool/<str:name>/resume", views.work_pool_resume, name="work-pool-resume"),
]
