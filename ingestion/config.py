"""Ingest and validation configuration (light: DAG files build their Params from these at parse time)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from ugc import settings
from ugc.config import Config, StrTuple
from ugc.vocab import MAX_TEXT_BYTES

KNOWN_PLATFORMS = ("weibo", "douyin", "xiaohongshu", "bilibili", "twitter", "reddit")


class IngestConfig(Config):
    what = "ingest"

    lake_uri: str = Field(description="lake root (local path or s3://)")
    day: date = Field(description="the partition day; rows created outside it are quarantined")
    max_text_bytes: int = Field(MAX_TEXT_BYTES, ge=1, description="longer texts are quarantined (UTF-8 bytes), never truncated")
    dedupe_lookback_days: int = Field(7, ge=0, le=90, description="days of earlier partitions a repost is checked against")
    text_dedupe_min_chars: int = Field(10, ge=0, description="short texts ('好', 'lol') repeat legitimately; only "
                                                             "longer ones count as copypasta")
    reply_dedupe_min_chars: int = Field(
        40, ge=0, description="replies repeat stock phrases legitimately ('what about you?', '好的亲，马上为您发货'), and "
                              "quarantining one cuts its thread: a reply counts as copypasta from this length")
    author_salt: str = Field(default_factory=settings.AUTHOR_SALT.get, exclude=True, repr=False,
                             description="salt of the author-id hash; never written anywhere")
    workers: int = Field(2, ge=1, le=64, description="files read and cleaned in parallel")
    isolation: Literal["process", "thread"] = Field(
        "process", description="process: each file is parsed in a child process, so a native reader that dies "
                               "on a file quarantines that file (reader_crashed) instead of killing the day")
    max_file_bytes: int = Field(1 << 31, ge=1, description="a landing file larger than this after decompression "
                                                           "is quarantined whole (decompression bombs)")
    naive_timezones: dict[str, str] = Field(
        default_factory=dict, description="platform -> time zone of timestamps written without an offset "
                                          "(IANA name or +HH:MM; Chinese exports are often +08:00); default UTC")


    @field_validator("naive_timezones")
    @classmethod
    def _zones(cls, v: dict[str, str]) -> dict[str, str]:
        import re
        from zoneinfo import ZoneInfo

        for platform, tz in v.items():
            if re.fullmatch(r"[+-][0-9]{2}(:[0-9]{2})?", tz):
                continue
            try:
                ZoneInfo(tz)
            except Exception:  # noqa: BLE001 (zoneinfo raises several types for a bad key)
                raise ValueError(f"has an unknown time zone {tz!r} for {platform!r}") from None
        return {k.strip().lower(): tz for k, tz in v.items()}


class ValidateConfig(Config):
    what = "validation"

    day: date = Field(description="the partition day (created_at must fall inside it)")
    max_text_chars: int = Field(MAX_TEXT_BYTES, ge=1, description="critical: no text longer than ingest allows")
    min_rows: int = Field(1, ge=0, description="critical: an empty partition means a broken export")
    known_platforms: StrTuple = Field(KNOWN_PLATFORMS, description="warning: a new platform is worth a look")
    max_other_lang_share: float = Field(0.2, ge=0, le=1, description="warning: beyond zh/en the models are blind")
    build_docs: bool = Field(True, description="render GX Data Docs beside the results")
