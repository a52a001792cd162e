"""Numerical core of the copywriter: LM loading, prompting, generation, fact checking, training.

Nothing in this package imports Django; callers pass directories and plain data in.
"""
