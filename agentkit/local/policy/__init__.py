"""What agentkit does differently for the small local model, in one place: its profile (`LOCAL`) and the
small-model policy that profile installs as hooks (`agentkit.hooks`), one set per run.

```
RunPolicy            a profile's `policy`: makes each run's hooks from the two below
SteerRepeatedCalls   a call made again is answered with its earlier result, and an answer asked for next
ExplainRepeatedFailures  the same call failing the same way twice: the tool's words on its arguments, and a
                     third identical call not run (`explain_repeated_failures=True`)
RunChecker           questions calls and answers (check_tool_call / check_answer), with its own budget
└── GroundingCheck   numbers nothing in the conversation gave, example values copied from a docstring,
                     a result, a number of the question or values of a result's list left out of the answer; with
                     `trace_numbers=True`, each number of an answer traced to its source (`_tracing`)
```
Any OpenAI-compatible model can take the same policy: `ModelProfile(policy=RunPolicy(checker=GroundingCheck,
steer_repeated_calls=True, trace_numbers=True, explain_repeated_failures=True))`. What the local profile changes on the wire (prompted tool calling, the call
grammar, the results reminder) is written by the model layer (`agentkit.models`), which imports none of this.
"""

from __future__ import annotations

from ._checker import CallQuestion, RunChecker
from ._failures import ExplainRepeatedFailures
from ._grounding import GroundingCheck
from ._profile import LOCAL, RunPolicy
from ._steering import REPEATED_CALL, SteerRepeatedCalls

__all__ = [
    "LOCAL",
    "REPEATED_CALL",
    "CallQuestion",
    "ExplainRepeatedFailures",
    "GroundingCheck",
    "RunChecker",
    "RunPolicy",
    "SteerRepeatedCalls",
]
