"""Retrieval metrics on hand-checked rankings."""

from __future__ import annotations

import math

import pytest

from retrieve.evaluate import (
    EvalQuestion,
    mrr_at,
    ndcg_at,
    percentile,
    query_text,
    recall_at,
    unique,
)


def test_recall_ndcg_and_mrr_on_a_known_ranking() -> None:
    ranked = ["a", "x", "b", "y", "z", "c"]
    relevant = {"a", "b", "c"}
    assert recall_at(ranked, relevant, 5) == pytest.approx(2 / 3)
    assert recall_at(ranked, relevant, 10) == 1.0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, relevant, 10) == pytest.approx((1 + 1 / 2 + 1 / math.log2(7)) / ideal)
    assert mrr_at(["x", "b"], relevant, 10) == 0.5
    assert mrr_at(["x", "y"], relevant, 10) == 0.0


def test_a_perfect_ranking_scores_one() -> None:
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)


def test_unique_keeps_the_first_rank_of_each_document() -> None:
    assert unique(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_percentiles_use_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95)) == (50.0, 95.0)


def test_query_text_brings_in_the_last_user_turn() -> None:
    question = EvalQuestion.model_validate(
        {
            "id": "q",
            "question": "Are those the only steps?",
            "turns": [
                {"role": "user", "text": "How do I reset my password?"},
                {"role": "agent", "text": "Use the link."},
            ],
        }
    )
    assert query_text(question) == "How do I reset my password? Are those the only steps?"
    assert query_text(question, user_turns=0) == "Are those the only steps?"


def test_relevant_ids_given_from_the_corpus_parent_become_corpus_relative() -> None:
    from retrieve.evaluate import EvalQuestion, relative_to_corpus

    question = EvalQuestion(
        id="1",
        question="q",
        relevant_doc_ids=["django-5.2.19/faq/admin.txt", "faq/other.txt"],
    )
    [moved] = relative_to_corpus([question], "django-5.2.19")
    assert moved.relevant_doc_ids == ["faq/admin.txt", "faq/other.txt"]
    assert question.relevant_doc_ids[0] == "django-5.2.19/faq/admin.txt"  # not changed in place
