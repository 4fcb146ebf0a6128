"""The answer layer's pure rules: sentences, citations, the trust layer's checks, condensing
follow-ups and the perimeter's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from answer.citations import cite
from answer.condense import TurnKind, bounded_history, condense, is_underspecified
from answer.names import is_mentioned, named_things
from answer.perimeter import Perimeter
from answer.references import find_references
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
    assert cited.versions == {("kb/doc0.md", 1), ("kb/doc1.md", 1)}


def test_a_citation_carries_its_passage_text_and_a_link_to_the_version() -> None:
    cited = cite("Locked for one hour. [2]\n\nSee also: [1] Part 0", HITS)
    locked, refunds = cited.citations
    assert locked.snippet == PASSAGES[1] and refunds.snippet == PASSAGES[0]
    assert locked.url == "/v1/documents/kb/doc1.md/versions/1#chunk-c1"
    assert (locked.see_also, refunds.see_also) == (False, True)


def test_a_bracketed_number_in_code_is_not_a_citation() -> None:
    text = "Read the second item with `args[2]`: [1]\n\n```\nvalue = args[2]\n```"
    cited = cite(text, HITS)
    assert [c.marker for c in cited.citations] == [1]
    assert "`args[2]`" in cited.text and "value = args[2]" in cited.text


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


def test_a_marker_cites_the_sentences_before_it_in_its_paragraph(bm25: Bm25Encoder) -> None:
    excerpt = "Refunds reach the original card within five business days. Store credit is instant."
    assert check_draft(Draft(status="answered", text=f"{excerpt} [1]"), HITS, bm25) == []
    trailing = f"{PASSAGES[0]} [1] Store credit is instant."
    problems = check_draft(Draft(status="answered", text=trailing), HITS, bm25)
    assert [p.rule for p in problems] == ["uncited_claim"]


def test_a_code_block_is_cited_by_the_paragraph_introducing_it(bm25: Bm25Encoder) -> None:
    hits = [hit(0, "Create one with this command:\n\n```console\n$ manage.py createsuperuser\n```")]
    good = "Create one with this command: [1]\n\n```console\n$ manage.py createsuperuser\n```"
    assert check_draft(Draft(status="answered", text=good), hits, bm25) == []
    invented = good.replace("createsuperuser", "format_all_disks --now --everything")
    problems = check_draft(Draft(status="answered", text=invented), hits, bm25)
    assert [p.rule for p in problems] == ["unsupported_claim"]
    uncited = "```console\n$ manage.py createsuperuser\n```"
    problems = check_draft(Draft(status="answered", text=uncited), hits, bm25)
    assert [p.rule for p in problems] == ["uncited_claim"]


def test_a_see_also_line_only_needs_retrieved_passages(bm25: Bm25Encoder) -> None:
    text = f"{PASSAGES[1]} [2]\n\nSee also: [1] Anything the heading says"
    assert check_draft(Draft(status="answered", text=text), HITS, bm25) == []
    wrong = f"{PASSAGES[1]} [2]\n\nSee also: [7] Nowhere"
    problems = check_draft(Draft(status="answered", text=wrong), HITS, bm25)
    assert [p.rule for p in problems] == ["unknown_citation"]


def test_a_declined_draft_breaks_no_rule(bm25: Bm25Encoder) -> None:
    assert check_draft(Draft(status="declined"), HITS, bm25) == []


def turn(n: int, role: str, text: str) -> ConversationTurn:
    return ConversationTurn(turn=n, role=role, text=text, at=datetime.now(UTC))  # type: ignore[arg-type]


def test_a_topic_switch_is_searched_alone() -> None:
    history = [
        turn(1, "user", "How do I reset my password?"),
        turn(2, "agent", "Open Settings > Account > Reset password."),
    ]
    condensed = condense("Can I pay by bank transfer?", history)
    assert (condensed.kind, condensed.query, condensed.history_turns) == (
        TurnKind.STANDALONE,
        "Can I pay by bank transfer?",
        0,
    )
    cued = condense("Different ticket: how long do refunds take?", history)
    assert (cued.kind, cued.query) == (TurnKind.STANDALONE, "how long do refunds take?")


@pytest.mark.parametrize(
    "question",
    [
        "And for a business account?",
        "Same thing on Android?",
        "How do I undo that?",
        "Can that be undone later?",
        "What if it still fails after an hour?",
        "Sorry, I meant the admin password.",
    ],
)
def test_a_follow_up_is_searched_with_the_previous_query_and_alone(question: str) -> None:
    history = [turn(1, "user", "How do I reset my password?"), turn(2, "agent", "Open Settings.")]
    condensed = condense(question, history, previous_query="How do I reset my password?")
    assert condensed.kind is TurnKind.FOLLOW_UP
    assert condensed.query == f"How do I reset my password? {question}"
    assert condensed.alternative == question  # its hits are merged with the query's
    assert condensed.history_turns == 1


def test_a_question_sharing_words_with_the_last_turn_is_searched_both_ways() -> None:
    history = [
        turn(1, "user", "Where is the password reset link?"),
        turn(2, "agent", "In Settings."),
    ]
    condensed = condense("Does the reset link expire?", history)
    assert condensed.kind is TurnKind.UNSURE
    assert condensed.query == "Does the reset link expire?"
    assert condensed.alternative == "Where is the password reset link? Does the reset link expire?"
    assert "reset" in condensed.reason


def test_a_follow_up_query_stays_bounded() -> None:
    history = [turn(1, "user", "word " * 300)]
    condensed = condense("and then?", history, max_words=80)
    assert len(condensed.query.split()) == 80 and condensed.query.endswith("and then?")


@pytest.mark.parametrize(
    ("question", "unbound", "demonstratives"),
    [
        ("Is there a command that lists the settings?", [], []),
        ("Is it OK to run it in production?", ["it"], []),
        ("Can we keep the test database? Can we keep it between runs?", [], []),
        ("How should our other models reference it?", ["it"], []),
        ("Can I write a test that fails if that page is slow?", [], ["that page"]),
        ("I did that, but it still fails.", ["that"], []),
        ("What should we clean up before each of those steps?", [], ["those steps"]),
        ("Users complain they stay logged in.", [], []),
    ],
)
def test_back_references_are_told_from_words_bound_in_the_question(
    question: str, unbound: list[str], demonstratives: list[str]
) -> None:
    found = find_references(question)
    assert (found.unbound, found.demonstratives) == (unbound, demonstratives)


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
        ("What's the default value?", True),
        ("They say it stopped working after the update. What should they do?", True),
        ("How do I change the default timeout of the cache?", False),
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


def test_settings_and_proper_nouns_are_the_names_a_question_holds() -> None:
    question = 'Which AWS_* settings does django-storages need? Our Salesforce "Error Page" shows.'
    assert named_things(question) == ["AWS_*", "Salesforce"]
    assert named_things("Customer Bob's `created_at` field breaks.") == ["Bob"]
    assert is_mentioned("AWS_*", ["set `AWS_S3_BUCKET` first"])
    assert not is_mentioned("Salesforce", ["Sales force automation"])


def test_a_question_naming_what_no_document_mentions_loses_confidence() -> None:
    perimeter = Perimeter()
    known = perimeter.confidence({"sentence_dense": 0.7, "sentence_lexical": 0.6})
    unknown = perimeter.confidence(
        {"sentence_dense": 0.7, "sentence_lexical": 0.6, "unknown_name": 1.0}
    )
    assert perimeter.verdict(known) is AnswerStatus.ANSWERED
    assert perimeter.verdict(unknown) is AnswerStatus.DECLINED
