"""A web page to talk to an agent and watch it work, and the AG-UI protocol for existing front ends.

Needs the `web` extra (`pip install 'agentkit[web]'`: Starlette, uvicorn, ag-ui-protocol); `import agentkit`
imports none of them.

```python
app = agent.to_web()          # the page's ASGI app; app.state.token is the token every request needs
app = agent.to_ag_ui()        # an AG-UI endpoint: POST a RunAgentInput, read the events over SSE
serve(app, port=8000)         # uvicorn on 127.0.0.1, printing the URL to open
```
`agentkit web SPEC` does the same from the command line (docs/web.md).
"""

from __future__ import annotations

from ..exceptions import UserError

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
    from ag_ui import core  # noqa: F401
except ImportError as exc:  # pragma: no cover - the extra is installed in tests
    raise UserError(
        f"agentkit.web needs the web extra ({exc.name} is missing): pip install 'agentkit[web]'"
    ) from None

from ._ag_ui import ag_ui_app
from ._app import default_session_db, web_app
from ._serve import serve

__all__ = ["ag_ui_app", "default_session_db", "serve", "web_app"]
