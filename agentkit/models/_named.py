"""Model ids served by a package above the model layer: `local` and `local:NAME`, the embedded model of
`agentkit.local`. The package root registers them (`register`) as it is imported, so that `infer_model` and
`profile_for` resolve those ids without the model layer naming, or importing, that package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Model
    from .profiles import ModelProfile

__all__ = ["NamedModels", "lookup", "register"]


@dataclass(kw_only=True, frozen=True)
class NamedModels:
    """The models behind one model id prefix: `prefix` itself and `prefix:NAME`."""

    prefix: str
    model: Callable[[str], Model]
    """Makes the model of an id (`"local"`, `"local:qwen2.5-coder-1.5b"`), raising `UserError` for a name it
    does not serve."""
    profile: Callable[[], ModelProfile]
    """The profile of every id of the prefix."""


_REGISTERED: dict[str, NamedModels] = {}


def register(prefix: str, *, model: Callable[[str], Model], profile: Callable[[], ModelProfile]) -> None:
    """Serve the ids `prefix` and `prefix:NAME` with `model` and `profile` (registering a prefix again
    replaces it)."""
    _REGISTERED[prefix] = NamedModels(prefix=prefix, model=model, profile=profile)


def lookup(model_id: str) -> NamedModels | None:
    """The registered models serving `model_id` (`prefix` or `prefix:NAME`, as written), or `None`."""
    return _REGISTERED.get(model_id.partition(":")[0])
