"""Answers an agent can paste, from real reST, Markdown and text files through the real parser,
index and embedding model: no markup, the command kept as a code block, conversations that
switch topic without leaking and follow-ups that resolve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from answer.evaluate_sessions import markup_in
from answer.service import AnswerService
from index.active import Embedders
from ingest.tasks import IngestContext
from retrieve.hybrid import merged
from schemas.answer import Answer, AnswerStatus, ChatRequest
from tests.helpers.answers import answer_world

ACCOUNTS_RST = """\
.. _accounts:

=======================
Managing staff accounts
=======================

.. currentmodule:: accounts

Creating superusers
===================

Create superusers using the :djadmin:`createsuperuser` command:

.. console::

    $ python manage.py createsuperuser --username=joe --email=joe@example.com

You will be prompted for a password. After you enter one, the user will be created
immediately. See :ref:`the password rules <password-rules>` for what is accepted.

Locked accounts
===============

.. note::

    After five failed sign-in attempts an account is locked for one hour. An administrator
    can unlock it earlier with :func:`~accounts.admin.unlock` and the account's ``username``.
"""

BILLING_MD = """\
# Billing

## Refunds

Refunds reach the original card within five business days. Business accounts are
refunded as credit on their next invoice instead.

## Exporting invoices

Export every invoice of a year as CSV with the `billing` command:

```sh
billing export --year 2026 --format csv
```

The file lands in your **Downloads** folder.
"""

SHIPPING_MD = """\
# Shipping

## Returns

Returned parcels are inspected within ten business days of arrival. Business accounts
get a prepaid return label with every order.
"""

DOCS = {"accounts.rst": ACCOUNTS_RST, "billing.md": BILLING_MD, "shipping.md": SHIPPING_MD}


@pytest.fixture
def service(
    ctx: IngestContext, kb: Path, tmp_path: Path, embedders: Embedders
) -> Iterator[AnswerService]:
    for world in answer_world(ctx, kb, tmp_path, embedders, DOCS):
        yield world.service


def ask(service: AnswerService, question: str, conversation: str | None = None) -> Answer:
    return service.ask(ChatRequest(question=question, conversation_id=conversation))


def markup_of(answer: Answer) -> list[str]:
    texts = [answer.text, *(c.snippet for c in answer.citations)]
    texts += [h for c in answer.citations for h in c.heading_path]
    return [m for t in texts for m in markup_in(t)]


def test_a_rest_document_answers_without_markup_keeping_its_command(
    service: AnswerService,
) -> None:
    answer = ask(service, "How do I create a superuser?")
    assert answer.status is AnswerStatus.ANSWERED, answer
    assert answer.citations[0].path == "accounts.rst"
    assert answer.text.startswith("Create superusers using the `createsuperuser` command: [1]")
    command = (
        "```console\n$ python manage.py createsuperuser --username=joe --email=joe@example.com\n```"
    )
    assert command in answer.text
    assert answer.citations[0].heading_path == ["Managing staff accounts", "Creating superusers"]
    assert markup_of(answer) == []


def test_a_markdown_document_answers_in_markdown(service: AnswerService) -> None:
    answer = ask(service, "How can I export invoices as CSV?")
    assert answer.status is AnswerStatus.ANSWERED, answer
    assert answer.citations[0].path == "billing.md"
    assert "with the `billing` command: [1]" in answer.text
    assert "```sh\nbilling export --year 2026 --format csv\n```" in answer.text
    assert markup_of(answer) == []


def test_a_citation_quotes_its_passage_and_links_to_its_version(service: AnswerService) -> None:
    answer = ask(service, "How long is an account locked after failed sign-ins?")
    first = answer.citations[0]
    chunks = service.catalog.chunks(first.doc_id, first.version)
    assert first.snippet == next(c.text for c in chunks if c.chunk_id == first.chunk_id)
    assert first.snippet.startswith("Note: After five failed sign-in attempts")
    assert "`unlock`" in first.snippet and "`username`" in first.snippet
    assert first.url == f"/v1/documents/kb/accounts.rst/versions/1#chunk-{first.chunk_id}"


def test_a_topic_switch_after_three_questions_is_searched_as_if_asked_alone(
    service: AnswerService,
) -> None:
    conversation = None
    for question in (
        "How do I create a superuser?",
        "How long do refunds take?",
        "How long is an account locked after failed sign-ins?",
    ):
        conversation = ask(service, question, conversation).conversation_id
    switched = ask(service, "How can I export invoices as CSV?", conversation)
    alone = ask(service, "How can I export invoices as CSV?")
    assert switched.query == alone.query == "How can I export invoices as CSV?"
    assert switched.text == alone.text
    assert [c.chunk_id for c in switched.citations] == [c.chunk_id for c in alone.citations]
    record = service.catalog.answers.audit(switched.answer_id)
    assert record is not None and record.history_turns == 0
    assert record.turn_kind == "standalone" and record.query_reason


def test_a_follow_up_is_resolved_against_the_previous_question(service: AnswerService) -> None:
    first = ask(service, "How long do refunds take?")
    follow = ask(service, "And for business accounts?", first.conversation_id)
    assert follow.status is AnswerStatus.ANSWERED, follow
    assert follow.query == "How long do refunds take? And for business accounts?"
    assert follow.citations[0].path == "billing.md"
    assert "refunded as credit on their next invoice" in follow.text
    record = service.catalog.answers.audit(follow.answer_id)
    assert record is not None and (record.turn_kind, record.history_turns) == ("follow_up", 1)
    assert record.query_reason == (
        "opens as a follow-up; searched with the previous turn and alone, the hits merged"
    )


def test_a_follow_up_is_searched_with_the_conversation_and_alone_the_hits_merged(
    service: AnswerService,
) -> None:
    first = ask(service, "How long is an account locked after failed sign-ins?")
    question = "Then how do I create a new one from the command line?"
    follow = ask(service, question, first.conversation_id)
    assert follow.status is AnswerStatus.ANSWERED, follow
    assert follow.query == f"How long is an account locked after failed sign-ins? {question}"
    assert follow.retrievals == 2
    record = service.catalog.answers.audit(follow.answer_id)
    assert record is not None and record.turn_kind == "follow_up"
    searched = [service.retriever.search(q, k=service.policy.k) for q in (follow.query, question)]
    expected = merged(searched[0], searched[1], service.policy.k)
    assert [r.chunk_id for r in record.retrieved] == [h.payload.chunk_id for h in expected.hits]
    # what the question adds ("create … from the command line") is answered, not the lock again
    assert follow.citations[0].heading_path[-1] == "Creating superusers"
    assert "`createsuperuser`" in follow.text


def test_an_unsure_turn_is_searched_both_ways_and_the_audit_says_which_won(
    service: AnswerService,
) -> None:
    first = ask(service, "How long do refunds take?")
    again = ask(service, "Do business accounts get refunds on the card too?", first.conversation_id)
    record = service.catalog.answers.audit(again.answer_id)
    assert record is not None and record.turn_kind == "unsure"
    assert [t.query for t in record.queries_tried] == [
        "Do business accounts get refunds on the card too?",
        "How long do refunds take? Do business accounts get refunds on the card too?",
    ]
    assert sum(t.chosen for t in record.queries_tried) == 1
    assert again.query == next(t.query for t in record.queries_tried if t.chosen)
    assert again.retrievals == 2


BACKUPS_MD = """\
# Backups

