"""The Django-free core: highlighting, fusion, synonyms, the exact vector index, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from search.ml.fusion import reciprocal_rank_fusion
from search.ml.highlight import highlight_html
from search.ml.metrics import capped_recall_at_k, ndcg_at_k, recall_at_k
from search.ml.text import document_text, synonym_expansions, synonym_rule_parse
from search.ml.vectors import VectorIndex

pytestmark = pytest.mark.quick


def test_highlight_marks_whole_words_and_escapes_everything_else():
    html = highlight_html('Auralis <b>Earbuds</b> & "case"', ["earbuds"])
    assert html == 'Auralis &lt;b&gt;<mark>Earbuds</mark>&lt;/b&gt; &amp; &quot;case&quot;'


def test_highlight_does_not_mark_kettlebell_for_kettle_but_marks_plurals():
    assert "<mark>" not in highlight_html("Iron Kettlebell", ["kettle"])
    assert highlight_html("Black earbuds", ["earbud"]) == "Black <mark>earbuds</mark>"


def test_highlight_of_a_script_title_cannot_inject_markup():
    html = highlight_html("<script>alert(1)</script> mug", ["script", "mug"])
    assert "<script>" not in html and "&lt;" in html and "<mark>mug</mark>" in html


def test_rrf_prefers_items_ranked_well_by_several_lists():
    fused = [item for item, _ in reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "d"], ["b"]])]
    assert fused[0] == "b"
    assert set(fused) == {"a", "b", "c", "d"}


def test_synonym_rules_two_way_and_one_way():
    both = synonym_rule_parse("Tee, T-Shirt")
    assert both.sources == both.targets == ("tee", "t-shirt")
    one = synonym_rule_parse("earphones => earbuds")
    assert synonym_expansions("black earphones", [one]) == ["earbuds"]
    assert synonym_expansions("black earbuds", [one]) == []
    with pytest.raises(ValueError):
        synonym_rule_parse("tee")
    with pytest.raises(ValueError):
        synonym_rule_parse("a => b => c")


def test_content_hash_changes_with_the_text_only():
    a = document_text(title="Kettle", brand="Copperleaf", category="Home", attributes={"colour": "sage"}, description="")
    b = document_text(title="Kettle", brand="Copperleaf", category="Home", attributes={"colour": "sage"}, description="")
    c = document_text(title="Kettle", brand="Copperleaf", category="Home", attributes={"colour": "cream"}, description="")
    assert a.content_hash == b.content_hash != c.content_hash


def test_vector_index_filters_before_taking_the_top():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(50, 8)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = VectorIndex(ids=np.arange(100, 150), matrix=matrix)
    query = matrix[7]
    assert index.search(query, top=1)[0][0] == 107
    # Only two ids allowed: both come back although neither is in the unfiltered top 10.
    unfiltered_top = {pid for pid, _ in index.search(query, top=10)}
    allowed = [pid for pid in range(100, 150) if pid not in unfiltered_top][:2]
    assert {pid for pid, _ in index.search(query, top=10, allowed=np.array(allowed))} == set(allowed)


def test_metrics():
    assert ndcg_at_k([True, False], 1) == 1.0
    assert ndcg_at_k([False, True], 1) == pytest.approx(1 / np.log2(3))
    assert recall_at_k([True] * 10, 100) == 0.1
    assert capped_recall_at_k([True] * 10, 100) == 1.0
