"""An optional generator: any OpenAI-compatible chat endpoint, asked for JSON with the prompts in
`prompts/`. Its output is never trusted: the service validates every draft, repairs a bounded
number of times, and falls back by its posture. A timeout or HTTP error is `GeneratorUnavailable`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import httpx

from answer.condense import bounded_history
from answer.prompts import Prompt
from core.errors import GeneratorUnavailable
from core.ports import Embedder
from schemas.answer import ConversationTurn, Draft
from schemas.index import SearchHit

#: A passage tag inside a passage's own text (neutralised: passages stay data).
_PASSAGE_TAG = re.compile(r"</?passage\b", re.IGNORECASE)


@dataclass
class LlmGenerator:
    """`Generator` over `POST {url}/chat/completions`, on one pooled HTTP client (opened on
    first use, kept alive between calls; `close` releases it)."""

    url: str
    model: str
    answer_prompt: Prompt
    repair_prompt: Prompt
    condense_prompt: Prompt | None = None
    timeout_s: float = 20.0
    api_key: str | None = field(default=None, repr=False)
    name: str = field(init=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = f"llm/{self.model}"  # as audit records name it

    def close(self) -> None:
        """Release the pooled connections (a later call opens a new pool)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def generate(
        self,
        query: str,
        hits: list[SearchHit],
        embedder: Embedder,
        avoid: Collection[str] = (),
    ) -> Draft:
        """Ask the model for a JSON answer over the numbered passages (it writes its own
        answer, so `avoid` is not needed: the conversation is in its prompt)."""
        return self._draft(self._messages(query, hits))

    def repair(
        self, query: str, hits: list[SearchHit], previous: Draft, problems: list[str]
    ) -> Draft:
        """Ask again, showing the model its previous reply and what was wrong with it."""
        markers = ", ".join(f"[{n}]" for n in range(1, len(hits) + 1))
        follow_up = self.repair_prompt.render(
            problem="\n".join(f"- {p}" for p in problems),
            previous=previous.raw or "",
            markers=markers,
        )
        messages = [
            *self._messages(query, hits),
            {"role": "assistant", "content": previous.raw or ""},
            {"role": "user", "content": follow_up},
        ]
        return self._draft(messages)

    def condense(self, question: str, history: list[ConversationTurn]) -> str:
        """A standalone search query for a follow-up, written by the model (one line)."""
        if self.condense_prompt is None:
            raise GeneratorUnavailable("no condense prompt configured")
        lines = "\n".join(bounded_history(history))
        content = self.condense_prompt.render(history=lines, question=question)
        reply = self._complete([{"role": "user", "content": content}], json_mode=False)
        query = next((line.strip() for line in reply.splitlines() if line.strip()), "")
        if not query or len(query) > 1000:
            raise GeneratorUnavailable(f"LLM endpoint {self.url}: no usable query in {reply!r}")
        return query

    def _messages(self, query: str, hits: list[SearchHit]) -> list[dict[str, str]]:
        passages = "\n\n".join(
            f'<passage n="{n}" title="{_attribute(_title(h))}">\n'
            f"{_body(h.payload.text)}\n</passage>"
            for n, h in enumerate(hits, start=1)
        )
        content = self.answer_prompt.render(question=query, passages=passages)
        return [{"role": "user", "content": content}]

    def _draft(self, messages: list[dict[str, str]]) -> Draft:
        raw = self._complete(messages)
        return parse_reply(raw)

    def _complete(self, messages: list[dict[str, str]], json_mode: bool = True) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        try:
            response = self._http().post("/chat/completions", json=body)
            response.raise_for_status()
            reply: Any = response.json()
            content = reply["choices"][0]["message"]["content"]
        except httpx.HTTPError as exc:
            raise GeneratorUnavailable(f"LLM endpoint {self.url}: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GeneratorUnavailable(
                f"LLM endpoint {self.url}: not a chat completion reply ({exc})"
            ) from exc
        return str(content)

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = httpx.Client(
                    base_url=self.url.rstrip("/"), headers=headers, timeout=self.timeout_s
                )
            return self._client


def parse_reply(raw: str) -> Draft:
    """The draft in a model's reply, or a draft carrying why the reply could not be read."""
    text = raw.strip()
    if text.startswith("```"):  # a fenced block, as models like to send
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Draft(status="answered", raw=raw, error=f"the reply is not JSON ({exc})")
    if not isinstance(data, dict) or data.get("status") not in ("answered", "declined"):
        return Draft(
            status="answered",
            raw=raw,
            error='the reply must be an object with "status": "answered" or "declined"',
        )
    answer = data.get("text")
    if not isinstance(answer, str):
        return Draft(status="answered", raw=raw, error='"text" must be a string')
    return Draft(status=data["status"], text=answer, raw=raw)


def _title(hit: SearchHit) -> str:
    return " > ".join(hit.payload.heading_path) or hit.payload.path


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _body(text: str) -> str:
    """Passage text as data: it cannot close its own tag or open another."""
    return _PASSAGE_TAG.sub(lambda m: "&lt;" + m.group(0)[1:], text)
