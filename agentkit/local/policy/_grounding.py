"""Grounding: numbers a model writes that nothing in the conversation gives it.

Small models invent values: a salary they never looked up, an amount copied from a tool's docstring
example, `2**20` worked out in their head. With `GroundingCheck` as the policy's checker (the local
profile's), a run compares the numbers in each tool call's arguments, and in a text answer, with the numbers
the conversation holds (`agentkit._support.given` reads them):
the system prompt, the user's messages, tool results (not error messages) and answers from before this
run, plus number words (`half`, `cubed`, `percent`). Tool descriptions do not count (their examples are what
a small model copies). A number counts as given when it is a given one, or one step from two given ones
(`a + b`, `a - b`, `a * b`, `a / b`), rounded to the decimals it is written with; `15%` also gives 0.15.

Questioned, not refused:
- a call whose arguments hold unsupported numbers is not run; the model is told which values nothing
  supports and which other tools may give them. Made again in the next turn, it runs (the model confirms).
- a call whose string argument is an example value of the tool's description (`e.g. "Paris"`) that the
  conversation never mentions is not run; repeating it does not confirm it (within the run's budget).
- a call that takes one of the choices a description lists (`category (boots, jackets)`, an `enum`) where
  the question names another is not run; made again in the next turn, it runs (`_alternatives`); so is
  arithmetic multiplying an amount in one unit by a rate per another (`900 * 18.40` for 900 g at 18.40
  euros a kilo; `_mixed_units`), and a call or an answer using the value a result labels one thing
  (`total 48,250`) where the question names another label of it (roads; `_labels`).
- a text answer with unsupported numbers, leaving a number of the question unused, or leaving out a tool
  result that has words in it (the weekday asked for), gets a feedback message naming the values, the tools
  not used yet and the numbers at hand. A repeated answer goes through, unless new tool results came in
  since (at most two questions per run).
- a call that drops a scale word of the question (`1.5 million` sent as 1.5) or regroups its arithmetic,
  and an answer with no number to a question asking how many, or with one value of a tool's list where an
  average or a total is asked, are questioned the same way (`_quantities`), and so is an answer that gives
  some values of a list a result writes and leaves out the others (`00:48 and 13:02`; `_left_out`), and an
  answer that writes a value a result gives per unit (`per 100 g`) where the question asks about another
  quantity of it (`a 250 g portion`; `_rates`), or an amount of money with a computation's every decimal
  (`6354.16666666667 USD`; `_money`).
So a false alarm costs one request, and a guess gets a chance to become a look-up.

With `trace_numbers=True` (`RunPolicy(trace_numbers=True)`, the local profile's), the numbers of a text answer
are traced to their source instead (`_tracing`): one step from two given numbers no longer counts, and a
number without a source gets one question naming its nearest source (once per run for each number), and a
number taken from a value given in cents or thousands, written without that scale, one question giving
it in whole units (`_units`); a number written in another unit than the one a tool gave it in (euros for
dollars, miles for km), one question naming both (`_measures`), and a UTC time answered as the local time
asked for, one question naming the tools that give an offset (`_zones`); arithmetic an answer writes out
undone (`38125/6`) gets one question asking for the tool that computes.
Example values are compared with the conversation as words (`_tracing.word_set`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..._support.given import (
    ALWAYS_KNOWN,
    NOT_JSON,
    NUMBER,
    decoded_arguments,
    given_text,
    known_numbers,
    last_question,
    leaves,
    numbers_in_value,
    rounds_to,
    unsupported_in_arguments,
    unsupported_in_text,
    unsupported_in_value,
    written_numbers,
)
from ...messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage
from ._alternatives import choice_question, choices, contradicted_choice, descriptions
from ._checker import CallQuestion, RunChecker
from ._labels import label_question, mislabelled_in_answer, mislabelled_in_call
from ._left_out import left_out, left_out_question
from ._measures import converting_tools, measure_question, measure_slips, measured_numbers
from ._mixed_units import mixed_question, mixed_units
from ._money import money_question, unrounded_money
from ._quantities import (
    dropped_scales,
    list_lengths,
    numberless,
    numberless_question,
    picked_one,
    picked_question,
    regrouped,
    regrouped_question,
    scale_question,
)
from ._rates import rate_answered, rate_question
from ._tracing import (
    computing_tools,
    listed,
    question_text,
    shortened,
    sources,
    trace_question,
    untraced,
    unworked,
    unworked_question,
    word_set,
)
from ._units import converted_sources, scaled_numbers, unit_question, unit_slips, unscaled_numbers
from ._zones import given_offset, offset_tools, zone_question, zone_slips, zoned_numbers

if TYPE_CHECKING:
    from ..._run.tool_calls import ValidatedCall
    from ...tool import ToolDefinition

__all__ = [
    "ANSWER_QUESTION",
    "CALL_QUESTION",
    "COPY_QUESTION",
    "IGNORED_QUESTION",
    "UNUSED_QUESTION",
    "GroundingCheck",
    "copied_examples",
    "examples",
    "given_numbers",
    "ignored_question",
    "ignored_results",
    "known_numbers",
    "question",
    "question_names",
    "unsupported_in_arguments",
    "unsupported_in_text",
    "unused_in_question",
]

CALL_QUESTION = (
    "Not run: {values} appear{s} neither in the question nor in any tool result, so {it_is} made up. "
    "{get} and wait for its result. If you are sure {it_is} right, make the same call again."
)
COPY_QUESTION = (
    "Not run: {values} {is_are} the example in the tool's description, and the question does not mention "
    "{it}. Use the values the question gives{named}; if the question needs no tool, answer it directly."
)
ANSWER_QUESTION = (
    "Your answer contains {values}, which neither the question nor any tool result gives. Do not work "
    "{it} out in your head: {get} now{given}. If you are sure of your answer, give it again."
)
UNUSED_QUESTION = (
    "Your answer does not use {values} from the question. If the answer depends on {it}, {get} now. If your "
    "answer is complete, give it again."
)
IGNORED_QUESTION = (
    "Your answer leaves out what {tools} returned ({results}). Answer the whole question again, in one reply "
    'that uses every result the question needs. The question was: "{question}"'
)
_EXAMPLE = re.compile(r"(?:\be\.g\.|\bfor example\b|\bsuch as\b|\bexample:)[:,]?\s*([^\n]*)", re.IGNORECASE)
_QUOTED = re.compile(r'"([^"]+)"|`([^`]+)`|\'([^\']+)\'')
_PHRASE_END = re.compile(r"[.;)](?:\s|$)|$")


def examples(description: str, parameters: dict[str, Any]) -> frozenset[str]:
    """The example values a tool's description and its parameters' descriptions give (after `e.g.`, `for
    example`, `such as`), lowercased: quoted ones, else the phrase up to the end of the clause."""
    texts = [description, *descriptions(parameters)]
    found: set[str] = set()
    for text in texts:
        for match in _EXAMPLE.finditer(text):
            rest = match.group(1)
            quoted = [next(g for g in groups if g) for groups in _QUOTED.findall(rest)]
            if quoted:
                found.update(q.strip().lower() for q in quoted)
            else:
                end = _PHRASE_END.search(rest)
                phrase = rest[: end.start() if end else len(rest)].strip().lower()
                if phrase:
                    found.add(phrase)
    return frozenset(found)


def copied_examples(value: Any, tool_examples: frozenset[str], text: str) -> list[str]:
    """String values in a call's decoded arguments that are one of the tool's `examples` and that the
    conversation's `text` does not give (a small model copies the example instead of the user's value),
    quoted. Compared as words (`word_set`: case, accents, punctuation, word order and a plural's `s` aside),
    so a value the user wrote, reworded, is the user's."""
    if not tool_examples:
        return []
    example_words = {word_set(example) for example in tool_examples}
    given = word_set(text)
    found: dict[frozenset[str], str] = {}
    for item in (leaf for leaf in leaves(value) if isinstance(leaf, str)):
        key = word_set(item)
        if key and key in example_words and not key <= given:
            found.setdefault(key, f'"{item}"')
    return list(found.values())


_NAME = re.compile(r"[^\W_][\w-]*")
_STARTERS = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were", "do",
    "does", "did", "can", "could", "would", "should", "will", "may", "please", "tell", "give", "show", "find",
    "list", "get", "i", "we", "you", "he", "she", "they", "it", "this", "that", "in", "on", "at", "for",
    "and", "but", "or", "if", "the", "a", "an", "my", "our", "quel", "quelle", "quels", "quelles", "comment",
    "combien", "où", "est", "qui", "que", "le", "la", "les", "un", "une", "des", "du", "de", "cuál", "cuáles",
    "cuánto", "cuánta", "cuántos", "cuántas", "qué", "dónde", "cómo", "el", "los", "las", "wie", "wer", "wo",
    "welche", "welcher", "welches", "der", "die", "das", "ein", "eine",
})  # fmt: skip
"""Words a question starts with, capitalised for that alone."""


