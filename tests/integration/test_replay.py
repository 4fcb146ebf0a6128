"""Answer replay: an audited answer produced again from the chunk versions it read, or the
same question asked again against today's index, compared field by field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from answer.perimeter import Perimeter
from answer.replay import compare, recorded_hits, replay
from core.errors import NotFound
from schemas.answer import Answer, AnswerStatus, ChatRequest, DeclineReason
from schemas.replay import COMPARED
from tests.helpers.answers import GOOD, World, with_llm
from tests.helpers.llm_double import answer, chat_double, raw

UNLOCK = (
    "# Locked accounts\n\nA locked account can be unlocked at once by an administrator from "
    "the Users page, without waiting for the hour to pass.\n"
)
SESSION = [
    "How long do refunds take to arrive?",
    "and invoices?",
    "My account got locked after failed sign-ins",
    "how long does that last?",
    "how long does that last?",  # asked again: the excerpt avoids the passage it quoted
    "Who painted the Mona Lisa?",
    "When do parcels leave the warehouse?",
]


def ask_session(world: World, questions: list[str]) -> list[Answer]:
    answers: list[Answer] = []
    conversation = None
    for question in questions:
        reply = world.service.ask(ChatRequest(question=question, conversation_id=conversation))
        conversation = reply.conversation_id
        answers.append(reply)
    return answers


def compared_json(reply: Answer) -> str:
    return reply.model_dump_json(include=set(COMPARED))


def test_every_answer_of_a_session_replays_byte_identical_on_its_snapshot(world: World) -> None:
    answers = ask_session(world, SESSION)
    answers.append(world.service.ask(ChatRequest(question="Are those the only steps?")))
    statuses = {a.status for a in answers}
    assert {AnswerStatus.ANSWERED, AnswerStatus.DECLINED} <= statuses
    reasons = {a.decline_reason for a in answers}
    assert {DeclineReason.UNKNOWN_NAME, DeclineReason.UNDERSPECIFIED} <= reasons
    audits = len(world.ctx.catalog.answers.audits(limit=100))
    for original in answers:
        report = replay(world.service, original.answer_id)
        assert report.identical, (original.text, report.differences)
        assert report.mode == "snapshot" and report.recorded == original
        assert compared_json(report.replayed) == compared_json(original)
        assert report.replayed.answer_id == original.answer_id
    # a replay stores nothing: no audit record, no conversation turn
    assert len(world.ctx.catalog.answers.audits(limit=100)) == audits
    turns = world.ctx.catalog.conversations.turns(answers[0].conversation_id)
    assert len(turns) == 2 * len(SESSION)


def test_the_audit_record_keeps_what_the_excerpt_was_drawn_with(world: World) -> None:
    world.edit("unlock.md", UNLOCK)
    [original] = ask_session(world, ["How long is an account locked after failed sign-ins?"])
    record = world.ctx.catalog.answers.audit(original.answer_id)
    assert record is not None and record.excerpt is not None
    assert record.excerpt.question == original.query and record.excerpt.avoided == []
    assert record.thresholds == {"decline_below": 0.42, "escalate_below": 0.45}
    assert original.citations[0].doc_id == "kb/login.md"
    # the passages it was asked to avoid are an input too: a replay honours them
    quoted = original.citations[0].chunk_id
    avoiding = record.model_copy(
        update={"excerpt": record.excerpt.model_copy(update={"avoided": [quoted]})}
    )
    hits, missing = recorded_hits(world.ctx.catalog, avoiding)
    assert missing == [] and [h.payload.chunk_id for h in hits] == [
        r.chunk_id for r in record.retrieved
    ]
    moved = world.service.answer_again(avoiding, hits)
    assert moved.citations[0].doc_id == "kb/unlock.md" and "administrator" in moved.text
    assert [d.field for d in compare(original, moved)][:2] == ["text", "citations"]


def test_after_an_edit_the_snapshot_still_replays_and_now_shows_the_new_version(
    world: World,
) -> None:
    [original] = ask_session(world, ["How long do refunds take to arrive?"])
    assert original.citations[0].version == 1 and "five business days" in original.text
    world.edit(
        "billing.md",
        "# Billing\n\nRefunds reach the original card within ten business days.\n",
    )
    snapshot = replay(world.service, original.answer_id)
    assert snapshot.identical, snapshot.differences  # version 1's chunks are still in the catalog
    now = replay(world.service, original.answer_id, now=True)
    assert now.mode == "now" and not now.identical
    changed = {d.field: d for d in now.differences}
    assert {"text", "citations", "index_generation"} <= set(changed)
    assert "ten business days" in changed["text"].replayed
    assert changed["citations"].replayed[0]["version"] == 2
    assert changed["citations"].recorded[0]["version"] == 1


def test_now_answers_with_the_conversation_as_it_stood(world: World) -> None:
    _first, follow_up, _later = ask_session(
        world,
        ["My account got locked after failed sign-ins", "how long does that last?", "and refunds?"],
    )
    now = replay(world.service, follow_up.answer_id, now=True)
    assert now.identical, now.differences  # nothing changed: the same follow-up, resolved the same
    assert now.replayed.query == follow_up.query and "one hour" in now.replayed.text


def test_a_changed_generator_or_perimeter_is_shown_exactly(world: World) -> None:
    [original] = ask_session(world, ["How long do refunds take to arrive?"])
    service = world.service
    service.extractive = replace(service.extractive, name="extractive/9.9.9", see_also=0)  # type: ignore[type-var]
    report = replay(service, original.answer_id)
    assert [d.field for d in report.differences if d.field != "text"] == ["generator"]
    assert report.differences[-1].replayed == "extractive/9.9.9"
    # the perimeter's thresholds of the day: the snapshot keeps the recorded ones, now does not
    service.extractive = replace(service.extractive, name=original.generator)  # type: ignore[type-var]
    service.policy = replace(service.policy, perimeter=Perimeter(0.95, 0.99))
    assert replay(service, original.answer_id).identical
    now = replay(service, original.answer_id, now=True)
    status = next(d for d in now.differences if d.field == "status")
    assert (status.recorded, status.replayed) == ("answered", "declined")


@pytest.mark.usefixtures("prompts")
def test_an_llm_answer_is_generated_again_and_a_bad_reply_is_reported_not_recorded(
    world: World,
) -> None:
    with chat_double([answer(GOOD)]) as double:
        original = with_llm(world, double).ask(ChatRequest(question="How long do refunds take?"))
        assert original.generator == "llm/test-model"
        assert replay(world.service, original.answer_id).identical
    with chat_double([raw("not JSON at all")]) as double:
        report = replay(with_llm(world, double), original.answer_id)
    assert not report.identical
    assert report.replayed.decline_reason is DeclineReason.INVALID_OUTPUT
    assert world.ctx.catalog.answers.failures() == []  # the replay's refusal is its report


def test_a_record_from_before_the_excerpt_was_kept_replays_with_its_question(
    world: World,
) -> None:
    first, follow_up = ask_session(
        world, ["My account got locked after failed sign-ins", "how long does that last?"]
    )
    for original in (first, follow_up):
        record = world.ctx.catalog.answers.audit(original.answer_id)
        assert record is not None and record.excerpt is not None
        older = record.model_copy(update={"excerpt": None})
        hits, _ = recorded_hits(world.ctx.catalog, older)
        again = world.service.answer_again(older, hits)
        assert compare(original, again) == [], original.text


def test_an_unknown_answer_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="no answer 'nope'"):
        replay(world.service, "nope")
