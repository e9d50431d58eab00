"""great-expectations 1.x validation of a lake partition, with results + Data Docs kept beside it.

``validate_partition(config, partition_uri)`` writes ``_validation/results.json`` and
``_validation/data_docs/`` into the partition and raises ``ValidationFailed`` when a critical
expectation fails (after saving the evidence). Warning-severity expectations only warn.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.config import ValidateConfig
from ugc import lake, storage
from ugc.vocab import LABELS, LANGS

log = logging.getLogger(__name__)


ZERO_WIDTH_CLASS = "[\u200b\ufeff]"  # zero-width space, BOM: invisible characters that defeat dedupe
# Per expectation: its verdict, observed value, unexpected count and share, and up to 20 unexpected values.
# GX's default (SUMMARY) adds value counts of those 20, for which GX filters the whole frame again per
# expectation: 30 % of its time at 200k posts (0.255 -> 0.178 s).
RESULT_FORMAT = "BASIC"


class ValidationFailed(RuntimeError):
    """A critical expectation failed: the partition must not be used downstream."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


def _quiet_gx():
    # GX logs every registration at INFO under Airflow's log config, and draws progress bars.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine as engine

    # GX fingerprints each pandas batch by hashing every cell (md5 of pandas' row hashes): 40 % of its time on
    # a 200k-post partition. The partition's snapshot_id (manifest, recorded in the summary) already names the
    # data validated, so the fingerprint is skipped; the test in test_validate.py notices if GX renames this.
    engine.HASH_THRESHOLD = 0
    return gx


def build_suite(gx, cfg: ValidateConfig):
    """The UGC post suite: critical checks fail the run, warnings are reported only."""
    E = gx.expectations
    warn = {"severity": "warning"}
    start = datetime(cfg.day.year, cfg.day.month, cfg.day.day, tzinfo=UTC)
    expectations = [
        E.ExpectTableColumnsToMatchSet(column_set=list(lake.POST_COLUMNS), exact_match=True),
        E.ExpectTableRowCountToBeBetween(min_value=cfg.min_rows),
        *[E.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("post_id", "platform", "author_id", "text", "lang", "created_at", "text_hash")],
        E.ExpectCompoundColumnsToBeUnique(column_list=["platform", "post_id"]),
        E.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1, max_value=cfg.max_text_chars),
        E.ExpectColumnValuesToBeInSet(column="lang", value_set=list(LANGS)),
        E.ExpectColumnValuesToBeInSet(column="label", value_set=list(LABELS)),
        E.ExpectColumnValuesToBeBetween(column="created_at", min_value=start,
                                        max_value=start + timedelta(days=1) - timedelta(microseconds=1)),
        E.ExpectColumnValueLengthsToEqual(column="author_id", value=32),
        E.ExpectColumnValuesToBeBetween(column="label_confidence", min_value=0.0, max_value=1.0),
        # Warnings: worth a look, not worth stopping the pipeline.
        E.ExpectColumnValuesToBeInSet(column="platform", value_set=list(cfg.known_platforms), **warn),
        E.ExpectColumnValuesToBeInSet(column="lang", value_set=["zh", "en"],
                                      mostly=1 - cfg.max_other_lang_share, **warn),
        # The pattern holds the two characters themselves, not "\\u" escapes: RE2 has no "\\u", so pandas
        # would fall back to Python's re row by row (0.13 s of GX's 0.57 s at 200k posts); as literals the check
        # runs in Arrow (RE2).
        E.ExpectColumnValuesToNotMatchRegex(column="text", regex=ZERO_WIDTH_CLASS, **warn,
                                            description="no zero-width space (U+200B) or BOM (U+FEFF) in text"),
    ]
    # Given whole: add_expectation compares each one with every one added before (0.02 s of GX's ~0.09 s fixed cost).
    return gx.ExpectationSuite(name=f"ugc_posts_{cfg.day.isoformat()}", expectations=expectations)