## Nightly backups

Nightly backups run at two in the morning, server time, for every workspace on a paid plan.
Each backup copies the database, the uploaded files and the audit log to a second region, so
a whole region can fail without losing a day of work. The job takes about twenty minutes for
an average workspace and never locks it: people can keep working while it runs. Workspaces on
the free plan are backed up once a week, on Sunday night, with the same job. A backup that
fails is retried twice within the hour, and the workspace owners are emailed if the third
attempt fails as well. The status page shows the time of the last good backup of each region.

Backups are kept for thirty days on paid plans and seven days on the free plan. After that
they are deleted from both regions and cannot be recovered by anyone, support included. The
retention period cannot be extended per workspace; enterprise contracts may set a longer one
for all of a customer's workspaces. Backups are encrypted with the workspace's own key, which
is rotated every ninety days; an old key is kept as long as a backup made with it exists.
Exports that owners download themselves are not backups and are not kept by the service; they
are deleted from the download area after a day. Owners may download as many as they wish.

## Restoring a backup

To get your data back, restore a backup with the `restore` command:

```sh
restore --workspace acme --date 2026-11-30
```

The restore replaces the workspace's current data; take an export first to keep today's work.
"""


@pytest.fixture
def backups(
    ctx: IngestContext, kb: Path, tmp_path: Path, embedders: Embedders
) -> Iterator[AnswerService]:
    for world in answer_world(ctx, kb, tmp_path, embedders, {"backups.md": BACKUPS_MD}):
        yield world.service


def test_a_follow_up_moves_on_from_the_section_the_last_answer_quoted(
    backups: AnswerService,
) -> None:
    first = ask(backups, "When do the nightly backups run?")
    assert first.citations[0].heading_path[-1] == "Nightly backups"
    follow = ask(backups, "And how do I get my data back from one of those?", first.conversation_id)
    assert follow.status is AnswerStatus.ANSWERED, follow
    quoted = [c for c in follow.citations if not c.see_also]
    assert {c.heading_path[-1] for c in quoted} == {"Restoring a backup"}, follow.text
    assert "restore --workspace acme --date 2026-11-30" in follow.text