def question_names(question: str, tool_text: str, limit: int = 4) -> list[str]:
    """The names and codes the `question` gives that the tool's own text (`tool_text`: its description
    and its parameters') does not: words written with a capital or a digit (`Dunmere`, `SKU-5820`), each
    once; what a copied example should have been."""
    described = word_set(tool_text)
    out: list[str] = []
    for match in _NAME.finditer(question):
        name = match.group()
        if not (name[0].isupper() or any(c.isdigit() for c in name)) or name.lower() in _STARTERS:
            continue
        if word_set(name) <= described or name in out:
            continue
        out.append(name)
    return out[:limit]


def unused_in_question(messages: Sequence[Message], start: int) -> list[str]:
    """Numbers of the run's question (from index `start`) that no call of the run and not the last answer
    use: a small model often answers with a looked-up value and forgets the quantity it was asked about."""
    asked = question_text(messages, start)
    used: set[float] = set()
    for message in messages[start:]:
        if isinstance(message, AssistantMessage):
            used.update(value for value, _, _ in written_numbers(message.content))
            for call in message.tool_calls:
                decoded = decoded_arguments(call.arguments)
                used.update(
                    v for v, _, _ in numbers_in_value(call.arguments if decoded is NOT_JSON else decoded)
                )
    out: list[str] = []
    for value, _, written in written_numbers(asked):
        if value not in used and value not in ALWAYS_KNOWN and written not in out:
            out.append(written)
    return out


