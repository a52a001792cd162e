"""REST API of the copywriter app, mounted under /api/v1/stores/<store_slug>/copywriter/."""

from django.urls import path

from . import views

urlpatterns = [
    path("generations", views.GenerationCreateApi.as_view(), name="copywriter-generation-create"),
    path("drafts", views.DraftListApi.as_view(), name="copywriter-draft-list"),
    path("drafts/bulk-approve", views.DraftBulkApproveApi.as_view(), name="copywriter-draft-bulk-approve"),
    path("drafts/<int:pk>", views.DraftDetailApi.as_view(), name="copywriter-draft-detail"),
    path("drafts/<int:pk>/approve", views.DraftApproveApi.as_view(), name="copywriter-draft-approve"),
    path("drafts/<int:pk>/reject", views.DraftRejectApi.as_view(), name="copywriter-draft-reject"),
    path("drafts/<int:pk>/publish", views.DraftPublishApi.as_view(), name="copywriter-draft-publish"),
    path("models", views.ModelVersionListApi.as_view(), name="copywriter-model-list"),
    path("models/rollback", views.ModelRollbackApi.as_view(), name="copywriter-model-rollback"),
    path("models/<int:pk>/activate", views.ModelVersionActivateApi.as_view(), name="copywriter-model-activate"),
    path("training", views.TrainingCreateApi.as_view(), name="copywriter-training-create"),
    path("evaluations", views.EvaluationReportListApi.as_view(), name="copywriter-evaluation-list"),
]
