"""The `verity` command line contract: through its entry point in this process, and as a real
process for the smoke tests (an ingest, a usage error, `watch` and `up` stopped by signals)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from catalog import Catalog
from index.embedding import DEFAULT_MODEL
from schemas.tasks import IngestFile
from tests.helpers.documents import build_docx, build_pdf, write
from tests.helpers.http import cites, wait_for_answer
from verity.cli import main

SUMMARY = {
    "documents",
    "versions_created",
    "unchanged",
    "deleted",
    "chunks_added",
    "chunks_removed",
    "chunks_unchanged",
    "failed",
}


def verity(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`verity ARGS` through the console script's entry point (`main`), in this process: the
    environment a real run would get, stdout and stderr captured, the exit status returned.
    Root logging is restored after (`main` configures it, as the real process does)."""
    env = {"VERITY_DATA_DIR": str(tmp_path / "data"), "VERITY_SETTLE_S": "0"}
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with (
        mock.patch.dict(os.environ, env),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        os.environ.pop("VERITY_DATABASE_URL", None)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
    run = subprocess.CompletedProcess(["verity", *args], code, out.getvalue(), err.getvalue())
    if check:
        assert run.returncode == 0, run.stderr
    return run


def verity_process(
    tmp_path: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`python -m verity ARGS` as a real process (the smoke tests: what `verity` does from a
    shell, imports and exit status included)."""
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path / "data"), "VERITY_SETTLE_S": "0"}
    env.pop("VERITY_DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "verity", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if check:
        assert run.returncode == 0, run.stderr
    return run


def in_process(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    """The environment `verity()` gives its subprocess, for `main()` called in this one."""
    monkeypatch.setenv("VERITY_DATA_DIR", str(data))
    monkeypatch.setenv("VERITY_SETTLE_S", "0")
    monkeypatch.delenv("VERITY_DATABASE_URL", raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "help"
    write(root / "billing.md", "# Billing\n\n## Refunds\n\nRefunds take five days.")
    write(root / "guides" / "setup.docx", build_docx([("Setup", ["Install the app first."])]))
    write(root / "guides" / "manual.pdf", build_pdf([["The manual says hello."]]))
    write(root / "faq.html", "<h1>FAQ</h1><p>Ask us anything.</p>")
    write(root / "broken.pdf", b"%PDF-1.4 truncated")
    return root


def test_ingest_json_summary_then_unchanged_then_edit_and_delete(
    tmp_path: Path, folder: Path
) -> None:
    first = json.loads(verity_process(tmp_path, "ingest", str(folder), "--json").stdout)
    assert set(first) == SUMMARY
    assert (first["documents"], first["versions_created"], first["failed"]) == (5, 4, 1)
    assert first["chunks_added"] >= 4

    again = json.loads(verity(tmp_path, "ingest", str(folder), "--json").stdout)
    assert (again["versions_created"], again["unchanged"], again["chunks_added"]) == (0, 4, 0)

    write(folder / "billing.md", "# Billing\n\n## Refunds\n\nRefunds take three days.")
    (folder / "faq.html").unlink()
    third = json.loads(verity(tmp_path, "ingest", str(folder), "--source", "help", "--json").stdout)
    assert (
        third["versions_created"],
        third["deleted"],
        third["chunks_added"],
        third["chunks_removed"],
    ) == (1, 1, 1, 2)


def test_ingest_one_file_uses_its_registered_source(tmp_path: Path, folder: Path) -> None:
    verity(tmp_path, "ingest", str(folder), "--json")
    write(folder / "new.md", "# New\n\nA new page.")
    one = json.loads(verity(tmp_path, "ingest", str(folder / "new.md"), "--json").stdout)
    assert (one["documents"], one["versions_created"]) == (1, 1)
    docs = json.loads(verity(tmp_path, "docs", "--json").stdout)
    assert "help/new.md" in {d["doc_id"] for d in docs}


def test_docs_and_failures_list_what_the_catalog_holds(tmp_path: Path, folder: Path) -> None:
    verity(tmp_path, "ingest", str(folder))
    docs = {d["doc_id"]: d for d in json.loads(verity(tmp_path, "docs", "--json").stdout)}
    assert set(docs) == {
        "help/billing.md",
        "help/guides/setup.docx",
        "help/guides/manual.pdf",
        "help/faq.html",
    }
    billing = docs["help/billing.md"]
    assert (billing["version"], billing["status"], billing["chunks"]) == (1, "active", 1)
    assert len(billing["sha256"]) == 64
    [failure] = json.loads(verity(tmp_path, "failures", "--json").stdout)
    assert failure["doc_id"] == "help/broken.pdf" and failure["reason"] == "pdf_corrupt"
    assert failure["attempts"] == 1 and failure["message"]
    assert "help/broken.pdf" in verity(tmp_path, "failures").stdout


def test_search_finds_the_current_version_of_an_edited_document(
    tmp_path: Path, folder: Path
) -> None:
    verity(tmp_path, "ingest", str(folder))
    write(folder / "billing.md", "# Billing\n\n## Refunds\n\nRefunds now take ten days.")
    verity(tmp_path, "ingest", str(folder))
    found = json.loads(verity(tmp_path, "search", "how long do refunds take", "--json").stdout)
    top = found["hits"][0]
    assert (top["doc_id"], top["version"], top["heading_path"]) == (
        "help/billing.md",
        2,
        ["Billing", "Refunds"],
    )
    assert top["text"] == "Refunds now take ten days."
    assert all(h["text"] != "Refunds take five days." for h in found["hits"])
    assert found["index_generation"] >= 2
    sparse = json.loads(
        verity(tmp_path, "search", "manual hello", "--mode", "sparse", "--k", "1", "--json").stdout
    )
    assert [h["doc_id"] for h in sparse["hits"]] == ["help/guides/manual.pdf"]
    assert "help/billing.md" in verity(tmp_path, "search", "refunds").stdout


def test_eval_reports_each_mode_and_a_second_run_embeds_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus / "billing.md", "# Billing\n\nRefunds reach your card within five days.")
    write(corpus / "login.md", "# Login\n\nReset a forgotten password from the sign-in page.")
    write(corpus / "ship.md", "# Shipping\n\nParcels leave the warehouse within two days.")
    questions = tmp_path / "dev.jsonl"
    lines = [
        {
            "id": "1",
            "question": "when is my refund paid",
            "relevant_doc_ids": ["billing.md"],
            "answerable": True,
            "turns": [],
        },
        {
            "id": "2",
            "question": "and what if I forgot it?",
            "relevant_doc_ids": ["login.md"],
            "answerable": True,
            "turns": [{"role": "user", "text": "I cannot sign in"}],
        },
        {
            "id": "3",
            "question": "what is the capital of France",
            "relevant_doc_ids": [],
            "answerable": False,
            "turns": [],
        },
    ]
    questions.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    args = ("eval", "--questions", str(questions), "--corpus", str(corpus), "--json")
    first = json.loads(verity(tmp_path, *args).stdout)
    assert set(first["retrieval"]) == {"hybrid", "dense", "sparse"}
    hybrid = first["retrieval"]["hybrid"]
    assert hybrid["questions"] == 2, "only answerable questions count"
    assert {"recall@5", "recall@10", "ndcg@10", "mrr@10", "p50_ms", "p95_ms"} <= set(hybrid)
    assert hybrid["recall@10"] == 1.0 and hybrid["mrr@10"] >= 0.5
    assert first["ingest"]["chunks_embedded"] == 3
    # answers: the capital of France is declined, the refund question answered from billing.md
    assert first["decline"]["should_decline"] == 1 and first["decline"]["recall"] == 1.0
    assert first["answers"]["cites_relevant"] >= 0.5 and first["answers"]["p50_ms"] > 0
    assert "cites_stale" not in first["answers"]
    second = json.loads(verity(tmp_path, *args).stdout)
    assert second["ingest"]["chunks_embedded"] == 0 and second["ingest"]["unchanged"] == 3


def test_eval_over_a_new_release_cites_only_current_versions(tmp_path: Path) -> None:
    old, new = tmp_path / "v1", tmp_path / "v2"
    write(old / "billing.md", "# Billing\n\nRefunds reach your card within five days.")
    write(old / "login.md", "# Login\n\nReset a forgotten password from the sign-in page.")
    write(new / "billing.md", "# Billing\n\nRefunds reach your card within ten days.")
    write(new / "ship.md", "# Shipping\n\nParcels leave the warehouse within two days.")
    questions = tmp_path / "dev.jsonl"
    line = {
        "id": "1",
        "question": "how long until my refund reaches the card?",
        "relevant_doc_ids": ["billing.md"],
        "answerable": True,
        "turns": [],
    }
    questions.write_text(json.dumps(line) + "\n")
    args = (
        "eval",
        "--questions",
        str(questions),
        "--corpus",
        str(new),
        "--previous-corpus",
        str(old),
        "--source",
        "docs",
        "--json",
    )
    report = json.loads(verity(tmp_path, *args).stdout)
    assert report["ingest"]["versions_created"] == 2 and report["ingest"]["deleted"] == 1
    assert report["answers"]["answered"] == 1
    assert report["answers"]["cites_current"] == 1.0 and report["answers"]["cites_stale"] == 0
    staged = tmp_path / "data" / "eval-sources" / "docs"
    assert sorted(p.name for p in staged.iterdir()) == ["billing.md", "ship.md"]
    docs = {d["doc_id"]: d for d in json.loads(verity(tmp_path, "docs", "--json").stdout)}
    assert docs["docs/billing.md"]["version"] == 2


def test_reindex_of_unchanged_documents_creates_nothing(tmp_path: Path, folder: Path) -> None:
    verity(tmp_path, "ingest", str(folder))
    run = verity(tmp_path, "reindex", "--all", "--json")
    result = json.loads(run.stdout)
    assert (result["unchanged"], result["versions_created"]) == (4, 0)
    assert "reindex: 4/4 documents" in run.stderr  # progress, from the job
    one = json.loads(verity(tmp_path, "reindex", "--doc", "help/billing.md", "--json").stdout)
    assert (one["documents"], one["unchanged"]) == (1, 1)
    missing = verity(tmp_path, "reindex", "--doc", "help/nope.md", check=False)
    assert missing.returncode == 2 and "no current document" in missing.stderr


def test_a_dead_letter_is_listed_and_replayed(tmp_path: Path, folder: Path) -> None:
    verity(tmp_path, "ingest", str(folder))
    catalog = Catalog(f"sqlite:///{tmp_path / 'data' / 'catalog.db'}")
    task = IngestFile(source="help", rel_path="billing.md")
    catalog.dead_letters.record("t-9", task, "retries_exhausted", "index down", 6)
    catalog.close()
    [letter] = json.loads(verity(tmp_path, "failures", "--dead", "--json").stdout)
    assert (letter["task_id"], letter["reason"]) == ("t-9", "retries_exhausted")
    replay = verity(tmp_path, "failures", "--replay", str(letter["letter_id"]), "--json")
    assert json.loads(replay.stdout)["unchanged"] == 1
    assert json.loads(verity(tmp_path, "failures", "--dead", "--json").stdout) == []
    again = verity(tmp_path, "failures", "--replay", str(letter["letter_id"]), check=False)
    assert again.returncode == 2 and "no open dead letter" in again.stderr


def test_rebuild_for_a_new_model_swaps_collections_and_search_follows(
    tmp_path: Path, folder: Path, other_model: str
) -> None:
    verity(tmp_path, "ingest", str(folder))
    query = ("search", "how long do refunds take", "--k", "1", "--json")
    before = json.loads(verity(tmp_path, *query).stdout)
    same = verity(tmp_path, "reindex", "--rebuild", "--json")
    rebuilt = json.loads(same.stdout)
    assert rebuilt["old_collection"] == before["collection"] != rebuilt["new_collection"]
    assert rebuilt["chunks_embedded"] == 0 and rebuilt["chunks_from_cache"] >= 4
    assert "rebuild: " in same.stderr and " documents" in same.stderr

    assert before["embedding_model"] == f"{DEFAULT_MODEL}#onnx-int8"  # the default runtime
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VERITY_EMBEDDING_MODEL", other_model)
        env.setenv("VERITY_EMBEDDING_BACKEND", "torch")  # a Dense module: torch runs it
        pending = json.loads(verity(tmp_path, *query).stdout)
        assert pending["embedding_model"] == before["embedding_model"], "old model until rebuilt"
        moved = json.loads(verity(tmp_path, "reindex", "--rebuild", "--json").stdout)
        after = json.loads(verity(tmp_path, *query).stdout)
    assert moved["embedding_model"] == after["embedding_model"] == other_model
    assert moved["chunks_embedded"] >= 4
    assert after["collection"] == moved["new_collection"]
    assert after["hits"][0]["text"] == "Refunds take five days."
    index = tmp_path / "data" / "index"
    assert sorted(p.name for p in index.iterdir()) == ["ACTIVE", moved["new_collection"]]
    wrong = verity(tmp_path, "reindex", "--all", "--model", other_model, check=False)
    assert wrong.returncode == 2 and "--rebuild" in wrong.stderr


def test_a_source_name_cannot_silently_switch_folders(tmp_path: Path) -> None:
    write(tmp_path / "one" / "docs" / "a.md", "# A\n\nalpha")
    write(tmp_path / "two" / "docs" / "b.md", "# B\n\nbeta")
    verity(tmp_path, "ingest", str(tmp_path / "one" / "docs"))
    clash = verity(tmp_path, "ingest", str(tmp_path / "two" / "docs"), check=False)
    assert clash.returncode == 2 and "--source" in clash.stderr
    named = json.loads(
        verity(
            tmp_path, "ingest", str(tmp_path / "two" / "docs"), "--source", "docs2", "--json"
        ).stdout
    )
    assert named["versions_created"] == 1
    docs = {d["doc_id"] for d in json.loads(verity(tmp_path, "docs", "--json").stdout)}
    assert docs == {"docs/a.md", "docs2/b.md"}


def test_bad_usage_gets_a_clear_error_and_exit_code(tmp_path: Path) -> None:
    missing = verity_process(tmp_path, "ingest", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    watch = verity(tmp_path, "watch", check=False)
    assert watch.returncode == 2 and "VERITY_WATCH_DIRS" in watch.stderr


def test_watch_ingests_on_start_follows_changes_and_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    write(root / "start.md", "# Start\n\nThere before the watcher.")
    env = {
        **os.environ,
        "VERITY_DATA_DIR": str(tmp_path / "data"),
        "VERITY_WATCH_DIRS": f"kb={root}",
        "VERITY_DEBOUNCE_S": "0.2",
        "VERITY_SETTLE_S": "0.5",
    }
    watcher = subprocess.Popen(
        [sys.executable, "-m", "verity", "watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def doc_ids() -> set[str]:
            listed = verity(tmp_path, "docs", "--json", check=False)
            if listed.returncode == 2 and "no catalog" in listed.stderr:
                return set()  # the watcher has not created it yet
            assert listed.returncode == 0, listed.stderr
            return {d["doc_id"] for d in json.loads(listed.stdout) if d["status"] == "active"}

        deadline = time.monotonic() + 120
        while "kb/start.md" not in doc_ids():
            assert time.monotonic() < deadline and watcher.poll() is None, "start not ingested"
            time.sleep(0.5)
        write(root / "later.md", "# Later\n\nDropped while watching.")
        (root / "start.md").unlink()
        deadline = time.monotonic() + 60
        while doc_ids() != {"kb/later.md"}:
            assert time.monotonic() < deadline and watcher.poll() is None, "change not seen"
            time.sleep(0.5)
    finally:
        watcher.send_signal(signal.SIGTERM)
        output, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, output
    assert "watching kb=" in output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_up_serves_answers_that_follow_an_edit_and_ask_goes_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "kb"
    write(root / "billing.md", "# Billing\n\nRefunds reach the original card within five days.")
    port = free_port()
    env = {
        **os.environ,
        "VERITY_DATA_DIR": str(tmp_path / "data"),
        "VERITY_WATCH_DIRS": f"kb={root}",
        "VERITY_DEBOUNCE_S": "0.2",
        "VERITY_SETTLE_S": "0.3",
        "VERITY_API_PORT": str(port),
    }
    env.pop("VERITY_DATABASE_URL", None)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "verity", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    question = {"question": "How long do refunds take?"}
    try:
        # ready, and the first version indexed by the watcher
        answer = wait_for_answer(base, question, lambda a: a["status"] == "answered", server)
        assert answer["citations"][0]["version"] == 1 and "five days" in answer["text"]
        write(root / "billing.md", "# Billing\n\nRefunds reach the original card within ten days.")
        answer = wait_for_answer(base, question, lambda a: cites(a, "kb/billing.md", 2), server, 60)
        assert "ten days" in answer["text"] and "five days" not in answer["text"]
        # the index belongs to the running service: `verity ask` goes through its API
        asked = subprocess.run(
            [sys.executable, "-m", "verity", "ask", "How long do refunds take?", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert asked.returncode == 0, asked.stderr
        assert json.loads(asked.stdout)["citations"][0]["version"] == 2
        # commands that would write the index name the route to use instead
        for name, value in env.items():
            if name.startswith("VERITY_"):
                monkeypatch.setenv(name, value)
        capsys.readouterr()
        assert main(["ingest", str(root)]) == 2
        refused = capsys.readouterr().err
        assert "is open in process" in refused and "POST /v1/documents" in refused
        assert main(["reindex", "--all"]) == 2
        assert "POST /admin/reindex" in capsys.readouterr().err
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert f"serving on http://127.0.0.1:{port} (chat page: http://127.0.0.1:{port}/" in output


def test_ask_prints_a_cited_answer_or_a_decline(tmp_path: Path, folder: Path) -> None:
    verity(tmp_path, "ingest", str(folder))
    answered = json.loads(verity(tmp_path, "ask", "How long do refunds take?", "--json").stdout)
    assert answered["status"] == "answered" and answered["citations"][0]["doc_id"].endswith(
        "billing.md"
    )
    text = verity(tmp_path, "ask", "How long do refunds take?").stdout
    assert "[1]" in text and "billing.md v1" in text and "answered" in text
    again = verity(
        tmp_path, "ask", "and is that always so?", "--conversation", answered["conversation_id"]
    )
    assert "(answered" in again.stdout or "(declined" in again.stdout
    empty = verity(tmp_path, "ask", "", check=False)
    assert empty.returncode == 2 and "question" in empty.stderr
    unknown = verity(tmp_path, "ask", "and then?", "--conversation", "nope", check=False)
    assert unknown.returncode == 2 and "no conversation 'nope'" in unknown.stderr
    verity(tmp_path, "ask", "Who painted the Mona Lisa?")
    audits = json.loads(verity(tmp_path, "answers", "--json").stdout)
    assert len(audits) == 4 and audits[0]["question"] == "Who painted the Mona Lisa?"
    declined = json.loads(verity(tmp_path, "answers", "--status", "declined", "--json").stdout)
    assert [a["status"] for a in declined] == ["declined"] * len(declined) and declined
    assert json.loads(verity(tmp_path, "answers", "--failures", "--json").stdout) == []


def test_replay_shows_an_answer_is_reproducible_or_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "kb"
    write(root / "billing.md", "# Billing\n\nRefunds reach the original card within five days.")
    in_process(monkeypatch, tmp_path / "data")
    assert main(["ingest", str(root), "--source", "kb"]) == 0
    capsys.readouterr()
    assert main(["ask", "How long do refunds take?", "--json"]) == 0
    answer_id = json.loads(capsys.readouterr().out)["answer_id"]
    assert main(["replay", answer_id]) == 0
    assert capsys.readouterr().out.strip().endswith("(the chunk versions it read): identical")
    write(root / "billing.md", "# Billing\n\nRefunds reach the original card within ten days.")
    assert main(["ingest", str(root), "--source", "kb"]) == 0
    capsys.readouterr()
    assert main(["replay", answer_id]) == 0  # version 1 is still in the catalog
    assert main(["replay", answer_id, "--now"]) == 1
    shown = capsys.readouterr().out
    assert "replayed against today's index:" in shown and "difference(s)" in shown
    assert "five days" in shown and "ten days" in shown
    assert 'citations: "[1] kb/billing.md v1' in shown and "kb/billing.md v2" in shown
    assert main(["replay", answer_id, "--now", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "now" and not report["identical"]
    assert main(["replay", "nope"]) == 2
    assert "no answer 'nope'" in capsys.readouterr().err


def test_read_commands_without_a_catalog_say_so_and_create_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "elsewhere" / ".verity"
    in_process(monkeypatch, data)
    for command in (
        ["docs"],
        ["failures"],
        ["failures", "--dead"],
        ["answers"],
        ["search", "refunds"],
        ["ask", "How long do refunds take?"],
        ["replay", "abc"],
        ["keys", "list"],
    ):
        assert main(command) == 2, command
        said = capsys.readouterr().err
        assert f"no catalog in {data}" in said and "verity ingest FOLDER" in said, command
    assert not data.exists()  # nothing created in the wrong place


def test_ingest_reports_progress_on_stderr(
    tmp_path: Path,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_process(monkeypatch, tmp_path / "data")
    assert main(["ingest", str(folder), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["documents"] == 5
    assert "ingest: 5/5 files" in err.splitlines()  # the broken PDF has its own line too


def test_prompts_lists_versions_and_locks_a_teams_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = json.loads(verity(tmp_path, "prompts", "--json").stdout)
    assert [p["id"] for p in shipped["prompts"]] == ["answer", "condense", "repair"]
    assert shipped["problems"] == []

    team = tmp_path / "team-prompts"
    team.mkdir()
    for name in ("answer.md", "repair.md", "condense.md", "prompts.lock.json"):
        (team / name).write_text((Path(shipped["folder"]) / name).read_text())
    answer = team / "answer.md"
    answer.write_text(answer.read_text() + "Answer in French.\n")
    monkeypatch.setenv("VERITY_PROMPTS_DIR", str(team))
    edited = verity(tmp_path, "prompts", check=False)
    assert edited.returncode == 1
    assert "answer: the text changed but the version is still 1.1.0" in edited.stdout
    refused = verity(tmp_path, "prompts", "--lock", check=False)
    assert refused.returncode == 2 and "raise the version" in refused.stderr
    answer.write_text(answer.read_text().replace("version: 1.1.0", "version: 1.2.0"))
    locked = json.loads(verity(tmp_path, "prompts", "--lock", "--json").stdout)
    assert {p["id"]: p["version"] for p in locked["prompts"]}["answer"] == "1.2.0"
    assert locked["problems"] == []
    assert json.loads((team / "prompts.lock.json").read_text())["answer"]["version"] == "1.2.0"


def test_an_unreachable_qdrant_server_is_one_clear_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("VERITY_QDRANT_URL", f"http://127.0.0.1:{port}")
    (tmp_path / "data").mkdir()
    catalog = Catalog(f"sqlite:///{tmp_path / 'data' / 'catalog.db'}")
    catalog.migrate()  # a catalog exists: the index is what cannot be reached
    catalog.close()
    # a real process: qdrant-client's version check thread fails there, as it would in use
    run = verity_process(tmp_path, "search", "refunds", check=False)
    assert run.returncode == 2
    assert "verity: the Qdrant server (VERITY_QDRANT_URL) cannot be reached" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_gated_rebuild_refuses_a_worse_model_and_passes_the_same_one(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    worse_model: str,
) -> None:
    root = tmp_path / "kb"
    write(root / "billing.md", "# Billing\n\nRefunds reach the original card within five days.")
    write(root / "login.md", "# Sign-in\n\nFive failed sign-ins lock an account for an hour.")
    gate = tmp_path / "gate.jsonl"
    rows = [
        {"question": "When will I get my money back?", "relevant_doc_ids": ["billing.md"]},
        {"question": "I typed the wrong password too often", "relevant_doc_ids": ["login.md"]},
    ]
    gate.write_text("".join(json.dumps(row) + "\n" for row in rows))
    in_process(monkeypatch, tmp_path / "data")
    assert main(["ingest", str(root), "--source", "kb"]) == 0
    capsys.readouterr()
    assert main(["search", "refunds", "--json"]) == 0
    live = json.loads(capsys.readouterr().out)["collection"]
    refused = ["reindex", "--rebuild", "--model", worse_model, "--gate", str(gate)]
    assert main(refused) == 1
    shown = capsys.readouterr()
    assert "gate: 2 questions, margin 0.01" in shown.out and "gate refused: " in shown.out
    assert f"live     {live}" in shown.out
    assert "judging both collections on 2 gate questions" in shown.err
    assert main(["search", "refunds", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["collection"] == live  # still serving
    assert main(["reindex", "--rebuild", "--gate", str(gate), "--json"]) == 0
    compared, summary = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert compared["passed"] and summary["old_collection"] == live != summary["new_collection"]
    assert main(["reindex", "--all", "--gate", str(gate)]) == 2
    assert "--gate goes with --rebuild" in capsys.readouterr().err
    assert main(["reindex", "--rebuild", "--gate", str(tmp_path / "none.jsonl")]) == 2
    assert "gate questions" in capsys.readouterr().err
