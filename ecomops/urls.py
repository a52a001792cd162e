"""Root URL configuration.

Pages:      /stores/<store_slug>/...          (ecomops.views + each app's urls.py)
REST API:   /api/v1/...                        (ecomops.api.urls + each app's api/urls.py)
Schema:     /api/schema/, docs at /api/docs/
Websocket:  /ws/stores/<store_slug>/live/      (ecomops.routing)
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ecomops import views

store_pages = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("catalog/", views.CatalogListView.as_view(), name="catalog"),
    path("catalog/<str:sku>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("jobs/", views.JobListView.as_view(), name="jobs"),
    path("jobs/demo/", views.DemoJobStartView.as_view(), name="job-demo"),
    path("jobs/<uuid:job_id>/", views.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel/", views.JobCancelView.as_view(), name="job-cancel"),
    path("copywriter/", include("copywriter.urls")),
    path("support/", include("support.urls")),
    path("recommendations/", include("recommender.urls")),
    path("network/", include("network.urls")),
    path("inventory/", include("inventory.urls")),
    path("search/", include("search.urls")),
    path("categories/", include("categories.urls")),
]

api_v1 = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("", include("ecomops.api.urls")),
    path("stores/<slug:store_slug>/copywriter/", include("copywriter.api.urls")),
    path("stores/<slug:store_slug>/support/", include("support.api.urls")),
    path("stores/<slug:store_slug>/", include("recommender.api.urls")),
    path("stores/<slug:store_slug>/network/", include("network.api.urls")),
    path("stores/<slug:store_slug>/inventory/", include("inventory.api.urls")),
    path("stores/<slug:store_slug>/", include("search.api.urls")),  # public storefront search
    path("stores/<slug:store_slug>/categories/", include("categories.api.urls")),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("stores/<slug:store_slug>/", include(store_pages)),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("support/widget/", include("support.public_urls")),  # public chat widget + try-it page
    path("admin/", admin.site.urls),
]
