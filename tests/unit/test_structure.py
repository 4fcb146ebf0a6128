"""Elements become blocks with heading paths: Markdown-style depths and reST adornments."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.parsing.structure import to_blocks


@dataclass
class Meta:
    category_depth: int | None = None
    page_number: int | None = None


@dataclass
class Element:
    category: str
    text: str
    metadata: Meta = field(default_factory=Meta)


def test_depths_build_the_heading_path() -> None:
    elements = [
        Element("Title", "Billing", Meta(0)),
        Element("NarrativeText", "Intro."),
        Element("Title", "Refunds", Meta(1)),
        Element("ListItem", "five days"),
        Element("Title", "Accounts", Meta(0)),
        Element("NarrativeText", "Login.", Meta(None, 2)),
    ]
    blocks = to_blocks(elements, plain_text=False)
    assert [(b.heading_path, b.text, b.page) for b in blocks] == [
        (("Billing",), "Intro.", None),
        (("Billing", "Refunds"), "- five days", None),
        (("Accounts",), "Login.", 2),
    ]


def test_headers_footers_and_page_breaks_are_dropped() -> None:
    elements = [
        Element("Header", "ACME confidential"),
        Element("NarrativeText", "Body."),
        Element("PageBreak", ""),
        Element("Footer", "page 1"),
    ]
    assert [b.text for b in to_blocks(elements, plain_text=False)] == ["Body."]


def test_rest_adornments_give_levels_in_order_of_appearance() -> None:
    elements = [
        Element("UncategorizedText", "====="),
        Element("Title", "FAQ"),
        Element("UncategorizedText", "====="),
        Element("NarrativeText", "Intro."),
        Element("UncategorizedText", "How do I log in? ================"),
        Element("NarrativeText", "Use the form."),
        Element("Title", "Details"),
        Element("UncategorizedText", "-------"),
        Element("NarrativeText", "More."),
        Element("UncategorizedText", "Another question ================"),
        Element("NarrativeText", "Answer."),
    ]
    blocks = to_blocks(elements, plain_text=True)
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("FAQ",), "Intro."),
        (("FAQ", "How do I log in?"), "Use the form."),
        (("FAQ", "How do I log in?", "Details"), "More."),
        (("FAQ", "Another question"), "Answer."),
    ]


def test_plain_text_opening_with_one_short_line_takes_it_as_the_title() -> None:
    elements = [
        Element("Title", "Block a number"),
        Element("NarrativeText", "Block a number\nCalls from it go to voicemail."),
        Element("UncategorizedText", "Settings ========"),
        Element("NarrativeText", "Open Phone settings."),
    ]
    blocks = to_blocks(elements, plain_text=True)
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("Block a number",), "Block a number\nCalls from it go to voicemail."),
        (("Block a number", "Settings"), "Open Phone settings."),
    ]


def test_plain_text_opening_with_a_sentence_or_alone_has_no_title() -> None:
    sentence = [Element("Title", "Read this first."), Element("NarrativeText", "A paragraph.")]
    assert [b.heading_path for b in to_blocks(sentence, plain_text=True)] == [(), ()]
    long_line = " ".join(["word"] * 13)
    wordy = [Element("Title", long_line), Element("NarrativeText", "A paragraph.")]
    assert [b.heading_path for b in to_blocks(wordy, plain_text=True)] == [(), ()]
    alone = [Element("Title", "Short line")]
    assert [(b.heading_path, b.text) for b in to_blocks(alone, plain_text=True)] == [
        ((), "Short line")
    ]
