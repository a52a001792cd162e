"""Admin for support. Knowledge edits go through the same service as the dashboard (so they bump the version
stamp and queue re-embedding)."""

from __future__ import annotations

from django.contrib import admin

from support.models import ClassifierVersion, Conversation, KnowledgeEntry, Message, PolicyPage
from support.services.knowledge import (
    knowledge_embed_request,
    knowledge_version_bump,
    policy_page_delete,
    policy_page_save,
)


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "store", "is_active", "updated_at"]
    list_filter = ["kind", "is_active", "store"]
    search_fields = ["title", "text"]
    readonly_fields = ["embedded_hash", "source_key", "policy_page", "product"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        knowledge_version_bump(store=obj.store)

    def delete_model(self, request, obj):
        store = obj.store
        super().delete_model(request, obj)
        knowledge_version_bump(store=store, embed=False)

    def delete_queryset(self, request, queryset):
        stores = {e.store for e in queryset}
        super().delete_queryset(request, queryset)
        for store in stores:
            knowledge_version_bump(store=store, embed=False)

    @admin.action(description="Embed pending entries of these stores")
    def embed(self, request, queryset):
        for store in {e.store for e in queryset}:
            knowledge_embed_request(store=store, created_by=request.user)

    actions = ["embed"]


@admin.register(PolicyPage)
class PolicyPageAdmin(admin.ModelAdmin):
    list_display = ["title", "store", "updated_at"]
    list_filter = ["store"]

    def save_model(self, request, obj, form, change):
        policy_page_save(store=obj.store, title=obj.title, body=obj.body, slug=obj.slug, page=obj if obj.pk else None)

    def delete_model(self, request, obj):
        policy_page_delete(page=obj)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["role", "text", "intent", "confidence", "answer_mode", "created_at"]
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["public_id", "store", "status", "last_intent", "csat", "updated_at"]
    list_filter = ["status", "store"]
    inlines = [MessageInline]


@admin.register(ClassifierVersion)
class ClassifierVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "store", "is_active", "created_at"]
    list_filter = ["store", "is_active"]
    readonly_fields = ["metrics", "training_source", "job"]
