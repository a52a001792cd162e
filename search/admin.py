from django.contrib import admin

from search.models import SearchEvent, SearchIndexState, SearchSynonym


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ("terms", "store", "created_at")
    list_filter = ("store",)
    search_fields = ("terms",)


@admin.register(SearchEvent)
class SearchEventAdmin(admin.ModelAdmin):
    list_display = ("query", "results", "source", "store", "created_at")
    list_filter = ("store", "source")
    search_fields = ("query",)
    readonly_fields = ("store", "query", "results", "source", "created_at")


@admin.register(SearchIndexState)
class SearchIndexStateAdmin(admin.ModelAdmin):
    list_display = ("store", "version", "documents", "embedded", "indexed_at")
    readonly_fields = ("store", "version", "documents", "embedded", "indexed_at")
