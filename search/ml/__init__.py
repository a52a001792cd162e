"""The numerical core of search: document text, synonym expansion, rank fusion, exact vector search, highlighting
and ranking metrics. Plain Python + numpy; no Django, testable alone (STYLE.md §7)."""
