"""The numerical core of support: embeddings, the vector+BM25 index, the intent head, grounding, generation.

Plain Python/torch/numpy/scikit-learn; nothing here imports the ORM (STYLE.md §7)."""
