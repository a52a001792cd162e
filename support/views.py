"""Dashboard pages of support (inbox, knowledge, classifier, analytics) and the public widget script."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.db.models import Case, OuterRef, Subquery, When
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from ecomops.models import Store
from ecomops.scoping import StoreViewMixin
from ecomops.services.jobs import JobLimitReached, job_create
from ecomops.uploads import UploadTooLarge, read_upload_capped
from support import selectors
from support.models import ConversationStatus, KnowledgeEntry, KnowledgeKind, Message, MessageRole, PolicyPage
from support.services import conversations as conv
from support.services import widget
from support.services.classifier import TRAIN_JOB_KIND
from support.services.knowledge import (
    ImportError_,
    KnowledgeInvalid,
    faq_entry_create,
    faq_import,
    knowledge_embed_request,
    knowledge_entry_delete,
    knowledge_entry_update,
    policy_page_delete,
    policy_page_save,
    products_sync,
)


def _conversation_or_404(store, public_id):
    conversation = selectors.conversation_get(store=store, public_id=public_id)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


class InboxView(StoreViewMixin, TemplateView):
    """The agent's queue: who, what they last wrote, how long ago, and where it stands. Conversations waiting for
    a human come first, then the rest; newest activity first within each."""

    template_name = "support/inbox.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        ctx["status"] = status
        ctx["statuses"] = ConversationStatus.choices
        last_customer_message = Message.objects.filter(
            store=self.store, conversation=OuterRef("pk"), role=MessageRole.CUSTOMER).order_by("-created_at", "-id")
        ctx["conversations"] = (
            selectors.conversations_for_store(store=self.store, status=status)
            .select_related("customer")
            .annotate(preview=Subquery(last_customer_message.values("text")[:1]),
                      last_customer_at=Subquery(last_customer_message.values("created_at")[:1]),
                      waiting_first=Case(When(status=ConversationStatus.WAITING, then=0), default=1))
            .order_by("waiting_first", "-updated_at")[:200]
        )
        return ctx


class ConversationDetailView(StoreViewMixin, TemplateView):
    template_name = "support/conversation.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        conversation = _conversation_or_404(self.store, kwargs["public_id"])
        ctx["conversation"] = conversation
        ctx["messages_list"] = selectors.messages_for(conversation, internal=True).select_related("author")
        return ctx


class _ConversationAction(StoreViewMixin, View):
    def post(self, request, store_slug, public_id):
        conversation = _conversation_or_404(self.store, public_id)
        try:
            self.act(conversation, request)
        except conv.ConversationActionInvalid as exc:
            messages.error(request, str(exc))
        return redirect("support:conversation", store_slug=store_slug, public_id=public_id)


class ConversationReplyView(_ConversationAction):
    def act(self, conversation, request):
        conv.agent_reply_send(conversation=conversation, text=request.POST.get("text", ""), author=request.user)


class ConversationNoteView(_ConversationAction):
    def act(self, conversation, request):
        conv.note_add(conversation=conversation, text=request.POST.get("text", ""), author=request.user)


class ConversationResolveView(_ConversationAction):
    def act(self, conversation, request):
        conv.conversation_resolve(conversation=conversation)
        messages.success(request, "Resolved; the customer was asked for a rating.")


class KnowledgeView(StoreViewMixin, TemplateView):
    template_name = "support/knowledge.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        kind = self.request.GET.get("kind", "")
        q = self.request.GET.get("q", "").strip()
        entries = selectors.knowledge_for_store(store=self.store, kind=kind if kind in KnowledgeKind.values else "")
        if q:
            entries = entries.filter(title__icontains=q) | entries.filter(text__icontains=q)
        ctx.update(kind=kind, q=q, kinds=KnowledgeKind.choices, entries=entries[:300], total=entries.count(),
                   pending=entries.filter(embedded_hash="").count(),
                   policies=PolicyPage.objects.for_store(self.store))
        return ctx

    def post(self, request, store_slug):
        try:
            faq_entry_create(store=self.store, title=request.POST.get("title", ""), text=request.POST.get("text", ""))
            messages.success(request, "FAQ entry added; it is being embedded.")
        except KnowledgeInvalid as exc:
            messages.error(request, str(exc))
        return redirect("support:knowledge", store_slug=store_slug)


class KnowledgeEditView(StoreViewMixin, TemplateView):
    template_name = "support/knowledge_edit.html"

    def get_entry(self):
        return get_object_or_404(KnowledgeEntry.objects.for_store(self.store), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["entry"] = self.get_entry()
        return ctx

    def post(self, request, store_slug, pk):
        entry = self.get_entry()
        if entry.kind != KnowledgeKind.FAQ:
            messages.error(request, "Policy sections and products are edited at their source.")
            return redirect("support:knowledge", store_slug=store_slug)
        try:
            knowledge_entry_update(entry=entry, title=request.POST.get("title", ""), text=request.POST.get("text", ""),
                                   is_active=request.POST.get("is_active") == "on")
            messages.success(request, "Saved; the entry is being re-embedded.")
        except KnowledgeInvalid as exc:
            messages.error(request, str(exc))
            return redirect("support:knowledge-edit", store_slug=store_slug, pk=pk)
        return redirect("support:knowledge", store_slug=store_slug)


class KnowledgeDeleteView(StoreViewMixin, View):
    def post(self, request, store_slug, pk):
        knowledge_entry_delete(entry=get_object_or_404(KnowledgeEntry.objects.for_store(self.store), pk=pk))
        messages.success(request, "Deleted.")
        return redirect("support:knowledge", store_slug=store_slug)


class KnowledgeImportView(StoreViewMixin, View):
    def post(self, request, store_slug):
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a CSV or JSON file.")
        else:
            try:
                raw = read_upload_capped(upload)  # at most settings.UPLOAD_MAX_BYTES, read in chunks
                result = faq_import(store=self.store, raw=raw, filename=upload.name)
                messages.success(request, f"Imported {result['rows']} rows: {result['created']} new, {result['updated']} updated.")
            except (ImportError_, UploadTooLarge) as exc:
                messages.error(request, str(exc))
        return redirect("support:knowledge", store_slug=store_slug)


class ProductsSyncView(StoreViewMixin, View):
    def post(self, request, store_slug):
        result = products_sync(store=self.store)
        messages.success(request, f"Products synced: {result['created']} new, {result['updated']} updated, {result['deleted']} removed.")
        return redirect("support:knowledge", store_slug=store_slug)


class KnowledgeEmbedView(StoreViewMixin, View):
    def post(self, request, store_slug):
        job = knowledge_embed_request(store=self.store, created_by=request.user)
        messages.info(request, "Embedding job queued." if job else "An embedding job is already queued.")
        return redirect("support:knowledge", store_slug=store_slug)


class PolicyEditView(StoreViewMixin, TemplateView):
    template_name = "support/policy_edit.html"

    def get_page(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(PolicyPage.objects.for_store(self.store), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["page"] = self.get_page()
        return ctx

    def post(self, request, store_slug, pk=None):
        try:
            page = policy_page_save(store=self.store, title=request.POST.get("title", ""), body=request.POST.get("body", ""),
                                    page=self.get_page())
        except KnowledgeInvalid as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.path)
        messages.success(request, f"Saved “{page.title}” ({page.chunks.count()} sections); embedding queued.")
        return redirect("support:knowledge", store_slug=store_slug)


class PolicyDeleteView(StoreViewMixin, View):
    def post(self, request, store_slug, pk):
        policy_page_delete(page=get_object_or_404(PolicyPage.objects.for_store(self.store), pk=pk))
        messages.success(request, "Policy page deleted.")
        return redirect("support:knowledge", store_slug=store_slug)


class ClassifierView(StoreViewMixin, TemplateView):
    template_name = "support/classifier.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        versions = list(selectors.classifier_versions(store=self.store)[:20])
        ctx["versions"] = versions
        active = next((v for v in versions if v.is_active), versions[0] if versions else None)
        ctx["active"] = active
        ctx["confusion_json"] = json.dumps(active.metrics.get("confusion") if active else None)
        from ecomops.models import Job

        ctx["jobs"] = Job.objects.for_store(self.store).filter(kind=TRAIN_JOB_KIND)[:5]
        return ctx


class ClassifierTrainView(StoreViewMixin, View):
    def post(self, request, store_slug):
        try:
            job = job_create(store=self.store, kind=TRAIN_JOB_KIND, params={}, created_by=request.user)
        except JobLimitReached as exc:
            messages.error(request, str(exc))
            return redirect("support:classifier", store_slug=store_slug)
        messages.success(request, "Training started; progress is shown live below.")
        return HttpResponseRedirect(reverse("support:classifier", kwargs={"store_slug": store_slug}) + f"#job-{job.pk}")


class AnalyticsView(StoreViewMixin, TemplateView):
    template_name = "support/analytics.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["a"] = selectors.support_analytics(store=self.store)
        ctx["analytics_json"] = json.dumps(ctx["a"], default=str)
        return ctx


class TryView(StoreViewMixin, TemplateView):
    """The embed snippet, the widget itself, and the sites allowed to embed it (managers and owners edit)."""

    template_name = "support/try.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("origins_text", "\n".join(widget.widget_origins_get(store=self.store)))
        return ctx

    def post(self, request, store_slug):
        text = request.POST.get("origins", "")
        try:
            origins = widget.widget_origins_set(store=self.store, text=text)
        except widget.OriginsInvalid as exc:
            return self.render_to_response(
                self.get_context_data(origins_text=text, origins_error=str(exc)), status=400
            )
        messages.success(request, f"Saved: {len(origins)} site(s) may embed the widget.")
        return redirect("support:try", store_slug=store_slug)


# --- public ---------------------------------------------------------------------------------------------

class WidgetScriptView(View):
    """The embeddable script: a small config line plus static/support/widget.js. No login; unknown store: 404."""

    def get(self, request, store_slug):
        store = Store.objects.filter(slug=store_slug).first()
        if store is None:
            raise Http404("No such store.")
        path = finders.find("support/widget.js")
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
        config = json.dumps({"store": store.slug, "name": store.name, "origin": request.build_absolute_uri("/").rstrip("/")})
        response = HttpResponse(f"window.ECOMOPS_SUPPORT = window.ECOMOPS_SUPPORT || {config};\n{source}",
                                content_type="application/javascript; charset=utf-8")
        response["Cache-Control"] = "public, max-age=300"
        return response


class WidgetTryView(TemplateView):
    template_name = "support/widget_try.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        store = Store.objects.filter(slug=kwargs["store_slug"]).first()
        if store is None:
            raise Http404("No such store.")
        ctx["shop"] = store
        return ctx
