"""How an excerpt is cut from its passage: adjacent chunks of a section read as one, the span
keeps the sentence a pronoun leans on and the command its last sentence introduces, and each
paragraph cites the chunk it comes from."""

from __future__ import annotations

from answer.excerpt import SpanRules, excerpt, span
from answer.passages import passages_of, units_of
from schemas.index import ChunkPayload, SearchHit

TIGHT = SpanRules(min_words=1, max_words=60, from_start=False)


def hit(ordinal: int, text: str, heading: str = "Setup", doc: str = "kb/a.md") -> SearchHit:
    payload = ChunkPayload(
        chunk_id=f"{doc}#{ordinal}",
        doc_id=doc,
        version=1,
        sha256="s",
        source="kb",
        path=doc.removeprefix("kb/"),
        heading_path=["Guide", heading],
        ordinal=ordinal,
        text=text,
        embedding_model="m",
    )
    return SearchHit(score=1.0, payload=payload)


def test_adjacent_chunks_of_one_section_are_one_passage_in_reading_order() -> None:
    hits = [
        hit(5, "Second part."),
        hit(9, "Elsewhere.", heading="Other"),
        hit(4, "First part."),
        hit(6, "Other document.", doc="kb/b.md"),
    ]
    passages = passages_of(hits)
    assert [p.markers for p in passages] == [[3, 1], [2], [4]]
    assert [u.text for u in passages[0].units] == ["First part.", "Second part."]
    assert [u.marker for u in passages[0].units] == [3, 1]
    assert passages[0].rank == 1


def test_a_sentence_leaning_on_the_one_before_brings_it_along() -> None:
    units = units_of("Sessions expire after two weeks. This can be changed in settings.")
    assert span(units, 1, [], TIGHT) == (0, 1)
    plain = units_of("Sessions expire after two weeks. Cookies are signed.")
    assert span(plain, 1, [], TIGHT) == (1, 1)


def test_the_command_a_sentence_introduces_comes_with_it() -> None:
    units = units_of(
        "Accounts are managed from the shell.\n\nCreate one with this command:\n\n"
        "```console\n$ manage.py createsuperuser\n```\n\nIt asks for a password."
    )
    low, high = span(units, 1, [], TIGHT)
    assert (low, high) == (1, 2)
    assert excerpt(units[low : high + 1]) == (
        "Create one with this command: [1]\n\n```console\n$ manage.py createsuperuser\n```"
    )


def test_an_introduction_with_nothing_after_it_is_not_the_end_of_an_excerpt() -> None:
    units = units_of("Middleware can hook three more places. You can add these methods:")
    assert span(units, 0, [], SpanRules(min_words=40, max_words=60, from_start=False)) == (0, 0)


def test_each_paragraph_cites_the_chunk_it_comes_from_and_a_list_is_one_paragraph() -> None:
    [passage] = passages_of(
        [
            hit(1, "Steps to follow:\n\n- Stop the app.\n- Back up the data."),
            hit(2, "Then restart."),
        ]
    )
    text = excerpt(passage.units)
    assert (
        text
        == "Steps to follow: [1]\n\n- Stop the app.\n- Back up the data. [1]\n\nThen restart. [2]"
    )


def test_an_excerpt_opens_where_its_chunk_opens_when_the_best_sentence_is_near() -> None:
    units = units_of("Refunds are possible. They reach the card in five days. Credit is instant.")
    assert span(units, 1, [], SpanRules(min_words=1, max_words=60))[0] == 0
    assert span(units, 2, [], SpanRules(min_words=1, max_words=5))[0] == 2


ASYNC_ORM = (
    "Most queries can run asynchronously. In short:\n\n"
    "- Every query method has an `a`-prefixed variant.\n\n"
    "- `async for` works on every queryset.\n\n"
    "Some model methods are asynchronous too:\n\n"
    "```\nawait book.asave()\n```\n\n"
    "Transactions do not work in async mode yet. Wrap such code in `sync_to_async`."
)


def test_a_list_ends_at_the_first_paragraph_that_is_not_an_item() -> None:
    units = units_of(ASYNC_ORM)
    low, high = span(units, 1, [], SpanRules(min_words=1, max_words=160, from_start=False))
    assert [u.text for u in units[low : high + 1]][-1] == "`async for` works on every queryset."


def test_an_excerpt_reads_on_past_a_list_taking_what_each_sentence_introduces() -> None:
    units = units_of(ASYNC_ORM)
    low, high = span(units, 0, [], SpanRules(min_words=40, max_words=160))
    text = excerpt(units[low : high + 1])
    assert "Some model methods are asynchronous too: [1]\n\n```\nawait book.asave()\n```" in text
    assert text.endswith("Wrap such code in `sync_to_async`. [1]")


def test_the_code_a_list_item_introduces_comes_with_the_list() -> None:
    units = units_of(
        "To use Argon2, do the following:\n\n- Install the package.\n\n"
        "- List its hasher first. In your settings file, put:\n\n"
        "```\nPASSWORD_HASHERS = ['Argon2PasswordHasher']\n```\n\nKeep the other entries."
    )
    _, high = span(units, 0, [], SpanRules(min_words=1, max_words=60, from_start=False))
    assert units[high].kind == "code" and "Argon2PasswordHasher" in units[high].text
