from django.urls import path

from benchmarks.views import AuthOnlyView
from kestra_iam.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/auth-only/<str:tenant_id>/<str:integration_id>", AuthOnlyView.as_view()),
    *project_urlpatterns,
]
