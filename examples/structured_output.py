"""Structured output: the answer comes back as a validated pydantic model, not text.

Run: `python examples/structured_output.py "Oslo is the capital of Norway, with about 709,000 people."`
On Gemini 2.x the answer travels through a `final_result` tool (Gemini 2.x cannot combine tools with a JSON
response format); on Gemini 3.x and elsewhere through `response_format` json_schema. The code is the same
either way; `Agent(output_mode=...)` picks one yourself (see docs/output.md).
"""

from __future__ import annotations

import sys

from pydantic import BaseModel, Field

from agentkit import Agent


class CityFacts(BaseModel):
    """Facts about one city."""

    city: str
    country: str
    population: int | None = Field(default=None, description="Inhabitants, if the text says")
    is_capital: bool = False


agent: Agent[None, CityFacts] = Agent(
    instructions="Extract the facts the user's text states about a city. Do not guess what it does not say.",
    output_type=CityFacts,
)


def main(argv: list[str] | None = None) -> int:
    text = " ".join(argv if argv is not None else sys.argv[1:]) or (
        "Oslo, the capital of Norway, has about 709,000 inhabitants."
    )
    print(f"Model: {agent.model.describe()}")
    facts = agent.run_sync(text).output
    print(facts.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
