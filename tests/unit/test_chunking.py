"""Chunking keeps structure, bounds sizes, and keeps ids stable across unrelated edits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import ChunkPolicy, chunk_blocks
from ingest.parsing import Block

POLICY = ChunkPolicy(max_words=60, min_words=15)


def para(marker: int, words: int, filler: str = "w") -> str:
    return " ".join([f"p{marker}", *([filler] * (words - 1))])


@st.composite
def documents(draw: st.DrawFn) -> list[Block]:
    """Sections of paragraphs, each paragraph tagged with a unique marker word."""
    blocks: list[Block] = []
    sections = draw(st.integers(1, 4))
    marker = 0
    for s in range(sections):
        heading = ("Guide", f"Section {s}")
        for _ in range(draw(st.integers(1, 8))):
            blocks.append(Block(para(marker, draw(st.integers(1, POLICY.max_words))), heading))
            marker += 1
    return blocks


def members(chunk_text: str) -> set[int]:
    return {int(word[1:]) for word in chunk_text.split() if word.startswith("p")}


@given(documents())
def test_chunking_is_deterministic_and_keeps_every_word_in_order(blocks: list[Block]) -> None:
    first = chunk_blocks("kb/a.md", blocks, POLICY)
    again = chunk_blocks("kb/a.md", blocks, POLICY)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert " ".join(c.text for c in first).split() == " ".join(b.text for b in blocks).split()
    assert all(len(c.text.split()) <= POLICY.max_words for c in first)
    assert len({c.chunk_id for c in first}) == len(first)


@given(documents())
def test_a_chunk_never_crosses_a_heading(blocks: list[Block]) -> None:
    heading_of = {i: b.heading_path for i, b in enumerate(blocks)}
    for chunk in chunk_blocks("kb/a.md", blocks, POLICY):
        assert {heading_of[i] for i in members(chunk.text)} == {chunk.heading_path}


@settings(max_examples=300)
@given(documents(), st.data())
def test_edit_of_one_paragraph_changes_only_the_chunks_around_it(
    blocks: list[Block], data: st.DataObject
) -> None:
    edited = data.draw(st.integers(0, len(blocks) - 1))
    words = data.draw(st.integers(1, POLICY.max_words))
    new_blocks = list(blocks)
    new_blocks[edited] = Block(para(edited, words, "edited"), blocks[edited].heading_path)

    old = chunk_blocks("kb/a.md", blocks, POLICY)
    new_ids = {c.chunk_id for c in chunk_blocks("kb/a.md", new_blocks, POLICY)}
    section = blocks[edited].heading_path
    holder = next(i for i, c in enumerate(old) if edited in members(c.text))
    next_anchor = next(
        (
            j
            for j in range(edited + 1, len(blocks))
            if blocks[j].heading_path == section and blocks[j].words >= POLICY.min_words
        ),
        len(blocks),
    )
    # the edited block may leave or join the chunk before it (its anchor status changed)
    for index, chunk in enumerate(old):
        first = min(members(chunk.text))
        untouched = chunk.heading_path != section or index < holder - 1 or first >= next_anchor
        if untouched:
            assert chunk.chunk_id in new_ids, f"chunk {index} changed though far from the edit"


def test_edit_of_one_paragraph_reembeds_one_chunk() -> None:
    paragraphs = [para(i, 40) for i in range(6)]
    blocks = [Block(p, ("Billing", "Refunds")) for p in paragraphs]
    old = {c.chunk_id for c in chunk_blocks("kb/a.md", blocks, POLICY)}
    blocks[3] = Block(para(3, 42, "changed"), ("Billing", "Refunds"))
    new = {c.chunk_id for c in chunk_blocks("kb/a.md", blocks, POLICY)}
    assert len(old - new) == 1 and len(new - old) == 1


def test_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "This sentence has exactly eight words in it."
    block = Block(" ".join([sentence] * 20), ("Manual",))
    chunks = chunk_blocks("kb/a.md", [block], POLICY)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert len(chunk.text.split()) <= POLICY.max_words
        assert chunk.text.endswith("in it.")


def test_a_sentence_longer_than_the_limit_is_cut_at_words() -> None:
    block = Block(" ".join(["word"] * 200), ())
    chunks = chunk_blocks("kb/a.md", [block], POLICY)
    assert [len(c.text.split()) for c in chunks] == [60, 60, 60, 20]


def test_identical_texts_under_one_heading_get_distinct_stable_ids() -> None:
    blocks = [
        Block("Repeat this step.", ("Setup",)),
        Block(para(1, 30), ("Setup",)),
        Block("Repeat this step.", ("Setup",)),
    ]
    first = chunk_blocks("kb/a.md", blocks, POLICY)
    assert len({c.chunk_id for c in first}) == len(first)
    assert [c.chunk_id for c in first] == [
        c.chunk_id for c in chunk_blocks("kb/a.md", blocks, POLICY)
    ]


def test_same_text_in_another_document_or_section_gets_another_id() -> None:
    block = Block(para(1, 20), ("A",))
    [one] = chunk_blocks("kb/a.md", [block], POLICY)
    [two] = chunk_blocks("kb/b.md", [block], POLICY)
    [three] = chunk_blocks("kb/a.md", [Block(block.text, ("B",))], POLICY)
    assert len({one.chunk_id, two.chunk_id, three.chunk_id}) == 3


def test_chunks_carry_heading_path_and_first_page() -> None:
    blocks = [Block(para(0, 20), ("Guide",), page=2), Block("tail line", ("Guide",), page=3)]
    [chunk] = chunk_blocks("kb/a.pdf", blocks, POLICY)
    assert chunk.heading_path == ("Guide",) and chunk.page == 2


def test_a_code_block_stays_with_the_text_introducing_it() -> None:
    intro = Block(para(0, 20) + " Run this command:", ("Setup",))
    code = Block(
        "```console\n" + "\n".join(["$ manage.py migrate app 0002"] * 5) + "\n```",
        ("Setup",),
        code=True,
    )
    assert code.words >= POLICY.min_words  # long enough to start a chunk, were it prose
    [chunk] = chunk_blocks("kb/a.rst", [intro, code], POLICY)
    assert chunk.text.endswith("Run this command:\n\n" + code.text)


def test_a_long_code_block_is_cut_between_lines_each_piece_fenced() -> None:
    lines = [f"step_{i} = run(arg_{i}, other_{i})" for i in range(40)]
    code = Block("```python\n" + "\n".join(lines) + "\n```", ("Setup",), code=True)
    chunks = chunk_blocks("kb/a.md", [code], POLICY)
    assert len(chunks) > 1
    for chunk in chunks:
        body = chunk.text.split("\n")
        assert body[0] == "```python" and body[-1] == "```"
        assert all(line in lines for line in body[1:-1])
    assert [line for c in chunks for line in c.text.split("\n")[1:-1]] == lines