_WORD = re.compile(r"[^\W\d_]{3,}")
_COMMON = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "are",
        "was",
        "were",
        "has",
        "have",
        "not",
        "but",
        "you",
        "your",
        "its",
        "his",
        "her",
        "their",
        "what",
        "which",
        "who",
        "how",
        "per",
        "each",
        "all",
        "any",
        "one",
        "two",
        "null",
        "true",
        "false",
        "none",
        "error",
        "name",
    ]
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


def _uses(text: str, result: str) -> bool:
    """Whether `text` shares a word (3+ letters, not a common one) or a number (rounded as written) with
    `result`."""
    if _words(text) & _words(result):
        return True
    values = frozenset(value for value, _, _ in written_numbers(result))
    return any(rounds_to(value, decimals, values) for value, decimals, _ in written_numbers(text))


def ignored_results(messages: Sequence[Message], start: int) -> list[ToolMessage]:
    """The run's successful tool results (from index `start`) that neither the last answer nor any later
    call uses (sharing no word or number with them): a small model answering a two-part question often
    answers one part. The result of a call none of whose values the question or an earlier result gives
    (`scale_recipe(recipe="apple crumble")` asked about a hotel) answers nothing asked: it is not counted."""
    answer = messages[-1]
    if not isinstance(answer, AssistantMessage):
        return []
    calls = {c.id: c for m in messages[start:] if isinstance(m, AssistantMessage) for c in m.tool_calls}
    ignored: list[ToolMessage] = []
    for index in range(start, len(messages) - 1):
        result = messages[index]
        # a result without words (a bare number) is an intermediate value: a wrong use of it is an
        # unsupported number, caught as such
        if not isinstance(result, ToolMessage) or result.is_error or not _words(result.content):
            continue
        call = calls.get(result.tool_call_id)
        if call is not None and not _asked_for(call, calls, messages, start, index):
            continue
        later = [
            c.arguments
            for m in messages[index + 1 :]
            if isinstance(m, AssistantMessage)
            for c in m.tool_calls
        ]
        if not _uses("\n".join([answer.content, *later]), result.content):
            ignored.append(result)
    return ignored


