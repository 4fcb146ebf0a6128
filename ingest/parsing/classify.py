"""Cheap element classification for plain text, Markdown and HTML (an adapter on unstructured).

unstructured tells narrative text from titles in these formats with spaCy (sentence counts,
part-of-speech tags): ~95 % of their parse time. Nothing downstream reads that call here:
plain-text structure comes from reST adornments and Markdown/HTML headings from their tags,
so only list items, addresses and e-mails (all regular expressions) are kept. PDFs keep
unstructured's full classifier: their titles do become heading paths.
"""

from __future__ import annotations

import contextlib
import importlib
from functools import cache
from typing import Any


@cache
def use_cheap_classification() -> None:
    """Swap unstructured's prose classifiers for text and HTML for rule-only ones (once)."""
    from unstructured.cleaners.core import clean_bullets
    from unstructured.documents.elements import (
        Address,
        EmailAddress,
        ListItem,
        NarrativeText,
        Text,
    )
    from unstructured.partition import text as text_partition

    pdf: Any = None
    with contextlib.suppress(ImportError):  # without the `pdf` extra there are no PDFs
        # imported before the patch below, so PDFs keep the full classifier
        pdf = importlib.import_module("unstructured.partition.pdf")
    from unstructured.partition.html import parser as html_parser
    from unstructured.partition.text_type import (
        is_bulleted_text,
        is_email_address,
        is_possible_numbered_list,
        is_us_city_state_zip,
    )

    def element_type(text: str) -> type[Text] | None:
        if is_bulleted_text(text):
            return ListItem
        if is_us_city_state_zip(text):
            return Address
        if is_email_address(text):
            return EmailAddress
        return NarrativeText if len(text) >= 2 else None

    def element_from_text(text: str, coordinates: Any = None, coordinate_system: Any = None) -> Any:
        if is_bulleted_text(text):
            return ListItem(text=clean_bullets(text))
        if is_possible_numbered_list(text):
            return ListItem(text=text)
        return (element_type(text) or Text)(text=text)

    html_parser.derive_element_type_from_text = element_type
    text_partition.element_from_text = element_from_text
    # PDFs keep the full classifier: their module bound the original name when imported
    assert pdf is None or pdf.element_from_text is not element_from_text
