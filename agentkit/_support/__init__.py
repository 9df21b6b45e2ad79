"""Small helpers below every part, the value modules included: each imports nothing of agentkit but the
value modules (`exceptions`, `messages`, `usage`), so any module may use them (`tests/test_layers.py`
checks).

```
files     a bounded read of an image, document or audio file, and the type its bytes show
given     what a conversation gives: its numbers, the question asked, the numbers nothing gave
redact    secrets taken out of text, bytes and decoded JSON, in whatever form a server sends them back
unicode   text that can be written as UTF-8
threads   the worker threads that run sync tools, sessions and approvers
sync      the one background event loop of every run_sync and run_stream_sync
```
"""
