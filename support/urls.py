"""Dashboard pages of the support app, mounted under /stores/<store_slug>/support/."""

from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.InboxView.as_view(), name="index"),
    path("conversations/<uuid:public_id>/", views.ConversationDetailView.as_view(), name="conversation"),
    path("conversations/<uuid:public_id>/reply/", views.ConversationReplyView.as_view(), name="conversation-reply"),
    path("conversations/<uuid:public_id>/note/", views.ConversationNoteView.as_view(), name="conversation-note"),
    path("conversations/<uuid:public_id>/resolve/", views.ConversationResolveView.as_view(), name="conversation-resolve"),
    path("knowledge/", views.KnowledgeView.as_view(), name="knowledge"),
    path("knowledge/import/", views.KnowledgeImportView.as_view(), name="knowledge-import"),
    path("knowledge/sync-products/", views.ProductsSyncView.as_view(), name="knowledge-sync-products"),
    path("knowledge/embed/", views.KnowledgeEmbedView.as_view(), name="knowledge-embed"),
    path("knowledge/<int:pk>/", views.KnowledgeEditView.as_view(), name="knowledge-edit"),
    path("knowledge/<int:pk>/delete/", views.KnowledgeDeleteView.as_view(), name="knowledge-delete"),
    path("policies/new/", views.PolicyEditView.as_view(), name="policy-new"),
    path("policies/<int:pk>/", views.PolicyEditView.as_view(), name="policy-edit"),
    path("policies/<int:pk>/delete/", views.PolicyDeleteView.as_view(), name="policy-delete"),
    path("classifier/", views.ClassifierView.as_view(), name="classifier"),
    path("classifier/train/", views.ClassifierTrainView.as_view(), name="classifier-train"),
    path("analytics/", views.AnalyticsView.as_view(), name="analytics"),
    path("try/", views.TryView.as_view(), name="try"),
]
