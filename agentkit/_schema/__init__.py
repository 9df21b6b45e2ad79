"""Tool schemas: a Python function made into a tool's description and the JSON Schema of its parameters,
and a model's arguments read back against that schema.

```
function     function -> FunctionSchema (description, JSON Schema, validator); arguments parsed and checked
types        Python type -> JSON Schema (2020-12) fragment; JsonSchema, $ref resolution
docstrings   a docstring's summary and per-parameter descriptions
repair       a call's arguments repaired when the model's intent is unambiguous
```

Its rule: standard JSON Schema only (the schema dialects are the model layer's), and it knows no vendor.
It is below its three users, the tools (`agentkit.tool`), the run (`agentkit._run`) and the model layer
(`agentkit.models`, which reads `JsonSchema` and repairs prompted calls): it imports only the value
modules and `agentkit.context` (a first parameter annotated `RunContext` is the tool's context, not an
argument). The `schema` contract in `pyproject.toml` keeps this true.
"""