def _asked_for(
    call: ToolCall, calls: Mapping[str, ToolCall], messages: Sequence[Message], start: int, before: int
) -> bool:
    """Whether a `call`'s arguments take a value from the run's question or a result before index `before`,
    not counting the results of the same call made earlier (`calls`: the run's calls by id); a call with no
    values but 0 and 1, or whose arguments are not JSON, counts as asked for."""
    decoded = decoded_arguments(call.arguments)
    # 0 and 1 are given by any text (`ALWAYS_KNOWN`): they tell nothing of where a call comes from
    values = [
        str(v)
        for v in ([] if decoded is NOT_JSON else leaves(decoded))
        if v is not None and not isinstance(v, bool) and v not in ALWAYS_KNOWN
    ]
    if not values:
        return True
    given = [m.text for m in messages[start:before] if isinstance(m, UserMessage) and not m.feedback]
    given += [
        m.content
        for m in messages[start:before]
        if isinstance(m, ToolMessage) and not m.is_error and not _same_call(calls.get(m.tool_call_id), call)
    ]
    return _uses("\n".join(given), "\n".join(values))


def _same_call(one: ToolCall | None, other: ToolCall) -> bool:
    return one is not None and (one.name, one.arguments) == (other.name, other.arguments)


def given_numbers(messages: Sequence[Message], start: int, limit: int = 8) -> list[str]:
    """The numbers, as written, of the run's question and its successful tool results (the run starts at
    index `start`), each once: what an answer may be computed from."""
    texts = [m.text for m in messages[start:] if isinstance(m, UserMessage) and not m.feedback]
    texts += [m.content for m in messages[start:] if isinstance(m, ToolMessage) and not m.is_error]
    out: list[str] = []
    for text in texts:
        for match in NUMBER.finditer(text):
            start = match.start()
            negative = text[start - 1 : start] == "-" and not text[start - 2 : start - 1].isalnum()
            written = f"-{match.group()}" if negative else match.group()
            if written not in out and len(out) < limit:
                out.append(written)
    return out


def ignored_question(results: Sequence[ToolMessage], question: str) -> str:
    """`IGNORED_QUESTION` for `results` (each quoted, shortened) and the run's `question`."""
    names = list(dict.fromkeys(f"`{r.name}`" for r in results))
    quoted = "; ".join(shortened(r.content) for r in results)
    return IGNORED_QUESTION.format(tools=listed(names, "and"), results=quoted, question=question.strip())


def question(
    template: str,
    values: Sequence[str],
    tools: Sequence[str],
    given: Sequence[str] = (),
    named: Sequence[str] = (),
) -> str:
    """`CALL_QUESTION`, `COPY_QUESTION`, `ANSWER_QUESTION` or `UNUSED_QUESTION` filled in for `values`,
    naming the `tools` that may give them, the numbers `given` so far and the names the question gives
    (`question_names`)."""
    shown = listed(values, "and")
    one = len(values) == 1
    if template is not CALL_QUESTION:
        get = f"call {listed([f'`{n}`' for n in tools], 'or')}" if tools else "use a tool"
    elif tools:
        get = f"Call the tool that gives {'it' if one else 'them'} first ({listed([f'`{n}`' for n in tools], 'or')})"
    else:
        get = "Use a tool first"
    return template.format(
        values=shown,
        s="s" if one else "",
        it="it" if one else "them",
        it_is="it is" if one else "they are",
        is_are="is" if one else "are",
        get=get,
        given=f", with the numbers you have ({', '.join(given)})" if given else "",
        named=f" (it names {listed(list(named), 'and')})" if named else "",
    )


