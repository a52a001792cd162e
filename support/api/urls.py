"""REST API of the support app, mounted under /api/v1/stores/<store_slug>/support/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AnswerView, ClassifierVersionViewSet, ConversationViewSet, KnowledgeViewSet

router = SimpleRouter()
router.register("conversations", ConversationViewSet, basename="support-conversation")
router.register("knowledge", KnowledgeViewSet, basename="support-knowledge")
router.register("classifier/versions", ClassifierVersionViewSet, basename="support-classifier-version")

urlpatterns = [
    path("answer", AnswerView.as_view(), name="support-answer"),
    *router.urls,
]
