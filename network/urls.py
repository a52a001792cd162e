"""Dashboard pages of the network app, mounted under /stores/<store_slug>/network/."""

from django.urls import path

from network import views

app_name = "network"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("control/", views.ControlView.as_view(), name="control"),
    path("map/", views.MapView.as_view(), name="map"),
    path("incidents/", views.IncidentsView.as_view(), name="incidents"),
    path("incidents/<int:pk>/ack/", views.IncidentAckView.as_view(), name="incident-ack"),
    path("scenarios/", views.ScenariosView.as_view(), name="scenarios"),
    path("scenarios/<int:pk>/stop/", views.ScenarioStopView.as_view(), name="scenario-stop"),
    path("topology/", views.TopologyView.as_view(), name="topology"),
    path("topology/<str:kind>/<int:pk>/", views.TopologyEditView.as_view(), name="topology-edit"),
    path("advisor/", views.AdvisorView.as_view(), name="advisor"),
]
