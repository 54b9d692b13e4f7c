"""The merge pass of a whole-repo review: one model call over every part's digest.

The digests are shortened to fit the model's context (``whole_merge.fit_digests``). When
there are so many parts that each digest would be too thin to mean anything, consecutive
groups of parts are merged first and the group overviews merged again (a tree of passes, at
least two digests per group, so it always ends). Only the final pass streams to the user;
every pass is stored like a part, so a fully cached re-run costs no model call at all.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass

from repoctx.errors import ModelError
from repoctx.llm.base import Backend, Done, Event, Stats, Text
from repoctx.review.job import prompt_tokens
from repoctx.review.whole.merge import MIN_DIGEST_TOKENS, Digest, fit_digests, group_digests
from repoctx.review.whole.prompts import Spec, merge_prompt
from repoctx.review.whole.run import relay
from repoctx.review.whole.store import ResultStore

FIT_TRIES = 5


@dataclass(frozen=True, slots=True)
class MergeStarted:
    first: int  # parts covered by this pass
    last: int
    digests: int
    shortened: int  # digests cut to fit
    final: bool  # False: a group of parts merged on the way (too many for one pass)
    cached: bool


@dataclass(frozen=True, slots=True)
class MergeEvent:
    """A model event of the final merge pass (the overview, streamed)."""

    event: Event


MergeOutput = Generator[MergeStarted | MergeEvent, None, str]


class MergePass:
    def __init__(self, backend: Backend, spec: Spec, context: int, facts_markdown: str,
                 store: ResultStore) -> None:
        self.backend, self.spec, self.context, self.store = backend, spec, context, store
        self.facts = facts_markdown
        self.stats: list[Stats] = []

    def run(self, digests: Sequence[Digest], total: int) -> MergeOutput:
        """The overview text of ``digests`` (in part order) of a review in ``total`` parts."""
        room = self._room(total)
        groups = group_digests(digests, self.backend.count_tokens, room)
        if len(groups) == 1:
            return (yield from self._pass(digests, total, final=True))
        merged: list[Digest] = []
        for group in groups:
            text = yield from self._pass(group, total, final=False)
            first, last = group[0].first, group[-1].last
            merged.append(Digest(first, last, f"Parts {first}–{last} of {total} (merged)",
                                 text.strip() or "(no overview)"))
        return (yield from self.run(merged, total))

    def _room(self, total: int) -> int:
        """Tokens left for digests after the instructions, facts and the answer."""
        prompt, options, _ = merge_prompt(self.spec, self.facts, [], total)
        base = prompt_tokens(prompt, self.backend.count_tokens)
        room = self.context - options.max_tokens - base - 64
        if room < 2 * MIN_DIGEST_TOKENS and self.facts:
            self.facts = ""  # a tiny context: the parts' reviews matter more than the facts
            return self._room(total)
        return max(room, 0)

    def _pass(self, digests: Sequence[Digest], total: int, *, final: bool) -> MergeOutput:
        first, last = digests[0].first, digests[-1].last
        covered = "" if final else f"{first}–{last}"
        count, room = self.backend.count_tokens, self._room(total)
        for _ in range(FIT_TRIES):
            fitted, shortened = fit_digests(digests, count, room)
            shown = [{"title": d.title, "text": d.text} for d in fitted]
            prompt, options, key = merge_prompt(self.spec, self.facts, shown, total, covered,
                                                shortened)
            if prompt_tokens(prompt, count) <= self.context - options.max_tokens:
                break
            room = int(room * 0.85)
        else:
            raise ModelError(f"the merge pass over parts {first}–{last} does not fit the "
                             f"model's {self.context:,}-token context (try a smaller --max-tokens)")
        stored = self.store.get(key)
        yield MergeStarted(first, last, len(digests), shortened, final, stored is not None)
        if stored is not None:
            text = str(stored.get("text", ""))
            if final:
                yield MergeEvent(Text(text))
                yield MergeEvent(Done(Stats(**stored.get("stats", {}))))
            return text
        events = self.backend.stream(prompt, options)
        answer = yield from relay(events, MergeEvent if final else None)
        if answer.error is not None:
            raise answer.error
        self.stats.append(answer.stats)
        self.store.put(key, "merge", {"text": answer.text, "stats": asdict(answer.stats)})
        return answer.text
