"""Run llama.cpp's server from the `xllamacpp` wheel as a process of its own, with `llama-server`'s flags.

    python agentkit/local/_xllamacpp_main.py -m MODEL.gguf --host 127.0.0.1 --port 8080 [flags]

`xllamacpp` compiles llama.cpp's own HTTP server into a Python extension and ships it as a prebuilt wheel,
so nothing is compiled on install. [`LocalServer`][agentkit.local.LocalServer] runs this file as a script
(it imports only the standard library and xllamacpp, never agentkit: it starts fast and does not depend on
how the parent found agentkit) exactly as it starts a `llama-server` binary (its own process group, its
output in a log, `/health` polled, SIGTERM to stop, set to die with its parent), so both engines share one
lifecycle. Only the flags agentkit passes are accepted; an unknown one exits with status 2.

The server is locked as `llama-server` is by `LocalServer`: it answers only requests sending the key in
`$LLAMA_API_KEY` (read from the environment, never the command line), its slots endpoint is off, and no
CORS origin is allowed, nor credentials.

Ends killed by SIGTERM or SIGINT (their default action), or with status 2 for a bad flag, 3 when
`xllamacpp` cannot be imported (not installed, or a system library it needs, `libgomp.so.1`, is missing),
1 when the server fails to start.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

EXIT_IMPORT = 3
API_KEY_ENV = "LLAMA_API_KEY"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The subset of `llama-server`'s command line that `LocalServer` writes."""
    parser = argparse.ArgumentParser(
        prog="_xllamacpp_main.py",
        description="llama.cpp's server from the xllamacpp wheel, with llama-server's flags.",
    )
    parser.add_argument("-m", "--model", required=True, help="GGUF model file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("-c", "--ctx-size", type=int, default=4096)
    parser.add_argument("-t", "--threads", type=int, default=-1)
    parser.add_argument("-np", "--parallel", type=int, default=1)
    parser.add_argument("--alias", default=None)
    parser.add_argument("--jinja", action="store_true")
    parser.add_argument("--chat-template-file", default=None)
    parser.add_argument("--temp", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--cache-reuse", type=int, default=None, help="min chunk size for KV reuse")
    return parser.parse_args(argv)


def configure(params: Any, args: argparse.Namespace) -> None:
    """Set `xllamacpp.CommonParams` from the parsed flags."""
    params.model.path = args.model
    # Fitting the context and layers to free device memory costs a dry-run load (about 6 s of a 10 s start
    # on a loaded 2-core machine); a 1.1 GB model on the CPU has nothing to fit.
    params.fit_params = False
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx_size
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.n_parallel = args.parallel
    if args.alias:
        params.model_alias = {args.alias}
    params.use_jinja = args.jinja
    if args.chat_template_file:
        with open(args.chat_template_file, encoding="utf-8") as f:
            params.chat_template = f.read()
    if args.temp is not None:
        params.sampling.temp = args.temp
    if args.seed is not None:
        params.sampling.seed = args.seed
    if args.cache_reuse is not None:
        params.n_cache_reuse = args.cache_reuse
    lock(params, os.environ.pop(API_KEY_ENV, ""))


def lock(params: Any, api_key: str) -> None:
    """Require `api_key` (when given) on every request but `/health`; no slots endpoint; no CORS origin
    (an empty list: the server's `Access-Control-Allow-Origin` matches no page) and no credentials."""
    if api_key:
        params.api_keys = [api_key]
    params.endpoint_slots = False
    params.cors_origins = ""
    params.cors_credentials = False


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until a signal ends the process; returns an exit status when the server cannot start."""
    args = parse_args(argv)
    try:
        import xllamacpp
    except ImportError as exc:
        print(
            f"error: the xllamacpp engine cannot be loaded: {exc}\n"
            "Install it with: pip install 'agentkit[local]'. If it is installed and a system library is "
            "missing (libgomp.so.1), install that (Debian/Ubuntu: apt install libgomp1), or use the compiled "
            "engine: pip install 'agentkit[local-build]' and AGENTKIT_LOCAL_ENGINE=llama-server.",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_IMPORT
    params = xllamacpp.CommonParams()
    configure(params, args)
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:  # the server reports bind and model-load failures as exceptions
        print(f"error: the server did not start: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"xllamacpp {xllamacpp.__version__}: serving on {server.listening_address}", flush=True)
    threading.Event().wait()  # the server runs on its own threads; only a signal ends this process
    return 0  # pragma: no cover


if __name__ == "__main__":
    # Stopping is immediate, even while the model loads (inside C++, where a Python handler would wait):
    # SIGTERM (from LocalServer, or from the kernel when the parent dies) keeps its default action, and so
    # does Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(main())
