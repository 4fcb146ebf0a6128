// The admins' console: documents and their versions (a diff between any two), failures (dead
// letters replayed from here), escalated answers (approved or corrected into resolutions),
// resolutions (approved again once stale), feedback, jobs with live progress, and health.
// Everything goes through the same JSON routes as the CLI; nothing is rendered as HTML from data.
"use strict";

(() => {
  const { render, el } = VerityMarkdown;
  const { api, post } = VerityApi;
  const $ = (id) => document.getElementById(id);
  const view = $("view");
  const TABS = { documents, failures, escalations, resolutions, feedback, jobs, health };

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const badge = (text, kind = "") => el("span", { class: `badge ${kind}` }, text);

  function table(columns, rows, onPick) {
    const head = el("tr", {}, ...columns.map((c) => el("th", {}, c)));
    const body = rows.map((cells, i) => {
      const row = el("tr", onPick ? { class: "pick", tabindex: "0" } : {},
        ...cells.map((c) => el("td", {}, c ?? "")));
      if (onPick) {
        row.addEventListener("click", () => onPick(i));
        row.addEventListener("keydown", (e) => { if (e.key === "Enter") onPick(i); });
      }
      return row;
    });
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
  }

  function show(...nodes) {
    view.replaceChildren(...nodes);
  }

  function failed(error) {
    return el("p", { class: "error-text", role: "alert" }, error.message);
  }

  // --- documents and versions -------------------------------------------------------------
  async function documents() {
    const docs = await api("/admin/documents");
    const sources = [...new Set(docs.map((d) => d.source))].sort();
    const only = el("select", { id: "doc-source", "aria-label": "source" },
      el("option", { value: "" }, "All sources"), ...sources.map((name) => el("option", { value: name }, name)));
    const detail = el("div", { id: "document" });
    const listing = el("div");
    const fill = () => {
      const shown = docs.filter((d) => !only.value || d.source === only.value);
      listing.replaceChildren(table(["source", "document", "status", "current", "chunks", "versions"],
        shown.map((d) => [
          d.source, d.rel_path, badge(d.status, d.status === "active" ? "ok" : "warn"),
          d.current_version == null ? "—" : `v${d.current_version}`, String(d.chunk_count ?? ""),
          d.versions.map((v) => `v${v}`).join(" "),
        ]), (i) => openDocument(shown[i], detail)));
    };
    only.addEventListener("change", fill);
    fill();
    show(el("h2", {}, `Documents (${docs.length})`), el("p", {}, only), listing, detail);
  }

  async function openDocument(doc, into) {
    const pick = (id, chosen) => el("select", { id, "aria-label": id },
      ...doc.versions.map((v) => {
        const option = el("option", { value: String(v) }, `v${v}`);
        if (v === chosen) option.selected = true;
        return option;
      }));
    const last = doc.versions[doc.versions.length - 1];
    const from = pick("from", doc.versions.length > 1 ? doc.versions[doc.versions.length - 2] : last);
    const to = pick("to", last);
    const out = el("div");
    const compare = el("button", { type: "button", class: "primary" }, "Compare");
    compare.addEventListener("click", async () => {
      out.replaceChildren(el("p", { class: "hint" }, "Loading…"));
      try {
        const path = (n) => `/admin/documents/${encodeURI(doc.doc_id)}/versions/${n}`;
        const [a, b] = await Promise.all([api(path(from.value)), api(path(to.value))]);
        const warnings = (b.warnings || []).map((w) => el("p", {}, badge("warning", "warn"), ` ${w.kind}: ${w.phrase}`));
        out.replaceChildren(...warnings, diffOf(a.text, b.text));
      } catch (error) {
        out.replaceChildren(failed(error));
      }
    });
    into.replaceChildren(el("div", { class: "card" },
      el("h2", {}, doc.doc_id),
      el("p", { class: "muted" }, `${doc.source} · ${doc.rel_path} · ${doc.status}`),
      el("div", { class: "actions" }, "From ", from, " to ", to, compare), out));
    compare.click();
  }

  function diffOf(before, after) {
    const a = before.split("\n"), b = after.split("\n");
    const box = el("div", { class: "diff", id: "diff" });
    if (a.length * b.length > 4_000_000) {
      box.append(el("span", { class: "same" }, "Too long to compare here; use the CLI."));
      return box;
    }
    const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
    for (let i = a.length - 1; i >= 0; i--)
      for (let j = b.length - 1; j >= 0; j--)
        lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    let i = 0, j = 0;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i] === b[j]) { box.append(el("span", { class: "same" }, `  ${a[i]}`)); i++; j++; }
      else if (j < b.length && (i === a.length || lcs[i][j + 1] >= lcs[i + 1][j])) { box.append(el("span", { class: "add" }, `+ ${b[j++]}`)); }
      else { box.append(el("span", { class: "del" }, `- ${a[i++]}`)); }
    }
    return box;
  }

  // --- failures ----------------------------------------------------------------------------
  async function failures() {
    const found = await api("/admin/failures");
    const letters = found.dead_letters.map((d) => {
      const replay = el("button", { type: "button" }, "Replay");
      replay.addEventListener("click", async () => {
        replay.disabled = true;
        try {
          await post(`/admin/dead-letters/${d.letter_id}/replay`);
          replay.replaceWith(badge("replayed", "ok"));
        } catch (error) {
          replay.replaceWith(failed(error));
        }
      });
      return [String(d.letter_id), d.reason, d.message, String(d.attempts), replay];
    });
    show(
      el("h2", {}, `Files not ingested (${found.ingest.length})`),
      table(["document", "reason", "what happened", "attempts", "since"], found.ingest.map((f) => [
        f.doc_id, badge(f.reason, "bad"), f.message, String(f.attempts), when(f.first_seen),
      ])),
      el("p", { class: "hint" }, "Fix or replace the file in its folder: it is tried again as soon as it changes."),
      el("h2", {}, `Dead letters (${letters.length})`),
      table(["letter", "reason", "message", "attempts", ""], letters),
      el("h2", {}, `Answers the trust layer refused (${found.answers.length})`),
      table(["answer", "reason", "question", "outcome"], found.answers.map((a) => [
        a.answer_id, a.reason, a.question, a.outcome,
      ])));
  }

  // --- escalations and resolutions -----------------------------------------------------------
  async function escalations() {
    const records = await api("/admin/escalations");
    const cards = records.map((record) => escalationCard(record));
    show(el("h2", {}, `Escalated answers (${records.length})`),
      ...(cards.length ? cards : [el("p", { class: "hint" }, "Nothing waits for review.")]));
  }

  function escalationCard(record) {
    const answer = record.answer;
    const evidence = el("ol", {}, ...answer.citations.map((c) =>
      el("li", {}, `${c.doc_id} v${c.version}: `, el("span", { class: "muted" }, c.snippet))));
    const correction = el("textarea", { "aria-label": "Corrected answer" });
    correction.value = answer.text;
    correction.hidden = true;
    const note = el("p", { class: "muted" });
    const approve = el("button", { type: "button", class: "primary" }, "Approve");
    const correct = el("button", { type: "button" }, "Correct…");
    const resolveWith = async (text) => {
      approve.disabled = correct.disabled = true;
      try {
        const made = await post("/admin/resolutions", text ? { answer_id: answer.answer_id, text } : { answer_id: answer.answer_id });
        note.replaceChildren(badge("resolution", "ok"), ` ${made.resolution_id}: served to matching questions from now on`);
      } catch (error) {
        note.replaceChildren(failed(error));
        approve.disabled = correct.disabled = false;
      }
    };
    approve.addEventListener("click", () => resolveWith(correction.hidden ? null : correction.value));
    correct.addEventListener("click", () => { correction.hidden = false; correction.focus(); });
    return el("div", { class: "card escalation" },
      el("p", {}, el("strong", {}, record.question), " ", el("span", { class: "muted" }, when(record.created_at))),
      render(answer.text), ...answer.warnings.map((w) => el("p", {}, badge("warning", "warn"), ` ${w}`)),
      el("p", { class: "muted" }, `confidence ${answer.confidence.toFixed(2)} · evidence:`), evidence,
      correction, el("div", { class: "actions" }, approve, correct), note);
  }

  async function resolutions() {
    const found = await api("/admin/resolutions");
    const rows = found.map((r) => {
      const actions = el("span", { class: "actions" });
      if (r.status === "stale") {
        const again = el("button", { type: "button", class: "primary" }, "Approve again");
        again.addEventListener("click", async () => {
          again.disabled = true;
          try {
            await post(`/admin/resolutions/${r.resolution_id}/approve`);
            resolutions();
          } catch (error) {
            actions.replaceChildren(failed(error));
          }
        });
        actions.append(again);
      }
      return [r.questions[0], badge(r.status, r.status === "active" ? "ok" : "warn"),
        r.stale_reason || "", r.citations.map((c) => `${c.doc_id} v${c.version}`).join(", "), actions];
    });
    show(el("h2", {}, `Resolutions (${found.length})`),
      table(["question", "status", "why stale", "cites", ""], rows));
  }

  async function feedback() {
    const entries = await api("/admin/feedback");
    show(el("h2", {}, `Feedback (${entries.length})`),
      table(["question", "answer", "helpful", "comment", "when"], entries.map((f) => [
        f.question, `${f.answer_id} (${f.status})`, badge(f.helpful ? "helpful" : "not helpful", f.helpful ? "ok" : "bad"), f.comment || "", when(f.created_at),
      ])));
  }

  // --- jobs and health --------------------------------------------------------------------
  async function jobs() {
    const start = el("button", { type: "button", class: "primary" }, "Re-parse every document");
    const state = el("div", { id: "job" });
    start.addEventListener("click", async () => {
      start.disabled = true;
      try {
        const job = await post("/admin/reindex", { all: true });
        await follow(job.job_id, state);
      } catch (error) {
        state.replaceChildren(failed(error));
      }
      start.disabled = false;
    });
    show(el("h2", {}, "Jobs"), el("p", { class: "hint" }, "A reindex re-parses every document even if unchanged; progress updates live."), start, state);
  }

  async function follow(jobId, into) {
    for (;;) {
      const job = await api(`/admin/jobs/${jobId}`);
      const bar = el("progress", { max: String(Math.max(job.total, 1)), value: String(job.done) });
      into.replaceChildren(el("p", {}, bar, ` ${job.done}/${job.total} · `, badge(job.status, job.status === "done" ? "ok" : job.status === "failed" ? "bad" : ""), ` ${job.stage}`),
        ...job.errors.map((e) => el("p", { class: "error-text" }, `${e.item}: ${e.error}`)));
      if (!["queued", "running"].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async function health() {
    const response = await fetch("/readyz", { headers: { Accept: "application/json" } });
    const ready = await response.json().catch(() => ({}));
    const rows = Object.entries(ready).map(([name, value]) => [name, typeof value === "object" ? JSON.stringify(value) : String(value)]);
    const metrics = await fetch("/metrics").then((r) => r.text()).catch(() => "");
    show(el("h2", {}, "Health"), el("p", {}, badge(response.ok ? "ready" : "not ready", response.ok ? "ok" : "bad")),
      table(["", ""], rows),
      el("h2", {}, "Index lag, queue and drift"),
      table(["figure", "value"], watched(metrics)),
      el("p", { class: "hint" }, "From /metrics (Prometheus): index lag is seconds from a file's change to its being searchable; drift is the PSI of answer signals against their baseline (alert above VERITY_DRIFT_PSI_ALERT)."));
  }

  // The figures an admin watches, read from the Prometheus text: index lag (count and mean),
  // queue depth, and each drift PSI.
  function watched(text) {
    const value = (name) => {
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line ? Number(line.split(" ").pop()) : null;
    };
    const rows = [];
    const count = value("verity_index_lag_seconds_count"), sum = value("verity_index_lag_seconds_sum");
    rows.push(["index lag", count ? `${count} changes, mean ${(sum / count).toFixed(2)} s` : "no change indexed yet"]);
    const depth = value("verity_queue_depth");
    if (depth !== null) rows.push(["queue depth", String(depth)]);
    for (const line of text.split("\n").filter((l) => l.startsWith("verity_drift_psi{"))) {
      const [labels, psi] = [line.slice(line.indexOf("{") + 1, line.indexOf("}")), line.split(" ").pop()];
      rows.push([`drift ${labels}`, Number(psi).toFixed(3)]);
    }
    return rows;
  }

  // --- owners: their documents, and an upload followed to its outcome -------------------------
  const STATES = { active: "ok", queued: "", deleted: "", failed: "bad" };

  async function ownDocuments(me) {
    const listed = await api("/v1/documents");
    const sources = me.sources.length ? me.sources : [...new Set(listed.map((d) => d.source))];
    const source = el("select", { id: "upload-source", "aria-label": "source" },
      ...sources.map((name) => el("option", { value: name }, name)));
    const path = el("input", { id: "upload-path", "aria-label": "path in the source", placeholder: "folder/page.md" });
    const file = el("input", { id: "upload-file", type: "file", "aria-label": "file" });
    const send = el("button", { type: "submit", class: "primary" }, "Upload");
    const outcome = el("div", { id: "upload-outcome" });
    const form = el("form", { class: "actions", id: "upload" }, source, path, file, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = file.files[0];
      if (!chosen) return;
      send.disabled = true;
      try {
        const bytes = new Uint8Array(await chosen.arrayBuffer());
        let binary = "";
        for (const byte of bytes) binary += String.fromCharCode(byte);
        const accepted = await post("/v1/documents", {
          source: source.value, path: path.value || chosen.name, content_base64: btoa(binary),
        });
        outcome.replaceChildren(el("p", {}, `${accepted.doc_id}: `, badge("queued")));
        for (let tries = 0; tries < 120; tries++) {
          const [state] = await api(accepted.status_url);
          if (state && state.state !== "queued") {
            outcome.replaceChildren(el("p", {}, `${accepted.doc_id}: `, badge(state.state, STATES[state.state]),
              state.failure ? ` ${state.failure.reason}: ${state.failure.message}` : ` version ${state.current_version}`));
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        ownDocuments(me);
      } catch (error) {
        outcome.replaceChildren(failed(error));
      }
      send.disabled = false;
    });
    const rows = listed.map((d) => [
      d.doc_id, badge(d.state, STATES[d.state]), d.current_version == null ? "—" : `v${d.current_version}`,
      d.failure ? `${d.failure.reason}: ${d.failure.message}` : "",
      d.warnings.map((w) => `${w.kind}: ${w.phrase}`).join("; "),
    ]);
    const keep = $("upload-outcome");
    show(el("h2", {}, "Add or replace a document"), form, keep || outcome,
      el("h2", {}, `Your documents (${listed.length})`),
      table(["document", "state", "current", "failure", "warnings"], rows));
  }

  // --- start --------------------------------------------------------------------------------
  async function open(tab) {
    for (const button of document.querySelectorAll("#tabs button"))
      button.setAttribute("aria-current", button.dataset.tab === tab ? "page" : "false");
    history.replaceState(null, "", `#${tab}`);
    show(el("p", { class: "hint" }, "Loading…"));
    try {
      await TABS[tab]();
    } catch (error) {
      show(failed(error));
    }
  }

  async function start() {
    let me;
    try {
      me = await api("/v1/me");
    } catch (error) {
      show(failed(error));
      return;
    }
    $("who").textContent = `${me.name} (${me.role}${me.sources.length ? `: ${me.sources.join(", ")}` : ""})`;
    if (me.role === "owner") {
      ownDocuments(me);
      return;
    }
    if (me.role !== "admin") {
      show(el("p", { id: "not-admin" }, `This console needs an admin or owner key; this one is an ${me.role} key. `,
        "Agents ask questions on the chat page."));
      return;
    }
    $("tabs").hidden = false;
    for (const button of document.querySelectorAll("#tabs button"))
      button.addEventListener("click", () => open(button.dataset.tab));
    const wanted = location.hash.slice(1);
    open(wanted in TABS ? wanted : "documents");
  }

  start();
})();
