"""Model ids -> profiles: the Gemini 2.5 and 3.x families, their variants and suffixes, what each can do."""

from __future__ import annotations

import pytest

from agentkit.models.profiles import (
    DEFAULT,
    GEMINI,
    GEMINI_2_0_FLASH,
    GEMINI_2_5_FLASH,
    GEMINI_2_5_FLASH_LITE,
    GEMINI_2_5_PRO,
    GEMINI_3,
    GEMINI_3_1_FLASH_LITE,
    GEMINI_3_1_PRO,
    GEMINI_3_5_FLASH,
    GEMINI_3_FLASH,
    GEMINI_3_PRO,
    LOCAL,
    OPENAI,
    ModelProfile,
    profile_for,
)

GEMINI_2_5 = [GEMINI_2_5_FLASH, GEMINI_2_5_FLASH_LITE, GEMINI_2_5_PRO]
GEMINI_3_PRICED = [GEMINI_3_FLASH, GEMINI_3_PRO, GEMINI_3_1_PRO, GEMINI_3_1_FLASH_LITE, GEMINI_3_5_FLASH]


@pytest.mark.parametrize(
    ("model_id", "profile"),
    [
        ("google/gemini-2.5-flash", GEMINI_2_5_FLASH),
        ("gemini-2.5-flash", GEMINI_2_5_FLASH),
        ("models/gemini-2.5-flash", GEMINI_2_5_FLASH),
        ("Google/Gemini-2.5-Flash", GEMINI_2_5_FLASH),
        ("google/gemini-2.5-flash-preview-05-20", GEMINI_2_5_FLASH),
        ("google/gemini-2.5-flash-preview-09-2025", GEMINI_2_5_FLASH),
        ("google/gemini-2.5-flash-preview:thinking", GEMINI_2_5_FLASH),
        ("google/gemini-2.5-flash-lite", GEMINI_2_5_FLASH_LITE),
        ("google/gemini-2.5-flash-lite-preview-06-17", GEMINI_2_5_FLASH_LITE),
        ("google/gemini-2.5-pro", GEMINI_2_5_PRO),
        ("google/gemini-2.5-pro-preview-05-06", GEMINI_2_5_PRO),
        ("gemini-2.5-pro-exp-03-25", GEMINI_2_5_PRO),
        ("google/gemini-3-flash-preview", GEMINI_3_FLASH),
        ("gemini-3-flash-preview-12-17", GEMINI_3_FLASH),
        ("google/gemini-3-pro-preview", GEMINI_3_PRO),
        ("gemini-3-pro", GEMINI_3_PRO),
        ("google/gemini-3.1-pro-preview", GEMINI_3_1_PRO),
        ("google/gemini-3.1-pro-preview-customtools", GEMINI_3_1_PRO),
        ("google/gemini-3.1-pro-preview-customtools-20260219", GEMINI_3_1_PRO),
        ("google/gemini-3.1-flash-lite", GEMINI_3_1_FLASH_LITE),
        ("google/gemini-3.1-flash-lite-preview", GEMINI_3_1_FLASH_LITE),
        ("google/gemini-3.5-flash", GEMINI_3_5_FLASH),
        ("google/gemini-3.5-flash-20260519:nitro", GEMINI_3_5_FLASH),
        # 3.x ids without verified prices: the line's capabilities, unpriced
        ("google/gemini-3.6-flash", GEMINI_3),
        ("google/gemini-3.5-flash-lite", GEMINI_3),
        ("google/gemini-3.5-pro", GEMINI_3),
        # other modalities and other models of a family's name: not priced as the family
        ("google/gemini-3-pro-image-preview", GEMINI_3),
        ("google/gemini-3.1-flash-image-preview", GEMINI_3),
        ("google/gemini-2.5-flash-image", GEMINI),
        ("gemini-2.5-flash-preview-tts", GEMINI),
        ("gemini-2.5-flash-computer-use", GEMINI),
        ("google/gemini-2.0-flash-001", GEMINI_2_0_FLASH),
        ("google/gemini-2.0-flash-lite-001", GEMINI),
        ("google/gemini-pro-1.5", GEMINI),
        ("local:qwen", LOCAL),
        ("openai/gpt-4.1", OPENAI),
        ("google/gemma-3-27b-it", DEFAULT),
    ],
)
def test_ids_and_their_variants_map_to_their_family(model_id: str, profile: ModelProfile) -> None:
    assert profile_for(model_id) is profile


