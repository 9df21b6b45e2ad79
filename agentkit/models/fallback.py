"""`FallbackModel`: models tried in order; when one fails in a way the next may not, the next one answers.

```
request ─> model 1 ─ unavailable, 5xx, 408/409/429 (after the SDK's retries), timeout, lost connection,
              │      an error in a 200 body or in a stream before its first event ─> model 2 ─> ... ─> raise
              └───── 400, 401, 402, 403 (and other 4xx): raised at once: the request, the key, the credits or
                     the input are the user's to fix, and another model would not fix them
```

Each model of the chain has a small circuit breaker: after `failure_threshold` failures in a row it is
skipped for `cooldown` seconds (doubled each time it opens again, up to `max_cooldown`), then tried again
(half-open, by one request at a time): an answer closes the breaker, a failure opens it again. `status()` shows every breaker; opening
and closing are logged once each on the `agentkit` logger. A stream that has yielded events is never
continued by another model: its error is raised, so two models' text never mix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn

from ..exceptions import ModelAPIError, ModelUnavailableError, UserError
from . import Model, ModelRequestParameters, infer_model
from .profiles import ModelProfile

if TYPE_CHECKING:
    from ..events import ModelStreamEvent
    from ..messages import AssistantMessage, Message
    from ..settings import ModelSettings

__all__ = ["FallbackModel", "ModelStatus", "falls_back"]

logger = logging.getLogger("agentkit")

_TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


def falls_back(error: ModelAPIError) -> bool:
    """Whether another model may succeed where the one that raised `error` failed.

    Yes for a model that is unavailable, a 5xx, 408, 409, 425 or 429 status (after the SDK's own retries),
    a timeout or lost connection (no status), and an error inside a 200 body or a stream. No for 400, 401,
    402, 403 and the other 4xx: the request, the key, the credits or the input need fixing.
    """
    if isinstance(error, ModelUnavailableError):
        return True
    status = error.status_code
    return status is None or status < 400 or status >= 500 or status in _TRANSIENT_STATUSES


@dataclass(kw_only=True, frozen=True)
class ModelStatus:
    """The circuit breaker of one model of a `FallbackModel`, as `FallbackModel.status()` reports it."""

    model_name: str
    state: Literal["closed", "open", "half-open"]
    """`closed`: tried in turn; `open`: skipped until `open_until`; `half-open`: tried again after a pause."""
    failures: int
    """Failures in a row (errors that fall back; a user's error such as a 401 does not count)."""
    open_until: float | None
    """While open or half-open: the clock time (`time.monotonic` unless a clock was given) the pause ends."""
    last_error: str | None
    """The first line of the latest failure's message, while failures are counted."""


@dataclass(kw_only=True)
class _Breaker:
    failures: int = 0
    open_until: float | None = None
    openings: int = 0
    """Openings since the model last answered: each doubles the pause."""
    last_error: ModelAPIError | None = None
    trial: bool = False
    """A request is trying the model after its pause (half-open): others skip it meanwhile."""

    def claim(self) -> bool:
        """Whether this request may try the model: yes when closed, or half-open with no trial in flight."""
        if self.open_until is None:
            return True
        if self.trial:
            return False
        self.trial = True
        return True


class FallbackModel(Model):
    """`model`, then each of `fallback_models` in order, for every request (`Agent(fallback_models=[...])`
    builds one).

    Models are `Model`s or model ids. `model_name` and `profile` are the first model's until another
    answers, then those of the model that answered last; each `AssistantMessage.model_name` is the model
    the provider says answered, so a transcript shows every fallback. An `OpenAIChatModel` in the chain
    does not switch to a retired model's successor on its own (unless created with `follow_successors=True`):
    the chain's next model is tried instead.

    When every model fails, the last error is raised, its message listing the earlier ones; when every
    model is paused by its breaker, a `ModelAPIError` says so at once.

    Args:
        model: The model tried first.
        *fallback_models: The models tried next, in order.
        failure_threshold: Failures in a row after which a model is skipped for a while.
        cooldown: Seconds a model is first skipped; doubled each time it fails again after the pause.
        max_cooldown: The longest pause, in seconds.
        clock: Seconds from a monotonic clock (`time.monotonic`); tests pass their own.
    """

    def __init__(
        self,
        model: Model | str,
        *fallback_models: Model | str,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        max_cooldown: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown < 0 or max_cooldown < cooldown:
            raise UserError("FallbackModel needs failure_threshold >= 1 and 0 <= cooldown <= max_cooldown.")
        from .openai import OpenAIChatModel

        self.models: list[Model] = [infer_model(m) for m in (model, *fallback_models)]
        """The chain, in the order the models are tried."""
        for member in self.models:
            if isinstance(member, OpenAIChatModel):
                member._in_chain = True
        self._breakers = [_Breaker() for _ in self.models]
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._max_cooldown = max_cooldown
        self._clock = clock
        self._current = 0

    def __repr__(self) -> str:
        return f"FallbackModel({', '.join(repr(m) for m in self.models)})"

    @property
    def model_name(self) -> str:
        return self.models[self._current].model_name

    @property
    def profile(self) -> ModelProfile:
        return self.models[self._current].profile

    def describe(self) -> str:
        rest = ", ".join(m.model_name for m in self.models[1:])
        return f"{self.models[0].describe()}, falling back to {rest}" if rest else self.models[0].describe()

    def status(self) -> list[ModelStatus]:
        """Each model's circuit breaker, in the chain's order."""
        now = self._clock()
        statuses = []
        for model, breaker in zip(self.models, self._breakers, strict=True):
            until = breaker.open_until
            state: Literal["closed", "open", "half-open"] = (
                "closed" if until is None else "open" if now < until else "half-open"
            )
            last = breaker.last_error.message.splitlines()[0] if breaker.last_error else None
            statuses.append(
                ModelStatus(
                    model_name=model.model_name,
                    state=state,
                    failures=breaker.failures,
                    open_until=until,
                    last_error=last,
                )
            )
        return statuses

    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        failed: list[tuple[Model, ModelAPIError]] = []
        for index in self._open_models():
            model, breaker = self.models[index], self._breakers[index]
            if not breaker.claim():
                continue
            try:
                message = await model.request(messages, parameters, settings)
            except ModelAPIError as exc:
                if not self._failed(index, exc, failed):
                    raise
                continue
            finally:
                breaker.trial = False
            self._answered(index)
            return message
        raise self._every_model_failed(failed)

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """Stream from the first model that starts answering; an error after its first event is raised."""
        failed: list[tuple[Model, ModelAPIError]] = []
        for index in self._open_models():
            model, breaker = self.models[index], self._breakers[index]
            if not breaker.claim():
                continue
            started = False
            try:
                async with aclosing(model.request_stream(messages, parameters, settings)) as events:
                    async for event in events:
                        started = True
                        yield event
            except ModelAPIError as exc:
                if not self._failed(index, exc, failed) or started:
                    raise
                continue
            finally:
                breaker.trial = False
            self._answered(index)
            return
        raise self._every_model_failed(failed)

    async def aclose(self) -> None:
        for model in self.models:
            await model.aclose()

    def _open_models(self) -> list[int]:
        """The models to try, in order: those not paused by their breaker."""
        now = self._clock()
        return [
            i for i, b in enumerate(self._breakers) if b.open_until is None or now >= b.open_until
        ] or self._paused()

    def _paused(self) -> NoReturn:
        """Every model is paused: say so at once (the point of the breakers), with what each last raised."""
        now = self._clock()
        lines = [
            f"{s.model_name}: {s.failures} failures in a row, paused for {max(0.0, (s.open_until or now) - now):.0f}s "
            f"more (last: {s.last_error})"
            for s in self.status()
        ]
        last = self._breakers[-1].last_error
        raise ModelAPIError(
            "Every model of the fallback chain is paused after repeated failures:\n" + "\n".join(lines),
            status_code=last.status_code if last else None,
            code=last.code if last else None,
            model_name=self.models[0].model_name,
        ) from last

    def _failed(self, index: int, exc: ModelAPIError, failed: list[tuple[Model, ModelAPIError]]) -> bool:
        """Count `exc` against the model; whether the next model may be tried (else the caller raises)."""
        model = self.models[index]
        if not falls_back(exc):
            _note_earlier(exc, failed, "The fallback models were not tried: this error is about the request.")
            return False
        breaker = self._breakers[index]
        breaker.failures += 1
        breaker.last_error = exc
        now = self._clock()
        if breaker.failures >= self._threshold and (breaker.open_until is None or now >= breaker.open_until):
            breaker.openings += 1
            pause = min(self._max_cooldown, self._cooldown * 2 ** (breaker.openings - 1))
            breaker.open_until = now + pause
            logger.warning(
                "fallback chain: skipping %s for %.0fs after %d failures in a row (last: %s)",
                model.model_name,
                pause,
                breaker.failures,
                exc.message.splitlines()[0],
            )
        failed.append((model, exc))
        if index + 1 < len(self.models):
            logger.info(
                "fallback chain: %s failed (%s); trying the next model", model.model_name, exc.message
            )
        return True

    def _answered(self, index: int) -> None:
        breaker = self._breakers[index]
        if breaker.open_until is not None:
            logger.warning(
                "fallback chain: %s answered again; no longer skipped", self.models[index].model_name
            )
        breaker.failures = 0
        breaker.open_until = None
        breaker.openings = 0
        breaker.last_error = None
        self._current = index

    def _every_model_failed(self, failed: list[tuple[Model, ModelAPIError]]) -> ModelAPIError:
        """The last error, its message noting the earlier ones (and the models skipped by their breaker)."""
        if not failed:  # every model open to requests was being tried by another request (half-open)
            self._paused()
        *earlier, (_, last) = failed
        tried = {id(m) for m, _ in failed}
        skipped = [m.model_name for m in self.models if id(m) not in tried]
        note = f"Skipped after repeated failures: {', '.join(skipped)}." if skipped else ""
        _note_earlier(last, earlier, note)
        return last


def _note_earlier(exc: ModelAPIError, earlier: Sequence[tuple[Model, ModelAPIError]], note: str = "") -> None:
    """Add to `exc`'s message what the chain tried before (the exception is this request's own)."""
    lines = [f"- {model.model_name}: {error.message.splitlines()[0]}" for model, error in earlier]
    if lines:
        note = f"{note}\nEarlier in the fallback chain:\n" + "\n".join(lines)
    if note:
        exc.message = f"{exc.message}\n{note.strip()}"
        exc.args = (exc.message,)
