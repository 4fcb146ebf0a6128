"""The reST and Markdown readers: display blocks without markup, code kept as code, heading
paths without adornments. Checked on small documents here and on the whole sample corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer.evaluate_sessions import markup_in
from ingest.parsing.markdown import markdown_blocks
from ingest.parsing.rest import looks_like_rest, rest_blocks
from ingest.parsing.rest_inline import render_inline

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "django"

REST = """\
.. _auth:

======================================
Using the Django authentication system
======================================

.. currentmodule:: django.contrib.auth

``User`` objects
================

Create superusers using the :djadmin:`createsuperuser` command:

.. console::

    $ python manage.py createsuperuser --username=joe

Staff need :attr:`~django.contrib.auth.models.User.is_staff` set, see :doc:`the admin
</ref/contrib/admin/index>` and :ref:`auth-admin`. Read `the guide <https://example.com/g>`_.

.. note::

    Passwords are hashed [#]_; use :meth:`~User.set_password()`.

.. versionchanged:: 5.1

    Asynchronous views are supported.

.. image:: _images/login.png
   :alt: The login form

For example::

    user.save()

    user.refresh_from_db()

- first item with ``code``
- second item

Term ``A``
    The definition of A.

==========  ============
Format      Meaning
==========  ============
``json``    JSON text.
``yaml``    YAML, when PyYAML is
            installed.
==========  ============
"""


def test_rest_renders_roles_literals_and_directives_without_markup() -> None:
    blocks = rest_blocks(REST)
    texts = [b.text for b in blocks]
    assert texts[0] == "Create superusers using the `createsuperuser` command:"
    assert texts[1] == "```console\n$ python manage.py createsuperuser --username=joe\n```"
    assert texts[2] == (
        "Staff need `is_staff` set, see the admin and auth admin. "
        "Read [the guide](https://example.com/g)."
    )
    assert texts[3] == "Note: Passwords are hashed; use `set_password()`."
    assert texts[4] == "Changed in version 5.1: Asynchronous views are supported."
    assert texts[5] == "[Image: The login form]"
    assert texts[6:8] == ["For example:", "```\nuser.save()\n\nuser.refresh_from_db()\n```"]
    assert texts[8:10] == ["- first item with `code`", "- second item"]
    assert texts[10] == "Term `A`: The definition of A."
    assert texts[11].splitlines()[:3] == [
        "| Format | Meaning |",
        "|---|---|",
        "| `json` | JSON text. |",
    ]
    assert "| `yaml` | YAML, when PyYAML is installed. |" in texts[11]
    assert [b.code for b in blocks][:3] == [False, True, False]
    assert not [m for b in blocks if not b.code for m in markup_in(b.text)]


def test_rest_titles_become_heading_paths_without_adornments() -> None:
    blocks = rest_blocks(REST)
    assert blocks[0].heading_path == ("Using the Django authentication system", "`User` objects")
    assert all("==" not in h for b in blocks for h in b.heading_path)


def test_a_title_only_document_still_has_text() -> None:
    assert [b.text for b in rest_blocks("Title\n=====\n\nSub\n---\n")] == ["Title", "Sub"]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (":setting:`STATIC_ROOT`", "`STATIC_ROOT`"),
        (":class:`~django.db.models.Q`", "`Q`"),
        (":option:`--username <createsuperuser --username>`", "`--username`"),
        (":pep:`8` and :rfc:`7231`", "PEP 8 and RFC 7231"),
        (":doc:`/topics/auth/customizing`", "customizing"),
        ("see JSON_ and `PyYAML`_", "see JSON and PyYAML"),
        ("plain *emphasis* stays", "plain *emphasis* stays"),
    ],
)
def test_inline_markup_is_shown_as_sphinx_shows_it(source: str, shown: str) -> None:
    assert render_inline(source) == shown


def test_plain_text_without_rest_markup_is_left_to_unstructured() -> None:
    assert not looks_like_rest("Block a number\nTap Details > Block.\nTIP  Use Settings.")
    assert looks_like_rest(REST)


def test_the_sample_corpus_reads_without_markup() -> None:
    found = []
    for path in sorted(CORPUS.rglob("*.txt")):
        for block in rest_blocks(path.read_text(encoding="utf-8")):
            texts = [*block.heading_path] + ([] if block.code else [block.text])
            found.extend((path.name, m) for t in texts for m in markup_in(t))
    assert len(found) <= 2, found[:10]  # a literal glued to quotes: '``x``' in files.txt


MARKDOWN = """\
---
title: Install
---
# Install

Run this command:

```sh
pip install verity
verity up --port 8000
```

Then open `http://localhost:8000` and read [the docs](https://example.com).

- item one with `code`
- item two
  continued

## Limits

| size | limit |
|---|---|
| file | 2 GB |

    indented code

<!-- a comment -->
"""


def test_markdown_stays_markdown_with_code_fenced() -> None:
    blocks = markdown_blocks(MARKDOWN)
    assert [b.text for b in blocks] == [
        "Run this command:",
        "```sh\npip install verity\nverity up --port 8000\n```",
        "Then open `http://localhost:8000` and read [the docs](https://example.com).",
        "- item one with `code`",
        "- item two\n  continued",
        "| size | limit |\n|---|---|\n| file | 2 GB |",
        "```\nindented code\n```",
    ]
    assert [b.code for b in blocks] == [False, True, False, False, False, False, True]
    assert blocks[0].heading_path == ("Install",)
    assert blocks[-1].heading_path == ("Install", "Limits")
