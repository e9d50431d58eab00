"""Ingest and validation configuration (light: DAG files build their Params from these at parse time)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from ugc import settings
from ugc.config import Config, StrTuple

KNOWN_PLATFORMS = ("weibo", "douyin", "xiaohongshu", "bilibili", "twitter", "reddit")


class IngestConfig(Config):
    what = "ingest"

    lake_uri: str = Field(description="lake root (local path or s3://)")
    day: date = Field(description="the partition day; rows created outside it are quarantined")
    max_text_bytes: int = Field(8192, ge=1, description="longer texts are quarantined (UTF-8 bytes), never truncated")
    dedupe_lookback_days: int = Field(7, ge=0, le=90, description="days of earlier partitions a repost is checked against")
    text_dedupe_min_chars: int = Field(10, ge=0, description="short texts ('好', 'lol') repeat legitimately; only "
                                                             "longer ones count as copypasta")
    author_salt: str = Field(default_factory=settings.AUTHOR_SALT.get, exclude=True, repr=False,
                             description="salt of the author-id hash; never written anywhere")
    workers: int = Field(2, ge=1, le=64, description="files read and cleaned in parallel")


class ValidateConfig(Config):
    what = "validation"

    day: date = Field(description="the partition day (created_at must fall inside it)")
    max_text_chars: int = Field(8192, ge=1, description="critical: no text longer than ingest allows")
    min_rows: int = Field(1, ge=0, description="critical: an empty partition means a broken export")
    known_platforms: StrTuple = Field(KNOWN_PLATFORMS, description="warning: a new platform is worth a look")
    max_other_lang_share: float = Field(0.2, ge=0, le=1, description="warning: beyond zh/en the models are blind")
    build_docs: bool = Field(True, description="render GX Data Docs beside the results")
