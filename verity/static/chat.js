// The agents' chat page: conversations (new, listed, reopened; the open one survives a
// reload), answers rendered as Markdown with their status, citations opened beside the thread,
// feedback, copy, a source filter, a key prompt when the service needs one, and every error
// shown in the thread with a retry.
"use strict";

(() => {
  const { render, el, copyText } = VerityMarkdown;
  const { api } = VerityApi;
  const $ = (id) => document.getElementById(id);
  const thread = $("thread"), form = $("ask"), input = $("question"), send = $("send");
  const OPEN = "verity.conversation";
  const REASONS = {
    no_evidence: "no document covers it",
    weak_evidence: "the closest documents do not clearly cover it",
    unknown_name: "the documents never mention what it asks about",
    underspecified: "it needs a detail to know what it refers to",
    invalid_output: "no answer could be backed by the documents",
    index_changing: "the documents are being updated",
  };
  let conversation = localStorage.getItem(OPEN);
  let busy = false;

  function bubble(role, ...children) {
    thread.querySelector(".hint")?.remove();
    const node = el("div", { class: `turn ${role}` }, ...children);
    thread.append(node);
    node.scrollIntoView({ block: "end" });
    return node;
  }

  function status(answer) {
    if (answer.status === "answered") return el("span", { class: "badge ok" }, "Answered");
    if (answer.status === "escalated") return el("span", { class: "badge review" }, "Needs review");
    const why = REASONS[answer.decline_reason] || "declined";
    return el("span", { class: "badge declined" }, `Declined: ${why}`);
  }

  function showAnswer(answer, holder) {
    const node = holder || bubble("agent");
    node.replaceChildren();
    node.className = `turn agent ${answer.status}`;
    node.dataset.answerId = answer.answer_id;
    const byMarker = new Map(answer.citations.map((c) => [c.marker, c]));
    node.append(el("div", { class: "status" }, status(answer),
      el("span", { class: "confidence" }, `confidence ${answer.confidence.toFixed(2)}`)));
    for (const warning of answer.warnings || []) {
      node.append(el("p", { class: "warning", role: "alert" }, warning));
    }
    node.append(render(answer.text, (n) => byMarker.has(n) && openCitation(byMarker.get(n))));
    if (answer.citations.length) {
      node.append(el("ol", { class: "sources" }, ...answer.citations.map((c) => el("li", {},
        el("button", { type: "button", class: "source", onclick: () => openCitation(c) },
          `[${c.marker}] ${c.path} · v${c.version}${c.heading_path.length ? " · " + c.heading_path.at(-1) : ""}`),
        c.see_also ? el("span", { class: "see-also" }, " see also") : ""))));
    }
    if (answer.status === "declined" && answer.decline_reason !== "underspecified") {
      closest(answer, node);
    }
    node.append(actions(answer));
  }

  async function closest(answer, node) {
    try {
      const record = await api(`/v1/answers/${encodeURIComponent(answer.answer_id)}`);
      const seen = new Set();
      const docs = record.retrieved.filter((r) => !seen.has(r.doc_id) && seen.add(r.doc_id)).slice(0, 3);
      if (!docs.length) return;
      const open = (r) => openCitation({ path: r.doc_id, version: r.version,
        url: `/v1/documents/${encodeURI(r.doc_id)}/versions/${r.version}` });
      node.insertBefore(el("div", { class: "closest" }, "Closest documents: ",
        ...docs.flatMap((r, i) => [i ? ", " : "", el("button", {
          type: "button", class: "source", onclick: () => open(r) }, r.doc_id)])), node.lastChild);
    } catch { /* the decline stands on its own */ }
  }

  function actions(answer) {
    const bar = el("div", { class: "actions" });
    const copy = el("button", { type: "button", class: "copy-answer", title: "Copy answer" }, "Copy");
    copy.addEventListener("click", () => copyText(plain(answer), copy));
    bar.append(copy);
    if (answer.status === "declined") return bar;
    const up = el("button", { type: "button", class: "thumb up", title: "This answer helped" }, "Helpful");
    const down = el("button", { type: "button", class: "thumb down", title: "This answer did not help" }, "Not helpful");
    const comment = el("input", { class: "comment", placeholder: "What was wrong? (optional)", maxlength: "4000", hidden: "" });
    const note = el("span", { class: "thanks" });
    const give = async (helpful) => {
      up.disabled = down.disabled = true;
      const body = { answer_id: answer.answer_id, helpful };
      if (comment.value.trim()) body.comment = comment.value.trim();
      try {
        await api("/v1/feedback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        note.textContent = "Thanks, noted.";
        comment.hidden = true;
      } catch (error) {
        note.textContent = `Feedback not saved: ${error.message}`;
        up.disabled = down.disabled = false;
      }
    };
    up.addEventListener("click", () => give(true));
    down.addEventListener("click", () => {
      if (comment.hidden) { comment.hidden = false; comment.focus(); note.textContent = "Say what was wrong (optional), then press Not helpful again"; return; }
      give(false);
    });
    bar.append(up, down, comment, note);
    return bar;
  }

  function plain(answer) {
    const sources = answer.citations.map((c) => `[${c.marker}] ${c.path} (version ${c.version})`);
    return [answer.text, "", ...sources].join("\n").trim();
  }

  async function openCitation(citation) {
    const panel = $("panel");
    panel.hidden = false;
    $("panel-title").textContent = `${citation.path} — version ${citation.version}`;
    $("panel-meta").replaceChildren("Loading…");
    $("panel-body").replaceChildren();
    const [path, anchor] = citation.url.split("#");
    try {
      const version = await api(path);
      const when = new Date(version.created_at).toLocaleString();
      const meta = [`Version ${version.version} of ${version.doc_id}, ${when}`];
      $("panel-meta").replaceChildren(meta[0]);
      if (!version.current) {
        $("panel-meta").append(el("div", { class: "newer" }, version.current_version
          ? `A newer version (${version.current_version}) exists.` : "This document has since been deleted."));
      }
      let target = null;
      for (const chunk of version.chunks) {
        const section = el("section", { id: chunk.anchor, class: chunk.anchor === anchor ? "cited" : "" },
          el("div", { class: "where" }, chunk.heading_path.join(" › ")), render(chunk.text));
        if (chunk.anchor === anchor) target = section;
        $("panel-body").append(section);
      }
      target?.scrollIntoView({ block: "start" });
    } catch (error) {
      $("panel-meta").replaceChildren(el("span", { class: "error-text" }, error.message));
    }
  }

  async function ask(question, holder) {
    busy = true;
    send.disabled = true;
    input.readOnly = true;
    const waiting = holder || bubble("agent pending");
    waiting.className = "turn agent pending";
    waiting.replaceChildren(el("span", { class: "spinner", "aria-label": "Thinking" }), "Looking in the documents…");
    const body = { question };
    if (conversation) body.conversation_id = conversation;
    const source = $("source").value;
    if (source) body.filters = { source };
    try {
      const answer = await api("/v1/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      remember(answer.conversation_id, question);
      showAnswer(answer, waiting);
    } catch (error) {
      waiting.className = "turn agent failed";
      waiting.replaceChildren(el("span", { class: "error-text" }, `Not answered: ${error.message}`),
        el("button", { type: "button", class: "retry", onclick: () => ask(question, waiting) }, "Retry"));
    } finally {
      busy = false;
      send.disabled = false;
      input.readOnly = false;
      input.focus();
    }
  }

  function remember(id, question) {
    if (conversation !== id) {
      conversation = id;
      localStorage.setItem(OPEN, id);
      $("title").textContent = question;
    }
    loadHistory();
  }

  async function loadHistory() {
    try {
      const items = await api("/v1/conversations");
      $("history").replaceChildren(...items.map((c) => el("li", {},
        el("button", { type: "button", class: c.conversation_id === conversation ? "open" : "",
          "data-conversation": c.conversation_id, onclick: () => reopen(c.conversation_id) },
          c.title || "(untitled)"))));
    } catch { /* the list is a convenience; the thread still works */ }
  }

  async function reopen(id) {
    try {
      const view = await api(`/v1/conversations/${encodeURIComponent(id)}`);
      conversation = id;
      localStorage.setItem(OPEN, id);
      $("title").textContent = view.title;
      thread.replaceChildren();
      for (const turn of view.turns) {
        if (turn.role === "user") bubble("user", turn.text);
        else if (turn.answer) showAnswer(turn.answer);
        else bubble("agent", render(turn.text));
      }
      loadHistory();
      closeSidebar();
    } catch (error) {
      if (error.status === 404) { newChat(); return; }
      bubble("agent failed", el("span", { class: "error-text" }, `Could not open that conversation: ${error.message}`));
    }
  }

  function newChat() {
    conversation = null;
    localStorage.removeItem(OPEN);
    $("title").textContent = "New conversation";
    thread.replaceChildren(el("p", { class: "hint" }, "New conversation: earlier questions are not taken into account."));
    loadHistory();
    closeSidebar();
    input.focus();
  }

  async function loadSources() {
    try {
      const names = await api("/v1/sources");
      $("source").append(...names.map((n) => el("option", { value: n }, n)));
    } catch { /* all sources */ }
  }

  function closeSidebar() {
    document.body.classList.remove("sidebar-open");
    $("toggle-sidebar").setAttribute("aria-expanded", "false");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    bubble("user", question);
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("key-dialog").addEventListener("cancel", (event) => event.preventDefault());  // a key is needed
  $("new-chat").addEventListener("click", newChat);
  $("panel-close").addEventListener("click", () => { $("panel").hidden = true; });
  $("toggle-sidebar").addEventListener("click", () => {
    const open = document.body.classList.toggle("sidebar-open");
    $("toggle-sidebar").setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") $("panel").hidden = true;
  });

  (async () => {
    await loadSources();
    if (conversation) await reopen(conversation);
    else loadHistory();
  })();
})();
