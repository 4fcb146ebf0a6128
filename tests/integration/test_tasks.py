"""The task functions on real files: versions, diffs, idempotency, and bad input."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from catalog import Catalog
from catalog.tables import chunks
from ingest.chunking import ChunkPolicy
from ingest.parsing import ParserPool
from ingest.reconcile import plan
from ingest.tasks import IngestContext, Limits, delete_file, ingest_file, run_task
from schemas import ReasonCode
from schemas.tasks import DeleteFile, IngestFile
from tests.helpers.documents import (
    BILLION_LAUGHS,
    build_docx,
    build_pdf,
    encrypt_pdf,
    entity_docx,
    write,
    zip_bomb_docx,
)
from tests.helpers.index import reindexed

MB = 2**20
PARAS = [" ".join([f"Paragraph {i} explains refunds for case {i}."] * 5) for i in range(6)]


def guide(paras: list[str]) -> str:
    return (
        "# Billing\n\n## Refunds\n\n"
        + "\n\n".join(paras)
        + "\n\n## Invoices\n\nInvoices are monthly.\n"
    )


def ingest(ctx: IngestContext, rel_path: str):
    return ingest_file(ctx, IngestFile(source="kb", rel_path=rel_path))


def test_new_file_becomes_version_1_with_its_chunks(ctx: IngestContext, kb: Path) -> None:
    write(kb / "guide.md", guide(PARAS))
    result = ingest(ctx, "guide.md")
    assert (result.versions_created, result.chunks_added, result.failed) == (1, 7, 0)
    version = ctx.catalog.current_version("kb/guide.md")
    assert version.version == 1 and version.media_type == "text/markdown"
    headings = {tuple(c.heading_path) for c in ctx.catalog.chunks("kb/guide.md", 1)}
    assert headings == {("Billing", "Refunds"), ("Billing", "Invoices")}


def test_same_bytes_make_no_new_version_and_no_work(ctx: IngestContext, kb: Path) -> None:
    write(kb / "guide.md", guide(PARAS))
    ingest(ctx, "guide.md")
    os.utime(kb / "guide.md")  # touched, not changed
    again = ingest(ctx, "guide.md")
    assert (again.unchanged, again.versions_created) == (1, 0)
    assert len(ctx.catalog.versions("kb/guide.md")) == 1


def test_edit_of_one_paragraph_changes_one_chunk(ctx: IngestContext, kb: Path) -> None:
    write(kb / "guide.md", guide(PARAS))
    ingest(ctx, "guide.md")
    edited = list(PARAS)
    edited[2] = PARAS[2].replace("refunds", "REFUNDS, now faster,", 1)
    write(kb / "guide.md", guide(edited))
    result = ingest(ctx, "guide.md")
    assert (result.chunks_added, result.chunks_removed, result.chunks_unchanged) == (1, 1, 6)
    diff = ctx.catalog.version("kb/guide.md", 2).diff
    assert len(diff.added) == len(diff.removed) == 1
    [new_chunk] = [c for c in ctx.catalog.chunks("kb/guide.md", 2) if c.chunk_id in diff.added]
    assert "now faster" in new_chunk.text


def test_tasks_are_idempotent(ctx: IngestContext, kb: Path) -> None:
    write(kb / "a.md", "# A\n\nalpha text")
    first, second = (run_task(ctx, IngestFile(source="kb", rel_path="a.md")) for _ in range(2))
    assert (first.versions_created, second.versions_created, second.unchanged) == (1, 0, 1)
    (kb / "a.md").unlink()
    gone, again = (run_task(ctx, DeleteFile(source="kb", rel_path="a.md")) for _ in range(2))
    assert (gone.deleted, again.deleted) == (1, 0)
    assert len(ctx.catalog.tombstones("kb/a.md")) == 1


def test_delete_of_a_file_that_is_back_ingests_it_instead(ctx: IngestContext, kb: Path) -> None:
    write(kb / "a.md", "# A\n\nalpha text")
    result = delete_file(ctx, DeleteFile(source="kb", rel_path="a.md"))
    assert result.versions_created == 1 and result.deleted == 0


def test_reindex_rechunks_and_only_changes_what_changed(ctx: IngestContext, kb: Path) -> None:
    write(kb / "guide.md", guide(PARAS))
    ingest(ctx, "guide.md")
    same = reindexed(ctx, doc_id="kb/guide.md")
    assert (same.unchanged, same.versions_created) == (1, 0)
    ctx.policy = ChunkPolicy(max_words=400, min_words=300)  # a new chunking rule
    changed = reindexed(ctx, source="kb")
    assert changed.versions_created == 1
    assert ctx.catalog.current_version("kb/guide.md").chunk_count < 7
    assert reindexed(ctx).versions_created == 0


def good_then(ctx: IngestContext, kb: Path, name: str, bad: bytes, reason: ReasonCode) -> None:
    """A good version first; then bad bytes fail, are recorded, and leave v1 current."""
    good = {
        ".pdf": build_pdf([["A good manual page about billing."]]),
        ".docx": build_docx([("Good", ["A good paragraph."])]),
    }.get(Path(name).suffix, b"# Good\n\nA good page.")
    write(kb / name, good)
    assert ingest(ctx, name).versions_created == 1
    write(kb / name, bad)
    result = ingest(ctx, name)
    assert result.failed == 1 and result.versions_created == 0
    [failure] = ctx.catalog.failures.list()
    assert failure.reason == reason and failure.path == name and failure.message
    assert failure.attempts == 1 and failure.sha256 is not None
    current = ctx.catalog.current_version(f"kb/{name}")
    assert current.version == 1, "a failure leaves the current version untouched"


BAD_INPUTS = {
    "truncated-pdf": ("m.pdf", build_pdf([["x" * 40]])[:200], ReasonCode.PDF_CORRUPT),
    "encrypted-pdf": ("m.pdf", encrypt_pdf(build_pdf([["secret text"]])), ReasonCode.PDF_ENCRYPTED),
    "recursive-pdf": ("m.pdf", build_pdf([["loop"]], recursive=True), ReasonCode.PDF_CORRUPT),
    "exe-renamed-pdf": ("m.pdf", b"MZ\x90\x00" + b"\x00" * 200, ReasonCode.TYPE_MISMATCH),
    "zip-bomb-docx": ("m.docx", zip_bomb_docx(40), ReasonCode.ARCHIVE_BOMB),
    "billion-laughs-docx": ("m.docx", entity_docx(BILLION_LAUGHS), ReasonCode.XML_ENTITIES),
    "non-utf8-text": (
        "m.md",
        "# Caf\u00e9\n\nd\u00e9j\u00e0 vu".encode("latin-1"),
        ReasonCode.ENCODING,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_recorded_and_leaves_the_current_version(
    ctx: IngestContext, kb: Path, case: str
) -> None:
    name, data, reason = BAD_INPUTS[case]
    good_then(ctx, kb, name, data, reason)


def test_files_refused_before_reading_are_recorded(
    ctx: IngestContext, kb: Path, tmp_path: Path
) -> None:
    write(kb / "empty.md", b"")
    write(kb / "image.png", b"\x89PNG\r\n")
    with open(kb / "huge.pdf", "wb") as handle:
        handle.truncate(2 * 1024 * MB)
    (kb / "escape.md").symlink_to(write(tmp_path / "secret.md", "# S\n\nsecret"))
    os.link(write(tmp_path / "other.md", "# O\n\nother"), kb / "hard.md")
    write(kb / "bad\nname.md", "# B\n\nbody")
    (kb / "loop-a.md").symlink_to("loop-b.md")
    (kb / "loop-b.md").symlink_to("loop-a.md")
    (kb / "self.md").symlink_to("self.md")
    expected = {
        "empty.md": ReasonCode.EMPTY,
        "image.png": ReasonCode.UNSUPPORTED_TYPE,
        "huge.pdf": ReasonCode.TOO_LARGE,
        "escape.md": ReasonCode.OUTSIDE_ROOT,
        "hard.md": ReasonCode.HARD_LINK,
        "bad\nname.md": ReasonCode.BAD_FILENAME,
        "loop-a.md": ReasonCode.LINK_LOOP,
        "loop-b.md": ReasonCode.LINK_LOOP,
        "self.md": ReasonCode.LINK_LOOP,
    }
    for name in expected:
        assert ingest(ctx, name).failed == 1
    failures = {f.path: f.reason for f in ctx.catalog.failures.list()}
    assert failures == expected
    assert ctx.catalog.documents() == []


def test_undecodable_file_name_is_recorded_escaped(ctx: IngestContext, kb: Path) -> None:
    raw = os.path.join(os.fsencode(kb), b"r\xe9sum\xe9.md")
    with open(raw, "wb") as handle:
        handle.write(b"# R\n\nbody")
    result = ingest(ctx, os.fsdecode(b"r\xe9sum\xe9.md"))
    assert result.failed == 1
    [failure] = ctx.catalog.failures.list()
    assert failure.reason == ReasonCode.BAD_FILENAME and failure.path == "r\\xe9sum\\xe9.md"


def test_a_bad_file_does_not_block_the_others(ctx: IngestContext, kb: Path) -> None:
    write(kb / "a.md", "# A\n\nalpha")
    write(kb / "b.pdf", b"not a pdf at all")
    write(kb / "c.md", "# C\n\ngamma")
    results = [ingest(ctx, n) for n in ("a.md", "b.pdf", "c.md")]
    assert [r.versions_created for r in results] == [1, 0, 1]
    assert {d.doc_id for d in ctx.catalog.documents()} == {"kb/a.md", "kb/c.md"}


def test_quarantined_bytes_are_not_parsed_again(ctx: IngestContext, kb: Path) -> None:
    write(kb / "m.pdf", encrypt_pdf(build_pdf([["text"]])))
    ingest(ctx, "m.pdf")
    again = ingest(ctx, "m.pdf")
    assert again.failed == 1 and "quarantined" in (again.error or "")
    assert ctx.catalog.failures.list()[0].attempts == 1
    write(kb / "m.pdf", build_pdf([["Fixed manual text about billing."]]))
    assert ingest(ctx, "m.pdf").versions_created == 1
    assert ctx.catalog.failures.list() == [], "success resolves the failure"


@pytest.fixture
def midparse_ctx(
    tmp_path: Path, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[IngestContext]:
    target = kb / "live.md"
    monkeypatch.setenv("VERITY_TEST_MIDPARSE", f"{target}|# Live\n\nversion two, written mid-parse")
    pool = ParserPool(
        timeout_s=60,
        memory_mb=1024,
        max_inflated_bytes=MB,
        target="tests.helpers.parsers:edit_mid_parse",
    )
    store = Catalog(f"sqlite:///{tmp_path / 'mid.db'}")
    store.migrate()
    store.register_source("kb", kb)
    yield IngestContext(store, pool, Limits(max_file_bytes=MB), ChunkPolicy())
    pool.close()
    store.close()


def test_a_file_modified_mid_parse_never_becomes_current_half_way(
    midparse_ctx: IngestContext, kb: Path
) -> None:
    write(kb / "live.md", "# Live\n\nversion one")
    first = ingest(midparse_ctx, "live.md")
    assert first.deferred == 1 and first.versions_created == 0
    assert midparse_ctx.catalog.current_version("kb/live.md") is None
    second = ingest(midparse_ctx, "live.md")
    assert second.versions_created == 1
    [chunk] = midparse_ctx.catalog.chunks("kb/live.md", 1)
    assert chunk.text == "version two, written mid-parse"


def test_a_file_deleted_mid_parse_is_tombstoned_not_ingested(
    midparse_ctx: IngestContext, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(kb / "live.md", "# Live\n\nversion one")
    assert ingest(midparse_ctx, "live.md").deferred == 1  # edited mid-parse: see above
    ingest(midparse_ctx, "live.md")
    monkeypatch.setenv("VERITY_TEST_MIDPARSE", "")
    os.environ["VERITY_TEST_MIDPARSE"] = f"{kb / 'live.md'}|DELETE"
    midparse_ctx.parser.close()  # the child reads the environment when it starts
    (kb / ".live.md.done").unlink()
    write(kb / "live.md", "# Live\n\nversion three")
    assert ingest(midparse_ctx, "live.md").deferred == 1
    result = ingest(midparse_ctx, "live.md")
    assert result.deleted == 1
    assert midparse_ctx.catalog.current_version("kb/live.md") is None
    assert [v.version for v in midparse_ctx.catalog.versions("kb/live.md")] == [1]


def test_a_parser_that_keeps_timing_out_is_quarantined_after_three_attempts(
    tmp_path: Path, kb: Path
) -> None:
    pool = ParserPool(
        timeout_s=0.5, memory_mb=512, max_inflated_bytes=MB, target="tests.helpers.parsers:hang"
    )
    store = Catalog(f"sqlite:///{tmp_path / 'q.db'}")
    store.migrate()
    store.register_source("kb", kb)
    ctx = IngestContext(store, pool, Limits(max_file_bytes=MB, max_attempts=3), ChunkPolicy())
    write(kb / "slow.md", "# Slow\n\nThis one never finishes parsing.")
    write(kb / "fine.txt", "A plain file that the same stuck parser never gets to see.")
    try:
        outcomes = [ingest(ctx, "slow.md") for _ in range(4)]
        assert [o.failed for o in outcomes] == [1, 1, 1, 1]
        [failure] = store.failures.list()
        assert (failure.reason, failure.attempts, failure.quarantined) == (
            ReasonCode.PARSE_TIMEOUT,
            3,
            True,
        )
        assert "quarantined" in (outcomes[3].error or "")
        assert pool.restarts == 3, "the fourth attempt never reached the parser"
        from ingest.reconcile import plan

        planned = {t.rel_path for t in plan(store, "kb", kb)}
        assert planned == {"fine.txt"}, "a quarantined file is not retried by reconciles"
    finally:
        pool.close()
        store.close()


OLD_REST = (
    "Sign-in\n=======\n\nAccounts lock after :setting:`MAX_ATTEMPTS` tries.\n\n"
    ".. note::\n\n    Admins unlock them.\n"
)


def _age_chunks(catalog: Catalog, doc_id: str, *, raw_text: bool) -> None:
    """Make the document's chunks look as an older Verity stored them (chunk schema 1)."""
    values: dict[str, object] = {"schema_version": 1}
    if raw_text:  # the raw reST text under other ids, as the old chunker stored it
        values |= {"chunk_id": "0" * 32, "text": OLD_REST}
    with catalog.engine.begin() as conn:
        conn.execute(update(chunks).where(chunks.c.doc_id == doc_id).values(**values))


