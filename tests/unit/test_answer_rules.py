"""The answer layer's pure rules: sentences, citations, the trust layer's checks, condensing
follow-ups and the perimeter's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from answer.citations import cite
from answer.condense import bounded_history, condense, is_underspecified
from answer.perimeter import Perimeter
from answer.sentences import answer_sentences, looks_like_code, split_sentences
from answer.validation import check_draft
from index.sparse import Bm25Encoder
from schemas.answer import AnswerStatus, ConversationTurn, Draft
from schemas.index import ChunkPayload, SearchHit

PASSAGES = [
    "Refunds reach the original card within five business days. Store credit is instant.",
    "After five failed sign-in attempts an account is locked for one hour.",
]


def hit(i: int, text: str, version: int = 1) -> SearchHit:
    payload = ChunkPayload(
        chunk_id=f"c{i}",
        doc_id=f"kb/doc{i}.md",
        version=version,
        sha256=f"sha{i}",
        source="kb",
        path=f"doc{i}.md",
        heading_path=["Guide", f"Part {i}"],
        ordinal=0,
        text=text,
        embedding_model="m",
    )
    return SearchHit(score=1.0 / (i + 1), payload=payload)


HITS = [hit(i, t) for i, t in enumerate(PASSAGES)]


@pytest.fixture(scope="module")
def bm25() -> Bm25Encoder:
    return Bm25Encoder()


def test_sentences_split_on_stops_paragraphs_and_list_items_but_not_abbreviations() -> None:
    text = "Open Settings, e.g. from the menu. Then tap Reset.\n\n- Wi-Fi\n- Bluetooth 4.2 is kept"
    assert split_sentences(text) == [
        "Open Settings, e.g. from the menu.",
        "Then tap Reset.",
        "Wi-Fi",
        "Bluetooth 4.2 is kept",
    ]


def test_markers_after_a_full_stop_belong_to_the_sentence_before() -> None:
    assert answer_sentences("Five days. [1] Locked for an hour [2][1]. Done.") == [
        "Five days [1].",
        "Locked for an hour [2][1].",
        "Done.",
    ]


def test_citations_are_renumbered_by_first_use_and_name_exact_versions() -> None:
    cited = cite("Locked for one hour. [2] Refunds take five business days. [1]", HITS)
    assert cited.text == "Locked for one hour. [1] Refunds take five business days. [2]"
    assert [(c.marker, c.doc_id, c.version, c.chunk_id) for c in cited.citations] == [
        (1, "kb/doc1.md", 1, "c1"),
        (2, "kb/doc0.md", 1, "c0"),
    ]
    assert cited.citations[0].snippet == "Locked for one hour."
    assert cited.versions == {("kb/doc0.md", 1), ("kb/doc1.md", 1)}


def test_a_verbatim_cited_answer_passes_the_trust_layer(bm25: Bm25Encoder) -> None:
    draft = Draft(status="answered", text=f"{PASSAGES[1]} [2] Store credit is instant. [1]")
    assert check_draft(draft, HITS, bm25) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty_answer"),
        (" [1] ", "empty_answer"),
        ("Refunds reach the card within five business days.", "uncited_claim"),
        ("Refunds reach the card within five business days. [3]", "unknown_citation"),
        ("Refunds reach the card within five business days. [0]", "unknown_citation"),
        ("Refunds are paid in gold bars by courier pigeons overnight. [1]", "unsupported_claim"),
        ("Refunds reach the card within five days. [2]", "unsupported_claim"),  # wrong passage
    ],
)
def test_the_trust_layer_names_each_broken_rule(bm25: Bm25Encoder, text: str, rule: str) -> None:
    problems = check_draft(Draft(status="answered", text=text), HITS, bm25)
    assert [p.rule for p in problems] == [rule]


def test_a_declined_draft_breaks_no_rule(bm25: Bm25Encoder) -> None:
    assert check_draft(Draft(status="declined"), HITS, bm25) == []


def turn(n: int, role: str, text: str) -> ConversationTurn:
    return ConversationTurn(turn=n, role=role, text=text, at=datetime.now(UTC))  # type: ignore[arg-type]


def test_a_follow_up_is_searched_with_the_recent_user_turns() -> None:
    history = [
        turn(1, "user", "I can't sign in to my account"),
        turn(2, "agent", "After five failed attempts an account is locked."),
        turn(3, "user", "How long does the lock last?"),
        turn(4, "agent", "One hour."),
    ]
    condensed = condense("it's me again, still locked out", history, user_turns=2)
    assert condensed.query == (
        "I can't sign in to my account How long does the lock last? it's me again, still locked out"
    )
    assert (condensed.history_turns, condensed.underspecified) == (2, False)


def test_a_long_history_stays_bounded() -> None:
    history = [turn(i, "user", "word " * 100) for i in range(1, 30)]
    condensed = condense("and then?", history, user_turns=5, max_words=120)
    assert len(condensed.query.split()) == 120 and condensed.query.endswith("and then?")


def test_a_long_conversation_is_summarised_for_the_model_within_bounds() -> None:
    history = []
    for i in range(1, 41):
        history.append(turn(2 * i - 1, "user", f"question {i} about topic{i} " + "detail " * 30))
        history.append(turn(2 * i, "agent", "an answer " * 200))
    lines = bounded_history(history, recent=6, turn_words=60, summary_words=80)
    assert len(lines) == 7
    summary, recent = lines[0], lines[1:]
    assert summary.startswith("summary: earlier the user asked (and ")
    assert "topic37" in summary and "topic1 " not in summary  # the newest earlier questions
    assert "topic38" not in summary  # turn 75 onwards is among the recent lines instead
    assert recent[0].startswith("user: question 38 about topic38")
    assert all(len(line.split()) <= 62 for line in recent)  # role + 60 words + "…"
    assert len(" ".join(lines).split()) <= 80 + 6 * 62 + 20
    short = bounded_history(history[:4], recent=6)
    assert [line.split(":")[0] for line in short] == ["user", "agent", "user", "agent"]


@pytest.mark.parametrize(
    ("question", "vague"),
    [
        ("Are those the only steps?", True),
        ("How do I reset it?", True),
        ("What about that one?", True),
        ("How do I reset my password?", False),
        ("Can I still use my card if it expired last month?", False),
        ("What is Bixby?", False),
    ],
)
def test_a_question_leaning_on_nothing_said_is_underspecified(question: str, vague: bool) -> None:
    assert is_underspecified(question) is vague
    assert condense(question, []).underspecified is vague


def test_the_perimeter_declines_escalates_or_answers_by_confidence() -> None:
    perimeter = Perimeter(decline_below=0.3, escalate_below=0.5)
    strong = perimeter.confidence({"sentence_dense": 0.8, "sentence_lexical": 1.0, "agreement": 1})
    weak = perimeter.confidence({"sentence_dense": 0.2, "sentence_lexical": 0.1})
    middle = perimeter.confidence({"sentence_dense": 0.5, "sentence_lexical": 0.5})
    assert perimeter.verdict(strong) is AnswerStatus.ANSWERED
    assert perimeter.verdict(middle) is AnswerStatus.ESCALATED
    assert perimeter.verdict(weak) is AnswerStatus.DECLINED
    assert perimeter.confidence({}) == 0.0
    assert 0 <= weak < middle < strong <= 1


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("def authenticate(self, request, username=None): valid = check(password) if ok:", True),
        ('>>> import zoneinfo >>> tz = zoneinfo.ZoneInfo("Europe/Paris")', True),
        ("$ python -m pip install Django", True),
        ("Try setting the :setting:`SESSION_COOKIE_DOMAIN` setting to match your domain.", False),
        ("After 5 failed attempts (within 10 minutes) an account is locked for 1 hour.", False),
        ("Settings > General > Eco Solution > Try Now", False),
    ],
)
def test_code_is_told_from_prose(sentence: str, code: bool) -> None:
    assert looks_like_code(sentence) is code
