"""A cited version as a page a browser shows: each chunk a section whose id is the anchor
citation links carry (`#chunk-<id>`), its Markdown rendered (raw HTML in it escaped)."""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from schemas.answer import VersionText

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_STYLE = """body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
section{padding:.5rem 1rem;border-left:3px solid #ddd;margin:1rem 0}
section:target{border-left-color:#c60;background:#fff6ea}
.where{color:#666;font-size:.85rem}pre{overflow-x:auto;background:#f6f6f6;padding:.5rem}
.stale{background:#fee;padding:.5rem 1rem}.flagged{border-left-color:#d97706}"""


def version_page(found: VersionText) -> str:
    """The HTML page of one version."""
    title = escape(f"{found.path} — version {found.version}")
    notice = (
        ""
        if found.current
        else f'<p class="stale">A newer version ({found.current_version}) replaced this one.</p>'
        if found.current_version
        else '<p class="stale">This document has been deleted.</p>'
    )
    flagged = {w.chunk_id for w in found.warnings}
    warnings = "".join(
        f'<p class="stale">Warning: this version holds instruction-like text ({escape(w.kind)}: '
        f'"{escape(w.phrase)}"); answers quoting it are held for review.</p>'
        for w in found.warnings
    )
    sections = "\n".join(
        f'<section id="{escape(chunk.anchor)}"'
        f'{" class=flagged" if chunk.chunk_id in flagged else ""}><div class="where">'
        f"{escape(' > '.join(chunk.heading_path))}</div>{_MARKDOWN.render(chunk.text)}</section>"
        for chunk in found.chunks
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="where">{escape(found.doc_id)} · sha256 {escape(found.sha256[:12])}</p>'
        f"{notice}{warnings}{sections}</body></html>"
    )
