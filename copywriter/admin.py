from django.contrib import admin

from copywriter.models import CopywriterModel, DescriptionDraft, DescriptionRevision, EvaluationReport


@admin.register(DescriptionDraft)
class DescriptionDraftAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "product", "status", "source", "model_label", "created_at")
    list_filter = ("status", "store")
    raw_id_fields = ("product", "job", "model_version", "created_by", "reviewed_by")


@admin.register(DescriptionRevision)
class DescriptionRevisionAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "product", "source", "model_label", "author", "created_at")
    raw_id_fields = ("product", "draft", "author")


@admin.register(CopywriterModel)
class CopywriterModelAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "version", "method", "is_active", "created_at")


@admin.register(EvaluationReport)
class EvaluationReportAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "dataset", "n_examples", "created_at")
