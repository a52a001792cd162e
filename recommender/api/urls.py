"""REST API of the recommender app, mounted under /api/v1/stores/<store_slug>/ (so it serves /recommendations/...
and /analytics/...). Each part keeps its own list; `urlpatterns` joins them."""

from django.urls import path

from recommender.api import analytics, recommendations

analytics_urlpatterns = [
    path("analytics/funnel", analytics.FunnelAPIView.as_view(), name="analytics-funnel"),
    path("analytics/retention", analytics.RetentionAPIView.as_view(), name="analytics-retention"),
    path("analytics/lifecycle", analytics.LifecycleAPIView.as_view(), name="analytics-lifecycle"),
    path("analytics/rfm", analytics.RfmAPIView.as_view(), name="analytics-rfm"),
    path("analytics/rfm.csv", analytics.RfmCsvAPIView.as_view(), name="analytics-rfm-csv"),
    path("analytics/top-products", analytics.TopProductsAPIView.as_view(), name="analytics-top-products"),
    path("analytics/trends", analytics.TrendsAPIView.as_view(), name="analytics-trends"),
    path("analytics/paths", analytics.PathsAPIView.as_view(), name="analytics-paths"),
    path("analytics/live", analytics.LiveAPIView.as_view(), name="analytics-live"),
]

recommendation_urlpatterns = [
    path("recommendations/customers/<str:external_id>", recommendations.CustomerRecommendationsAPIView.as_view(), name="recommendations-customer"),
    path("recommendations/products/<str:sku>/similar", recommendations.SimilarProductsAPIView.as_view(), name="recommendations-similar"),
    path("recommendations/products/<str:sku>/bought-together", recommendations.BoughtTogetherAPIView.as_view(), name="recommendations-bought-together"),
    path("recommendations/trending", recommendations.TrendingAPIView.as_view(), name="recommendations-trending"),
    path("recommendations/models", recommendations.ModelListAPIView.as_view(), name="recommendations-models"),
    path("recommendations/models/<int:pk>/activate", recommendations.ModelActivateAPIView.as_view(), name="recommendations-model-activate"),
]

urlpatterns: list = [*analytics_urlpatterns, *recommendation_urlpatterns]
