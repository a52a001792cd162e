"""The recommender's numerical core: data splits, metrics and models. Plain numpy/scipy/torch, no Django."""
