"""The version of agentkit, in a module of its own so that any part can read it without importing the rest."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