def test_chunks_an_older_verity_stored_are_rechunked_on_the_next_reconcile(
    ctx: IngestContext, kb: Path
) -> None:
    write(kb / "signin.rst", OLD_REST)
    assert ingest(ctx, "signin.rst").versions_created == 1
    assert plan(ctx.catalog, "kb", kb) == []  # nothing changed: nothing to do
    _age_chunks(ctx.catalog, "kb/signin.rst", raw_text=True)
    [old] = ctx.catalog.chunks("kb/signin.rst", 1)  # still readable: upgraded on load
    assert old.schema_version == 2 and ":setting:" in old.text
    assert ctx.catalog.formats.outdated_paths("kb") == {"signin.rst"}
    tasks = plan(ctx.catalog, "kb", kb)  # the file's stat is unchanged, yet it is planned
    assert tasks == [IngestFile(source="kb", rel_path="signin.rst")]
    result = ingest(ctx, "signin.rst")
    assert result.versions_created == 1  # the display form: a new version, same bytes
    new = ctx.catalog.chunks("kb/signin.rst", 2)
    assert [c.text for c in new] == [
        "Accounts lock after `MAX_ATTEMPTS` tries.\n\nNote: Admins unlock them."
    ]
    assert ctx.catalog.formats.outdated_paths("kb") == set()
    assert plan(ctx.catalog, "kb", kb) == []


def test_old_chunks_whose_text_is_already_clean_are_marked_not_reparsed_again(
    ctx: IngestContext, kb: Path
) -> None:
    write(kb / "plain.md", "# Notes\n\nRefunds take five business days.\n")
    assert ingest(ctx, "plain.md").versions_created == 1
    _age_chunks(ctx.catalog, "kb/plain.md", raw_text=False)
    assert ctx.catalog.formats.outdated("kb/plain.md", 1) and ctx.catalog.formats.outdated_paths(
        "kb"
    ) == {"plain.md"}
    result = ingest(ctx, "plain.md")
    assert (result.versions_created, result.unchanged) == (0, 1)
    assert not ctx.catalog.formats.outdated("kb/plain.md", 1)
    assert ctx.catalog.formats.outdated_paths("kb") == set()
