"""A multi-tool agent: current weather, a forecast and unit conversion, called in parallel where it can.

Run: `python examples/weather_agent.py "Is it warmer in Oslo or in Rome right now?"`
The model comes from the environment (see the README's configuration table). The weather data is a small
built-in sample so the example runs offline; swap `SAMPLE_WEATHER` for a real API in your own agent.
"""

from __future__ import annotations

import sys
from typing import Literal

from agentkit import Agent, ModelRetry, tool

SAMPLE_WEATHER = {
    "oslo": {"temperature_c": 3.0, "conditions": "light snow", "forecast": [2.0, 1.5, 4.0, 5.5, 6.0]},
    "rome": {"temperature_c": 17.0, "conditions": "sunny", "forecast": [18.0, 19.5, 16.0, 15.0, 17.5]},
    "tokyo": {"temperature_c": 12.5, "conditions": "cloudy", "forecast": [13.0, 11.0, 12.0, 14.5, 15.0]},
}


def _city(name: str) -> dict[str, object]:
    data = SAMPLE_WEATHER.get(name.strip().lower())
    if data is None:
        raise ModelRetry(
            f"No data for {name!r}. Known cities: {', '.join(c.title() for c in SAMPLE_WEATHER)}."
        )
    return data


@tool
def get_weather(city: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: City name, e.g. "Oslo".
        units: Temperature units.
    """
    data = _city(city)
    temperature = float(data["temperature_c"])  # type: ignore[arg-type]
    if units == "fahrenheit":
        temperature = temperature * 9 / 5 + 32
    return f"{city.title()}: {temperature:g}°{'F' if units == 'fahrenheit' else 'C'}, {data['conditions']}"


@tool
def get_forecast(city: str, days: int = 3) -> list[float]:
    """Daily high temperatures (°C) for the next days.

    Args:
        city: City name.
        days: How many days, 1 to 5.
    """
    if not 1 <= days <= 5:
        raise ModelRetry("days must be between 1 and 5")
    forecast: list[float] = _city(city)["forecast"]  # type: ignore[assignment]
    return forecast[:days]


agent = Agent(
    instructions="You answer questions about the weather. Use the tools; call them in parallel when you need "
    "several cities. Answer in one or two sentences.",
    tools=[get_weather, get_forecast],
)


def main(argv: list[str] | None = None) -> int:
    question = (
        " ".join(argv if argv is not None else sys.argv[1:]) or "Is it warmer in Oslo or in Rome right now?"
    )
    print(f"Model: {agent.model.describe()}")
    result = agent.run_sync(question)
    print(result.output)
    print(f"[{result.usage.requests} requests, {result.usage.tool_calls} tool calls, "
          f"{result.usage.input_tokens}+{result.usage.output_tokens} tokens, ${result.usage.cost_usd:.6f}]")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
