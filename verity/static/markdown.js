// A small Markdown renderer for answers and passages that never lets their HTML through:
// every piece of text is inserted as text (DOM nodes, no innerHTML); links keep only http(s),
// mailto and same-site addresses. Fenced code, inline code, bold, italic, links, lists,
// tables, paragraphs. Citation markers [n] become buttons when a handler is given.
"use strict";

const VerityMarkdown = (() => {
  const SAFE_LINK = /^(https?:|mailto:|\/(?!\/)|#)/i;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function inline(text, onMarker) {
    // code spans first (their content is literal), then markers, links, bold, italic
    const out = document.createDocumentFragment();
    const pattern = /(`+)([^`]+?)\1|\[(\d+)\](?!\()|\[([^\]]+)\]\(([^)\s]+)\)|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*/g;
    let last = 0;
    for (const m of text.matchAll(pattern)) {
      out.append(text.slice(last, m.index));
      if (m[1]) out.append(el("code", {}, m[2]));
      else if (m[3]) {
        const n = Number(m[3]);
        out.append(onMarker
          ? el("button", { class: "marker", type: "button", "data-marker": n, title: `Open source ${n}`,
              onclick: () => onMarker(n) }, `[${n}]`)
          : `[${n}]`);
      } else if (m[4]) {
        const href = m[5];
        out.append(SAFE_LINK.test(href)
          ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, m[4])
          : el("span", { class: "inert-link", title: "link removed" }, m[4]));
      } else if (m[6]) out.append(el("strong", {}, m[6]));
      else if (m[7]) out.append(el("em", {}, m[7]));
      last = m.index + m[0].length;
    }
    out.append(text.slice(last));
    return out;
  }

  function codeBlock(language, lines) {
    const code = el("code", {}, lines.join("\n"));
    if (language) code.dataset.language = language;
    const copy = el("button", { class: "copy", type: "button", title: "Copy code" }, "Copy");
    copy.addEventListener("click", () => copyText(lines.join("\n"), copy));
    return el("div", { class: "code" }, copy, el("pre", {}, code));
  }

  function table(rows, onMarker) {
    const cells = (row) => row.replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim());
    const head = cells(rows[0]);
    const body = rows.slice(2).map(cells);
    return el("div", { class: "table" }, el("table", {},
      el("thead", {}, el("tr", {}, ...head.map((c) => el("th", {}, inline(c, onMarker))))),
      el("tbody", {}, ...body.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, inline(c, onMarker))))))));
  }

  function render(text, onMarker) {
    const root = el("div", { class: "md" });
    const lines = String(text).replace(/\r\n/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      const fence = line.match(/^\s*(```|~~~)\s*([\w+-]*)/);
      if (fence) {
        const body = [];
        i += 1;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
        i += 1;
        root.append(codeBlock(fence[2], body));
      } else if (!line.trim()) {
        i += 1;
      } else if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?[\s:|-]*-{3,}/.test(lines[i + 1])) {
        const rows = [];
        while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++].trim());
        root.append(table(rows, onMarker));
      } else if (/^\s*([-*+•]|\d{1,3}[.)])\s+/.test(line)) {
        const ordered = /^\s*\d/.test(line);
        const list = el(ordered ? "ol" : "ul");
        while (i < lines.length && lines[i].trim()) {
          const item = lines[i].match(/^\s*(?:[-*+•]|\d{1,3}[.)])\s+(.*)$/);
          if (item) list.append(el("li", {}, inline(item[1], onMarker)));
          else if (list.lastChild) list.lastChild.append(" ", inline(lines[i].trim(), onMarker));
          i += 1;
        }
        root.append(list);
      } else {
        const para = [];
        while (i < lines.length && lines[i].trim() && !/^\s*(```|~~~)/.test(lines[i])
               && !/^\s*([-*+•]|\d{1,3}[.)])\s+/.test(lines[i])) para.push(lines[i++].trim());
        const heading = para.length === 1 && para[0].match(/^(#{1,6})\s+(.*)$/);
        root.append(heading ? el("h4", {}, inline(heading[2], onMarker)) : el("p", {}, inline(para.join(" "), onMarker)));
      }
    }
    return root;
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = el("textarea", {}, text);
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1200);
  }

  return { render, el, copyText };
})();