class GroundingCheck(RunChecker):
    """The grounding check of one run: questions calls and answers holding values nothing gave.

    At most `call_questions` calls and `answer_questions` answers are questioned per run; a repeated answer
    is questioned again only when tool results came in since (else repeating it is the model confirming it).
    """

    def __init__(
        self, *, call_questions: int = 2, answer_questions: int = 2, trace_numbers: bool = False
    ) -> None:
        self.call_questions = call_questions
        self.answer_questions = answer_questions
        self.trace_numbers = trace_numbers
        """Trace each number of a text answer to its source (`agentkit.local.policy._tracing`) instead of
        taking one step from two given numbers: a number without one is asked about once per run."""
        self._traced: set[str] = set()
        """The numbers (as written) already asked about: given again, they go through."""
        self._start = 0
        self._tools: Mapping[str, ToolDefinition] = {}
        self._asked_at: int | None = None  # where the last answer was questioned
        self._known: frozenset[float] = frozenset()
        self._given = ""
        self._question = ""
        self._questioned: set[tuple[str, str]] = set()
        """Calls questioned for numbers in this turn: made again in the next turn, they run (confirmed)."""
        self._confirmable: set[tuple[str, str]] = set()
        self._copied: set[tuple[str, str]] = set()
        self._regrouped: set[tuple[str, str]] = set()
        self._examples: dict[str, frozenset[str]] = {}
        self._choices: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._messages: Sequence[Message] = ()
        """The transcript as the turn's calls are checked (`start_turn`)."""
        self._offered: set[float] = set()
        """Numbers this check's own questions gave the model (an amount converted to a rate's unit)."""

    def start_run(self, messages: Sequence[Message], start: int, tools: Mapping[str, ToolDefinition]) -> None:
        self._start = start
        self._tools = tools
        if not tools:
            self.answer_questions = 0  # with nothing to look up, an answer has nowhere better to come from

    def start_turn(self, messages: Sequence[Message]) -> None:
        self._known = (
            known_numbers(messages, self._start) | list_lengths(messages, self._start) | self._offered
        )
        self._given = given_text(messages, self._start)
        self._question = question_text(messages, self._start)
        self._messages = messages
        self._confirmable, self._questioned = self._questioned, set()

    def question_call(self, call: ValidatedCall) -> CallQuestion | None:
        """A number the question writes with a scale word, sent without it (a repeat in the next turn runs),
        the question's arithmetic regrouped (a repeat is questioned again, quoting the question's grouping;
        `_quantities`), numbers nothing gave (a repeat in the next turn runs), string values copied from the
        tool's description examples (a repeat is questioned again and asks for a text answer next); before
        those, another of the description's choices than the question names (`_alternatives`), an amount
        multiplied by a rate per another unit (`_mixed_units`) and the value of another label than the
        question names (`_labels`; for these a repeat in the next turn runs). Past the run's budget, a copied
        example refused before is refused again."""
        if self.call_questions <= 0:
            # past the budget, a copied example refused before is still refused: it is never right
            copies = copied_examples(call.decoded, self._examples_of(call.call.name), self._given)
            if call.key not in self._copied or not copies:
                return None
            named = question_names(self._question, self._text_of(call.call.name))
            return CallQuestion(text=question(COPY_QUESTION, copies, [], named=named), answer_now=True)
        grouping = regrouped(call.decoded, self._question)
        if grouping and call.key in self._regrouped:  # the question's own parentheses: no call confirms
            self.call_questions -= 1
            return CallQuestion(text=regrouped_question(grouping, again=True))
        if call.key in self._confirmable:
            return None
        dropped = dropped_scales(call.decoded, self._question)
        if dropped or grouping:
            self._questioned.add(call.key)
            if grouping:
                self._regrouped.add(call.key)
            self.call_questions -= 1
            return CallQuestion(text=regrouped_question(grouping) if grouping else scale_question(dropped))
        choice = contradicted_choice(call.decoded, self._choices_of(call.call.name), self._question)
        if choice:
            self._questioned.add(call.key)
            self.call_questions -= 1
            return CallQuestion(text=choice_question(choice))
        mixed = mixed_units(call.decoded, self._given)
        if mixed:
            self._questioned.add(call.key)
            self._offered.add(float(mixed.converted))  # the check gave it: a call may use it
            self.call_questions -= 1
            return CallQuestion(text=mixed_question(mixed))
        label = mislabelled_in_call(call.decoded, self._messages, self._start)
        if label:
            self._questioned.add(call.key)
            self.call_questions -= 1
            return CallQuestion(text=label_question(label, call=True))
        copies = copied_examples(call.decoded, self._examples_of(call.call.name), self._given)
        values = unsupported_in_value(call.decoded, self._known) + copies
        if not values:
            return None
        insisted = False
        if copies:  # a number may be right; an example value nothing asked for never is
            insisted = call.key in self._copied
            self._copied.add(call.key)
        else:
            self._questioned.add(call.key)
        self.call_questions -= 1
        others = [n for n in self._tools if n != call.call.name]
        if values != copies:
            return CallQuestion(text=question(CALL_QUESTION, values, others), answer_now=insisted)
        named = question_names(self._question, self._text_of(call.call.name))
        return CallQuestion(text=question(COPY_QUESTION, values, others, named=named), answer_now=insisted)

    @property
    def may_question_answer(self) -> bool:
        return self.answer_questions > 0

    def question_answer(self, messages: Sequence[Message]) -> str | None:
        """Unsupported numbers in the answer, numbers of the question left unused, or a worded tool result
        left out: what to ask (naming the tools not used yet and the numbers at hand), else `None`. With
        `trace_numbers`, a first answer that uses none of the run's results, with numbers nothing given is
        near, is asked about those results first."""
        if self.answer_questions <= 0:
            return None
        doubt = self._trace_doubt(messages) if self.trace_numbers else None
        if doubt is None and self._asked_at is not None and not _results_since(messages, self._asked_at):
            return None
        doubt = doubt or self._answer_doubt(messages)
        if doubt is not None:
            self.answer_questions -= 1
            self._asked_at = len(messages)  # where the question goes, after the answer
        return doubt

    def _answer_doubt(self, messages: Sequence[Message]) -> str | None:
        start = self._start
        tools = _unused_tools(list(self._tools), messages[start:])
        values = (
            []
            if self.trace_numbers
            else unsupported_in_text(str(messages[-1].content), known_numbers(messages, start))
        )
        if values:
            return question(ANSWER_QUESTION, values, tools, given_numbers(messages, start))
        label = None if self.trace_numbers else mislabelled_in_answer(messages, start)  # traced: asked there
        if label:
            return label_question(label, call=False)
        rate = rate_answered(messages, start)
        if rate:
            return rate_question(rate, computing_tools(self._tools) or tools)
        unrounded = unrounded_money(messages, start, computing_tools(self._tools))
        if unrounded:
            return money_question(unrounded)
        unused = unused_in_question(messages, start)
        if unused:
            return question(UNUSED_QUESTION, unused, tools)
        found = numberless(messages, start)
        if found:
            return numberless_question(found)
        picked = picked_one(messages, start)
        if picked:
            return picked_question(picked, computing_tools(self._tools))
        partial = left_out(messages, start)
        if partial:
            self.answer_next = True  # the values are in the results: no call needed
            return left_out_question(partial)
        ignored = ignored_results(messages, start)
        if not ignored:
            return None
        return ignored_question(ignored, last_question(messages[start:]))

    def _trace_doubt(self, messages: Sequence[Message]) -> str | None:
        """The question about the answer's numbers without a source, or else about arithmetic it leaves
        undone (`38125/6`), or else about numbers that dropped their source's scale (`_units`), or else
        about numbers written in another unit than their source's (`_measures`), or else about a UTC time
        given as a local one (`_zones`), each asked about once; or `None`. Before those, a value of another
        label than the question names (`_labels`), and a first answer whose numbers nothing given is near and
        which uses no result at all is asked about the results."""
        answer, asked = str(messages[-1].content), frozenset(self._traced)
        label = mislabelled_in_answer(messages, self._start)
        if label and f"label {label.used}" not in asked:  # the wrong value first: computing it won't help
            self._traced.add(f"label {label.used}")
            return label_question(label, call=False)
        computes = computing_tools(self._tools)
        scaled = scaled_numbers(messages, self._start, computes)
        given = [*sources(messages, self._start), *converted_sources(scaled)]
        found = untraced(answer, given, asked | zoned_numbers(messages, self._start))
        if found and all(u.invented for u in found) and self._asked_at is None:
            # nothing given is near them, and the answer uses no result at all: the results are what it
            # lacks, not a computation (its numbers are asked about if it comes back with them)
            ignored = ignored_results(messages, self._start)
            if ignored and len(ignored) == len(_worded_results(messages, self._start)):
                return ignored_question(ignored, last_question(messages[self._start :]))
        if found:
            self._traced.update(u.written for u in found)
            lookups = _unused_tools(list(self._tools), messages[self._start :])
            return trace_question(found, computes, lookups, given_numbers(messages, self._start))
        expressions = unworked(answer, asked)
        if expressions:
            self._traced.update(expressions)
            return unworked_question(expressions, computes, given)
        slips = unit_slips(answer, scaled, unscaled_numbers(messages, self._start, scaled), asked)
        if slips:
            self._traced.update(written for written, _ in slips)
            return unit_question(slips)
        elsewhere = measure_slips(answer, measured_numbers(messages, self._start), asked)
        if elsewhere:
            self._traced.update(written for written, _, _ in elsewhere)
            return measure_question(elsewhere, converting_tools(self._tools) or computes)
        offset = given_offset(messages, self._start)
        mark = "@offset" if offset else ""  # with an offset come, a time is asked about once more
        zones = zone_slips(
            messages, self._start, frozenset(a.removesuffix(mark) for a in asked if a.endswith(mark))
        )
        if not zones:
            return None
        self._traced.update(written + mark for written, _ in zones)
        self.answer_next = offset is not None  # the local time is worked out: no call needed
        return zone_question(zones, offset_tools(self._tools), offset)

    def _choices_of(self, name: str) -> tuple[tuple[str, ...], ...]:
        if name not in self._choices:
            definition = self._tools.get(name)
            self._choices[name] = choices(definition.description, definition.parameters) if definition else ()
        return self._choices[name]

    def _text_of(self, name: str) -> str:
        """A tool's description and its parameters' descriptions and names, as one text."""
        definition = self._tools.get(name)
        if definition is None:
            return ""
        names = " ".join(definition.parameters.get("properties", {}))
        return "\n".join([definition.description, names, *descriptions(definition.parameters)])

    def _examples_of(self, name: str) -> frozenset[str]:
        if name not in self._examples:
            definition = self._tools.get(name)
            self._examples[name] = (
                examples(definition.description, definition.parameters) if definition else frozenset()
            )
        return self._examples[name]


def _worded_results(messages: Sequence[Message], start: int) -> list[ToolMessage]:
    """The run's successful tool results with words in them (those `ignored_results` reads)."""
    return [
        m for m in messages[start:] if isinstance(m, ToolMessage) and not m.is_error and _words(m.content)
    ]


def _results_since(messages: Sequence[Message], index: int) -> bool:
    return any(isinstance(m, ToolMessage) and not m.is_error for m in messages[index:])


def _unused_tools(tools: Sequence[str], run: Sequence[Message]) -> list[str]:
    """The tools this run has not had a result from yet (all of them when it has used each)."""
    used = {m.name for m in run if isinstance(m, ToolMessage) and not m.is_error}
    return [name for name in tools if name not in used] or list(tools)
