"""Ready-made tools for agentkit agents, built only on agentkit's public API.

```python
from agentkit import Agent
from agentkit_tools import calculator, current_time

agent = Agent(tools=[calculator, current_time])
```
"""

from __future__ import annotations

from .calculator import calculator
from .clock import current_time

__all__ = ["calculator", "current_time"]
