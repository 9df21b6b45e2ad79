"""Ready-made tools for agentkit agents, built only on agentkit's public API.

```python
from agentkit import Agent
from agentkit_tools import calculator, datetime_tools, files, http_fetch, shell

agent = Agent(tools=[calculator, *datetime_tools(), *files("workspace"), http_fetch()])
```

`calculator` and `current_time` are tools; the others are factories that take their configuration
(a root folder, an allow-list, limits) and return `Tool`s. Writing files and running commands ask for a
person's approval of each call unless created with `require_approval=False`.
"""

from __future__ import annotations

from .calculator import calculator
from .clock import current_time, datetime_tools
from .data import data
from .files import files
from .shell import shell
from .web import http_fetch

__all__ = [
    "calculator",
    "current_time",
    "data",
    "datetime_tools",
    "files",
    "http_fetch",
    "shell",
]
