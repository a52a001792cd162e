"""REST API of the network app, mounted under /api/v1/stores/<store_slug>/network/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from network.api import views

router = SimpleRouter()
router.register("cells", views.CellViewSet, basename="network-cell")
router.register("sites", views.SiteViewSet, basename="network-site")
router.register("links", views.LinkViewSet, basename="network-link")
router.register("incidents", views.IncidentViewSet, basename="network-incident")
router.register("scenarios", views.InjectionViewSet, basename="network-scenario")

urlpatterns = [
    path("simulation/", views.SimulationView.as_view(), name="network-simulation"),
    path("advisor/", views.AdvisorView.as_view(), name="network-advisor"),
    *router.urls,
]
