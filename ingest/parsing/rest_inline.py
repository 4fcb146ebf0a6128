"""reStructuredText inline markup rendered as Markdown, the display form every chunk keeps.

Roles become their text as Sphinx would show it (`:attr:`~a.b.is_staff`` → `is_staff`),
code-like roles and ``literals`` become inline code, references become their titles (or a
Markdown link when they carry a URL), and footnote references are dropped (a `[1]` would
read as a citation marker).
"""

from __future__ import annotations

import re

#: Roles whose text is code (shown as inline code); every other role is shown as plain text.
CODE_ROLES = frozenset(
    """setting djadmin djadminopt option class func meth attr mod data exc obj ttag tfilter
    lookup fieldlookup envvar program file samp command code kbd mimetype source const var
    makevar regexp token member macro type function method attribute module exception""".split()  # noqa: SIM905
)
_ROLE = re.compile(r":(?:[\w-]+:)?([\w-]+):`((?:[^`\\]|\\.)+?)`")
_LITERAL = re.compile(r"``(.+?)``")
_LINK = re.compile(r"`([^`<]*?)\s*<([^>`]+)>`__?")
_NAMED_REFERENCE = re.compile(r"`([^`]+)`__?(?!\w)")
_WORD_REFERENCE = re.compile(r"(?<![\w`/.-])([A-Za-z][\w.-]*[A-Za-z0-9])__?(?=[\s.,;:)!?'\"]|$)")
_FOOTNOTE = re.compile(r"\s?\[(?:#?[\w-]*|\d+)\]_")
_SUBSTITUTION = re.compile(r"\|([\w .-]+)\|(?:__?)?")
_TITLE_TARGET = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.DOTALL)
_ESCAPED_SPACE = re.compile(r"\\ ")


def render_inline(text: str) -> str:
    """`text` with its reST inline markup rendered as Markdown (or plain text)."""
    text = _ESCAPED_SPACE.sub("", text)
    text = _ROLE.sub(_role, text)
    text = _LITERAL.sub(lambda m: _code(m[1]), text)
    text = _LINK.sub(_link, text)
    text = _NAMED_REFERENCE.sub(lambda m: m[1], text)
    text = _FOOTNOTE.sub("", text)
    text = _SUBSTITUTION.sub(lambda m: m[1], text)
    return _WORD_REFERENCE.sub(lambda m: m[1], text)


def _role(match: re.Match[str]) -> str:
    name, content = match[1], match[2].replace("\\", "")
    titled = _TITLE_TARGET.match(content)
    if titled and titled[1]:
        shown = titled[1]
    else:
        target = titled[2] if titled else content
        shown = _target_text(name, target)
    return _code(shown) if name in CODE_ROLES else _text_role(name, shown)


def _target_text(role: str, target: str) -> str:
    """What Sphinx shows for a role without an explicit title."""
    target = target.lstrip("!")
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    if role == "doc":
        return target.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    if role in ("ref", "term"):
        return target.replace("-", " ").replace("_", " ") if role == "ref" else target
    return target.lstrip(".")


def _text_role(role: str, shown: str) -> str:
    if role == "pep":
        return f"PEP {shown}"
    if role == "rfc":
        return f"RFC {shown}"
    if role == "ticket":
        return f"ticket #{shown}"
    if role == "strong":
        return f"**{shown}**"
    if role == "emphasis":
        return f"*{shown}*"
    return shown


def _code(text: str) -> str:
    return text if "`" in text else f"`{text}`"


def _link(match: re.Match[str]) -> str:
    title, target = match[1].strip(), match[2].strip()
    if "://" in target or target.startswith("mailto:"):
        return f"[{title or target}]({target})"
    return title or target
