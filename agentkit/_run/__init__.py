"""The run part: an agent's run as steps over one `RunState`, and what the steps use.

```
state        RunSpec (fixed when the run starts), RunState (what it knows as it goes), the steps
loop         run_events: the session and the toolsets, then the steps, then RunFinished
ask_model    the steps AskModel (the request, the streamed answer) and TakeAnswer (the answer checked)
run_tools    the step RunTools: a turn's calls taken in, approved, run, their results recorded
tool_calls   a turn's calls, each decoded and validated once (ValidatedCall), then run concurrently
retry        call_with_retry, the one place a tool's function is called (its RetryPolicy, its timeout)
approval     calls that wait for a person's decision
output       the final answer: text, or an output_type validated (final-result tool, response format, prompt)
hook_runner  how the run calls its hooks (the seam is agentkit.hooks)
history      what each request sends: the history processors, then the fit to the context window
stream       RunStream, what Agent.run_stream() returns
agent_tool   Agent.as_tool: a sub-run inside a tool call, counted in its caller's usage and limits
```

Its rule: below `agentkit.agent`, which configures a run and hands it here; above the model layer
(`agentkit.models`, which never imports this package) and the tools (`agentkit.tool`, `agentkit._schema`).
It sees standard JSON Schema and standard arguments only (no schema dialect: the model adapter translates),
and imports no integration built on it (the command line, web, evals, durable runs, MCP, the local model, the
test doubles); `agentkit.instrumentation` is the one it uses, to trace a sub-run. The contracts in
`pyproject.toml` (`run`, `tools`, `models`, `dialects`) keep this true.

Everything here is private. The public names defined here (`RunStream`, `ValidatedCall`) are imported from
`agentkit` (and `agentkit.hooks`).
"""