def test_a_free_variant_is_its_family_at_no_cost() -> None:
    free = profile_for("google/gemini-2.5-pro-exp-03-25:free")
    assert free.family == "gemini-2.5-pro" and free.tools_with_response_format is False
    prices = (free.input_price_per_mtok, free.output_price_per_mtok, free.cache_read_price_per_mtok)
    assert prices == (0.0, 0.0, 0.0) and free.image_price_per_k == 0.0
    assert free.cost(10**6, 10**6) == 0.0
    assert profile_for("google/gemini-3-flash-preview:free").structured_output == "native"


@pytest.mark.parametrize("profile", GEMINI_2_5)
def test_gemini_2_5_thinks_but_takes_no_tools_with_a_response_format(profile: ModelProfile) -> None:
    assert profile.thinking and profile.schema_dialect == "gemini"
    assert not profile.tools_with_response_format and profile.structured_output == "tool"
    assert profile.takes_response_format(with_tools=False)
    assert not profile.takes_response_format(with_tools=True)


@pytest.mark.parametrize("profile", [*GEMINI_3_PRICED, GEMINI_3])
def test_gemini_3_takes_tools_and_a_response_format_together(profile: ModelProfile) -> None:
    assert profile.thinking and profile.schema_dialect == "gemini"
    assert profile.tools_with_response_format and profile.structured_output == "native"
    assert profile.takes_response_format(with_tools=True)


@pytest.mark.parametrize("profile", [*GEMINI_2_5, *GEMINI_3_PRICED])
def test_priced_gemini_profiles_are_complete(profile: ModelProfile) -> None:
    assert profile.input_price_per_mtok and profile.output_price_per_mtok
    assert profile.cache_read_price_per_mtok is not None
    assert 0 < profile.cache_read_price_per_mtok < profile.input_price_per_mtok
    assert profile.image_price_per_k is None  # Gemini 2.5+ bills images as input tokens
    assert profile.context_window == 1_048_576 and profile.max_output_tokens


def test_listed_prices() -> None:
    listed = {
        p.family: (p.input_price_per_mtok, p.output_price_per_mtok, p.cache_read_price_per_mtok)
        for p in [*GEMINI_2_5, *GEMINI_3_PRICED]
    }
    assert listed == {
        "gemini-2.5-flash": (0.30, 2.50, 0.075),
        "gemini-2.5-flash-lite": (0.10, 0.40, 0.01),
        "gemini-2.5-pro": (1.25, 10.0, 0.31),
        "gemini-3-flash": (0.50, 3.0, 0.05),
        "gemini-3-pro": (2.0, 12.0, 0.20),
        "gemini-3.1-pro": (2.0, 12.0, 0.20),
        "gemini-3.1-flash-lite": (0.25, 1.50, 0.025),
        "gemini-3.5-flash": (1.50, 9.0, 0.15),
    }
    assert GEMINI_3_FLASH.cost(1_000_000, 1_000_000) == pytest.approx(3.50)
    assert GEMINI_3.cost(1_000_000, 1_000_000) == 0.0  # unpriced: the provider's usage.cost counts


def test_a_server_without_a_response_format_takes_none() -> None:
    plain = ModelProfile(supports_response_format=False)
    assert not plain.takes_response_format(with_tools=False)
    assert not LOCAL.takes_response_format(with_tools=True) and LOCAL.takes_response_format(with_tools=False)


def test_a_gemini_id_of_no_known_line_gets_the_dialect_only() -> None:
    profile = profile_for("google/gemini-ultra")
    assert profile.family == "gemini" and profile.schema_dialect == "gemini"
    assert profile.input_price_per_mtok is None and profile.structured_output == "native"
