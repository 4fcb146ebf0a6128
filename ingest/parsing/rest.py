"""reStructuredText read line by line into display blocks (Markdown), with heading paths.

unstructured's text partitioner flattens reST: code loses its lines, directives and roles stay
raw, an overlined title keeps its adornments. This reader keeps the structure an agent needs:
titles (levels in order of first appearance) become heading paths; paragraphs, list items and
definitions are rendered without markup (`rest_inline`); literal blocks (`::`), code and console
directives and doctests become fenced code; admonitions and version notes become labelled
paragraphs; object descriptions keep their signature as inline code; images their alt text;
targets, comments, toctrees and other invisible directives are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.parsing.blocks import Block
from ingest.parsing.rest_inline import render_inline

_ADORNMENT = re.compile(r"^([=\-~^*+#\"'`:._<>!$%&,;?@\\|/])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^\.\.\s+([\w:.-]+)::(?:\s+(.*))?$")
_LIST_ITEM = re.compile(r"^(?:[-*+•]|#\.|\d{1,3}[.)]|\(?[a-zA-Z0-9]\))\s+")
_SIMPLE_TABLE = re.compile(r"^=+(?:\s+=+)+\s*$")
_GRID_TABLE = re.compile(r"^\+[-=+]+\+\s*$")
_SIGNALS = re.compile(r"^\.\.\s+[\w:-]+::|:[a-z][\w-]*:`|``\S|^\.\.\s+_[^:]+:|::\s*$", re.MULTILINE)

CODE_DIRECTIVES = frozenset({"code-block", "code", "sourcecode", "console", "doctest"})
LABELS = {
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}
VERSION_NOTES = {
    "versionadded": "New in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
#: Directives with a signature (functions, classes, settings...): the signature, then the text.
DESCRIPTIONS = frozenset(
    """function method class attribute data classmethod staticmethod exception decorator
    decoratormethod templatetag templatefilter fieldlookup setting django-admin
    django-admin-option envvar option describe object""".split()  # noqa: SIM905
)
#: Directives not shown at all. Any other directive shows its body (`container`, `only`...).
HIDDEN = frozenset(
    """toctree index currentmodule module highlight contents include raw literalinclude meta
    default-role role sectnum title""".split()  # noqa: SIM905
)


def looks_like_rest(text: str) -> bool:
    """True when a plain-text document uses reST markup (directives, roles, targets, `::`)."""
    return len(_SIGNALS.findall(text)) >= 2


@dataclass
class _Item:
    """A block, or a title (`style` set) that starts a section."""

    text: str
    code: bool = False
    style: tuple[str, bool] | None = None


def rest_blocks(text: str) -> list[Block]:
    """The display blocks of a reST document, in order, each under its heading path."""
    lines = text.expandtabs(8).splitlines()
    styles: list[tuple[str, bool]] = []
    headings: list[str] = []
    blocks: list[Block] = []
    titles: list[Block] = []
    for item in _Parser(lines, top=True).items():
        if item.style is not None:
            if item.style not in styles:
                styles.append(item.style)
            titles.append(Block(item.text, tuple(headings[: styles.index(item.style)])))
            headings = [*headings[: styles.index(item.style)], item.text]
            continue
        if item.text.strip():
            blocks.append(Block(item.text, tuple(headings), None, code=item.code))
    return blocks or titles  # a document of titles only still has text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _dedent(lines: list[str]) -> list[str]:
    margin = min((_indent(line) for line in lines if line.strip()), default=0)
    return [line[margin:] for line in lines]


def _fence(lines: list[str], language: str = "") -> str:
    body = _dedent(lines)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return "\n".join([f"```{language}", *(line.rstrip() for line in body), "```"])


class _Parser:
    """One pass over `lines` (one nesting level); nested bodies get a parser of their own."""

    def __init__(self, lines: list[str], top: bool = False) -> None:
        self.lines = lines
        self.top = top
        self.at = 0
        self.out: list[_Item] = []

    def items(self) -> list[_Item]:
        handlers: list[Callable[[str], bool]] = [
            self._title,
            self._transition,
            self._explicit,
            self._table,
            self._list_item,
            self._doctest,
        ]
        while self.at < len(self.lines):
            line = self.lines[self.at]
            if not line.strip():
                self.at += 1
            elif _indent(line) > 0:
                self._nested(self._indented_region(self.at), lead="")
            elif not any(handler(line.strip()) for handler in handlers):
                self._paragraph()
        return self.out

    # -- regions ---------------------------------------------------------------------------

    def _indented_region(self, start: int) -> list[str]:
        """Lines from `start` while they are blank or indented; moves past them."""
        end = start
        while end < len(self.lines) and (
            not self.lines[end].strip() or _indent(self.lines[end]) > 0
        ):
            end += 1
        while end > start and not self.lines[end - 1].strip():
            end -= 1
        self.at = end
        return self.lines[start:end]

    def _nested(self, lines: list[str], lead: str) -> None:
        """Parse `lines` as a body; `lead` opens its first block (a label or a term)."""
        inner = _Parser(_dedent(lines)).items()
        if lead and inner and not inner[0].code:
            inner[0].text = f"{lead} {inner[0].text}"
        elif lead:
            inner.insert(0, _Item(lead.rstrip(":") if not inner else lead.rstrip()))
        self.out.extend(inner)

    # -- constructs ------------------------------------------------------------------------

    def _title(self, stripped: str) -> bool:
        if not self.top:
            return False
        lines, at = self.lines, self.at
        following = lines[at + 1].strip() if at + 1 < len(lines) else ""
        if _ADORNMENT.match(stripped) and at + 2 < len(lines):
            under = lines[at + 2].strip()
            if following and under[:1] == stripped[0] and _ADORNMENT.match(under):
                self._add_title(following, (stripped[0], True), at + 3)
                return True
        if (
            following
            and not _ADORNMENT.match(stripped)
            and _ADORNMENT.match(following)
            and len(following) >= max(2, int(len(stripped) * 0.6))
            and (at + 2 >= len(lines) or not lines[at + 2].strip())
        ):
            self._add_title(stripped, (following[0], False), at + 2)
            return True
        return False

    def _add_title(self, title: str, style: tuple[str, bool], next_line: int) -> None:
        self.out.append(_Item(render_inline(title.strip()), style=style))
        self.at = next_line

    def _transition(self, stripped: str) -> bool:
        if _ADORNMENT.match(stripped) and len(stripped) >= 4:
            self.at += 1
            return True
        return False

    def _explicit(self, stripped: str) -> bool:
        if not (stripped == ".." or stripped.startswith(".. ")):
            return False
        directive = _DIRECTIVE.match(stripped)
        self.at += 1
        region = self._indented_region(self.at)
        if directive is None:
            footnote = re.match(r"^\.\.\s+\[[^\]]+\]\s+(.*)$", stripped)
            if footnote:  # a footnote or citation: its text, without the label
                self._nested([f"   {footnote[1]}", *region], lead="")
            return True  # a comment, a target or a substitution definition: not shown
        name = directive[1].split(":")[-1]
        self._directive(name, (directive[2] or "").strip(), region)
        return True

    def _directive(self, name: str, argument: str, region: list[str]) -> None:
        head, body = _split_directive(_dedent(region))
        options = dict(_option(line) for line in head if line.startswith(":"))
        argument = " ".join([argument, *(h for h in head if not h.startswith(":"))]).strip()
        if name in CODE_DIRECTIVES:
            language = "console" if name == "console" else argument.split(" ")[0]
            if body:
                self.out.append(_Item(_fence(body, language), True))
        elif name == "parsed-literal":
            self.out.append(_Item(_fence([render_inline(line) for line in body]), True))
        elif name in LABELS or name == "admonition":
            label = LABELS.get(name) or render_inline(argument)
            text = [argument] if name in LABELS and argument else []
            self._nested([*text, "", *body] if text else body, lead=f"{label}:")
        elif name in VERSION_NOTES:
            version, _, rest = argument.partition(" ")
            lead = f"{VERSION_NOTES[name]} {version}:"
            self._nested([rest, "", *body] if rest else body, lead=lead)
        elif name in ("image", "figure"):
            alt = options.get("alt", "")
            if alt:
                self.out.append(_Item(f"[Image: {render_inline(alt)}]"))
            if name == "figure":
                self._nested(body, lead="")
        elif name in DESCRIPTIONS:
            self._nested(body, lead=f"`{argument}`:" if argument else "")
        elif name == "rubric":
            self.out.append(_Item(render_inline(argument)))
        elif name not in HIDDEN:
            self._nested(body, lead="")  # unknown or transparent: its content still reads

    def _table(self, stripped: str) -> bool:
        if _GRID_TABLE.match(stripped):
            region = self._until_blank()
            self.out.append(_Item(_fence([render_inline(line) for line in region]), True))
            return True
        if not _SIMPLE_TABLE.match(stripped):
            return False
        start, borders = self.at, 0
        while self.at < len(self.lines):
            line = self.lines[self.at].rstrip()
            self.at += 1
            if _SIMPLE_TABLE.match(line.strip()):
                borders += 1
                after = self.lines[self.at].strip() if self.at < len(self.lines) else ""
                if borders >= 2 and (not after or borders == 3):
                    break
        self.out.append(_Item(_simple_table(self.lines[start : self.at])))
        return True

    def _list_item(self, stripped: str) -> bool:
        marker = _LIST_ITEM.match(stripped)
        if marker is None:
            return False
        first = self.lines[self.at]
        width = marker.end()
        self.at += 1
        rest = self._indented_region(self.at)
        content = [" " * width + first[width:], *rest]
        bullet = "-" if not marker[0].strip()[0].isdigit() else marker[0].strip()
        before = len(self.out)
        self._nested(content, lead="")
        if len(self.out) > before and not self.out[before].code:
            self.out[before].text = f"{bullet} {self.out[before].text}"
        return True

    def _doctest(self, stripped: str) -> bool:
        if not stripped.startswith(">>>"):
            return False
        self.out.append(_Item(_fence(self._until_blank(), "pycon"), True))
        return True

    def _until_blank(self) -> list[str]:
        start = self.at
        while self.at < len(self.lines) and self.lines[self.at].strip():
            self.at += 1
        return self.lines[start : self.at]

    def _paragraph(self) -> None:
        start = self.at
        while (
            self.at < len(self.lines)
            and self.lines[self.at].strip()
            and _indent(self.lines[self.at]) == 0
            and (self.at == start or not _DIRECTIVE.match(self.lines[self.at].strip()))
        ):
            self.at += 1
        text = " ".join(line.strip() for line in self.lines[start : self.at])
        follows = self.at < len(self.lines) and _indent(self.lines[self.at]) > 0
        if follows and self.at - start == 1 and not text.endswith("::"):
            self._nested(self._indented_region(self.at), lead=f"{render_inline(text)}:")
            return  # a definition list item: the term leads its definition
        literal = text.endswith("::")
        text = re.sub(r"\s*::$", ":", text) if not text.endswith(" ::") else text[:-3].rstrip()
        if text.strip(":").strip():
            self.out.append(_Item(render_inline(text)))
        if literal:
            self._literal_block()

    def _literal_block(self) -> None:
        while self.at < len(self.lines) and not self.lines[self.at].strip():
            self.at += 1
        if self.at < len(self.lines) and _indent(self.lines[self.at]) > 0:
            self.out.append(_Item(_fence(self._indented_region(self.at)), True))


def _split_directive(region: list[str]) -> tuple[list[str], list[str]]:
    """A directive's argument continuation and options (before the first blank), and body."""
    head: list[str] = []
    for index, line in enumerate(region):
        if not line.strip():
            return head, region[index + 1 :]
        head.append(line.strip())
    if head and not any(line.startswith(":") for line in head):
        return [], region  # no blank line: the whole region is the body
    return head, []


def _option(line: str) -> tuple[str, str]:
    name, _, value = line[1:].partition(":")
    return name.strip(), value.strip()


def _simple_table(lines: list[str]) -> str:
    """A reST simple table as a Markdown table (continuation lines join their row)."""
    border = next(line for line in lines if _SIMPLE_TABLE.match(line.strip()))
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
    rows: list[list[str]] = []
    header = 0
    for line in lines:
        if _SIMPLE_TABLE.match(line.strip()):
            if rows and not header:
                header = len(rows)
            continue
        if not line.strip():
            continue
        cells = [
            line[a : (spans[i + 1][0] if i + 1 < len(spans) else None)].strip()
            for i, (a, _) in enumerate(spans)
        ]
        if rows and not cells[0]:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    rendered = [[render_inline(cell).replace("|", "\\|") for cell in row] for row in rows]
    if not rendered:
        return ""
    head = rendered[0] if header == 1 else [""] * len(spans)
    body = rendered[1:] if header == 1 else rendered
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(spans)]
    out.extend("| " + " | ".join(row) + " |" for row in body)
    return "\n".join(out)
