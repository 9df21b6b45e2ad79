"""A planner that delegates research to a sub-agent and books only what a person approves.

Run: `python examples/delegation.py "Find me a quiet hotel in Lisbon for two nights from 2026-12-18"`
The researcher agent (`researcher.as_tool()`) searches a small built-in hotel list; the planner books with
`book_hotel`, a tool that `requires_approval`: the run stops with the booking pending, this script asks you
(or, without a terminal, denies it; `--approve yes` books unattended), and the run continues with your
decision. The researcher's requests and cost count in the planner's usage. The model comes from the
environment (see the README's configuration table).
"""

from __future__ import annotations

import argparse
import sys

from agentkit import Agent, ModelRetry, tool

HOTELS = {
    "lisbon": [
        {"name": "Casa do Largo", "quiet": True, "price_eur": 118},
        {"name": "Rossio Central", "quiet": False, "price_eur": 96},
        {"name": "Jardim Estrela", "quiet": True, "price_eur": 142},
    ],
    "porto": [{"name": "Ribeira View", "quiet": False, "price_eur": 104}],
}
BOOKINGS: list[str] = []


@tool
def search_hotels(city: str, quiet_only: bool = False) -> list[dict[str, object]]:
    """Hotels in a city with their nightly price in euros.

    Args:
        city: The city, e.g. "Lisbon".
        quiet_only: Only hotels on quiet streets.
    """
    hotels = HOTELS.get(city.strip().lower())
    if hotels is None:
        raise ModelRetry(
            f"No hotels known in {city!r}; known cities: {', '.join(c.title() for c in HOTELS)}."
        )
    return [h for h in hotels if h["quiet"] or not quiet_only]


@tool(requires_approval=True)
def book_hotel(hotel: str, check_in: str, nights: int) -> str:
    """Book a hotel room (this spends the traveller's money).

    Args:
        hotel: The hotel's name, as the researcher gave it.
        check_in: The arrival date, YYYY-MM-DD.
        nights: How many nights.
    """
    BOOKINGS.append(hotel)
    return f"Booked {hotel} from {check_in} for {nights} night(s); confirmation AK-{len(BOOKINGS):04d}."


researcher = Agent(
    name="researcher",
    instructions="You find hotels with search_hotels and recommend one, with its price. Be brief.",
    tools=[search_hotels],
)
planner = Agent(
    name="planner",
    instructions=(
        "You plan trips. Ask the researcher for options, choose the best fit, then book it with book_hotel. "
        "If a booking is denied, say so and do not try again."
    ),
    tools=[
        researcher.as_tool(description="Finds and recommends hotels; give it the city and wishes."),
        book_hotel,
    ],
)


def decide(call_name: str, arguments: str, mode: str) -> bool | str:
    """The person's decision on one pending call."""
    if mode == "yes":
        return True
    if mode == "no":
        return "no one was there to approve it"
    answer = input(f"Approve {call_name} {arguments}? [y/N or a reason] ").strip()
    return True if answer.lower() in ("y", "yes") else answer or False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "task", nargs="?", default="Book a quiet hotel in Lisbon for 2 nights from 2026-12-18."
    )
    parser.add_argument("--approve", choices=["ask", "yes", "no"], default=None)
    args = parser.parse_args(argv)
    mode = args.approve or ("ask" if sys.stdin.isatty() else "no")

    result = planner.run_sync(args.task)
    usage = result.usage
    while result.pending_approvals:  # the run stopped: a booking waits for a person
        decisions = {call.id: decide(call.name, call.arguments, mode) for call in result.pending_approvals}
        result = planner.run_sync(None, message_history=result.messages, approvals=decisions)
        usage = usage + result.usage
    print(result.output)
    print(
        f"[{usage.requests} requests (the researcher's included), {usage.tool_calls} tool calls, ${usage.cost_usd:.6f}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
