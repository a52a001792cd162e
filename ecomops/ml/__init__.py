"""Model runtimes shared by the apps (no Django imports): the language model (``llm``), the embedder."""