def run_suite(df, cfg: ValidateConfig, docs_dir: str | None = None) -> dict:
    """Validate a pandas DataFrame; returns the GX result as a JSON-able dict."""
    gx = _quiet_gx()
    ctx = gx.get_context(mode="ephemeral")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs_dir:
        ctx.add_data_docs_site(site_name="ugc", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    batch_def = ctx.data_sources.add_pandas("lake").add_dataframe_asset("posts") \
        .add_batch_definition_whole_dataframe("partition")
    suite = ctx.suites.add(build_suite(gx, cfg))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name="posts", data=batch_def, suite=suite))
    # The validation definition run directly: a checkpoint around it would add nothing here (no actions).
    vr = vd.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT)
    (vr_id,) = ctx.validation_results_store.list_keys()  # the one result this ephemeral context stored
    result = vr.to_json_dict()  # the evidence, values as they are (JSON, never HTML)
    if docs_dir:
        # GX writes values from the data (unexpected platforms, texts) into Data Docs HTML unescaped: a post
        # whose platform is "<script>..." would run in the reader's browser. Render docs from a copy in which
        # every value that came from the data is HTML-escaped, so it shows as text.
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        for r in vr.results:
            r.result = _escaped(r.result)
        ctx.validation_results_store.set(vr_id, vr)
        ctx.build_data_docs(site_names=["ugc"], resource_identifiers=[vr_id, ExpectationSuiteIdentifier(
            name=suite.name)])
    return result


def _escaped(value):
    """Every string inside ``value`` HTML-escaped (dict keys too): data rendered as text, never as markup."""
    import html

    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_escaped(v) for v in value)
    return value


def summarize(result: dict) -> dict:
    """Split expectation outcomes by severity; critical failures decide the verdict."""
    failed_critical, warnings = [], []
    for r in result["results"]:
        if r["success"]:
            continue
        cfg = r["expectation_config"]
        item = {"expectation": cfg["type"], "column": cfg["kwargs"].get("column"),
                "observed": {k: r["result"].get(k) for k in
                             ("observed_value", "unexpected_count", "unexpected_percent", "partial_unexpected_list")
                             if k in r["result"]}}
        (failed_critical if cfg.get("severity", "critical") == "critical" else warnings).append(item)
    return {"success": not failed_critical, "evaluated": len(result["results"]),
            "failed_critical": failed_critical, "warnings": warnings}


def validate_partition(cfg: ValidateConfig, partition_uri: str) -> dict:
    """Validate a published partition and store the evidence beside it; raise on critical failure."""
    table = lake.read_partition(partition_uri)
    manifest = lake.read_manifest(partition_uri)
    out = storage.join(partition_uri, "_validation")
    with tempfile.TemporaryDirectory(prefix="gx-docs-") as tmp:
        result = run_suite(table.to_pandas(), cfg, tmp if cfg.build_docs else None)
        summary = summarize(result)
        for p in sorted(Path(tmp).rglob("*")):
            if p.is_file():
                storage.write_bytes(storage.join(out, "data_docs", p.relative_to(tmp).as_posix()), p.read_bytes())
    summary.update(partition_uri=partition_uri, rows=table.num_rows, snapshot_id=manifest["snapshot_id"],
                   results_uri=storage.join(out, "results.json"),
                   data_docs_uri=storage.join(out, "data_docs", "index.html") if cfg.build_docs else None)
    storage.write_bytes(summary["results_uri"], json.dumps(
        {"summary": summary, "gx_result": result}, indent=1, default=str, ensure_ascii=False).encode())
    for w in summary["warnings"]:
        log.warning("validation warning on %s: %s", partition_uri, w)
    if not summary["success"]:
        names = ", ".join(f"{f['expectation']}({f['column'] or ''})" for f in summary["failed_critical"])
        raise ValidationFailed(
            f"{len(summary['failed_critical'])} critical expectation(s) failed on {partition_uri}: {names}. "
            f"See {summary['results_uri']}", summary)
    return summary
