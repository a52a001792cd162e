"""Writes and actions of the support app (STYLE.md §1). Split by subject: knowledge, classifier, answering,
conversations."""
