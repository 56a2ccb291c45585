"""Named schema migrations of the ledger, applied in order, each recorded once.

Migrations are append-only: a released one is never edited; a change to the
schema is a new entry with a sentence on why it exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    name: str
    why: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "001_usage",
        "Keep one row per usage record, with its price and where it came from.",
        (
            """
            CREATE TABLE usage (
                source VARCHAR NOT NULL,
                record_key VARCHAR NOT NULL,
                source_path VARCHAR NOT NULL,
                profile VARCHAR NOT NULL,
                session_id VARCHAR NOT NULL,
                parent_session_id VARCHAR,
                platform VARCHAR,
                task VARCHAR NOT NULL,
                call_kind VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                provider VARCHAR,
                endpoint VARCHAR,
                is_local BOOLEAN,
                started_at TIMESTAMPTZ NOT NULL,
                ended_at TIMESTAMPTZ NOT NULL,
                calls BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                title VARCHAR,
                first_prompt VARCHAR,
                system_prompt_hash VARCHAR,
                system_prompt_chars BIGINT,
                cron_job_id VARCHAR,
                agent_cost_usd DECIMAL(24, 12),
                agent_cost_status VARCHAR,
                agent_cost_source VARCHAR,
                extra VARCHAR,
                scanned_at TIMESTAMPTZ NOT NULL,
                cost_usd DECIMAL(24, 12),
                cost_source VARCHAR,
                cost_detail VARCHAR,
                local BOOLEAN,
                priced_with VARCHAR,
                PRIMARY KEY (source, record_key)
            )
            """,
            "CREATE INDEX usage_started ON usage (started_at)",
        ),
    ),
    Migration(
        "002_prompts",
        "Keep each distinct system prompt once, for token counts and advice.",
        ("CREATE TABLE prompts (hash VARCHAR PRIMARY KEY, text VARCHAR NOT NULL)",),
    ),
    Migration(
        "003_scan_state",
        "Remember how far each file was read, so a rescan reads only new data.",
        (
            """
            CREATE TABLE path_state (
                source VARCHAR NOT NULL,
                path VARCHAR NOT NULL,
                identity VARCHAR NOT NULL,
                size BIGINT NOT NULL,
                "offset" BIGINT NOT NULL,
                watermark DOUBLE,
                records BIGINT NOT NULL,
                issues BIGINT NOT NULL,
                last_scan TIMESTAMPTZ,
                PRIMARY KEY (source, path)
            )
            """,
            """
            CREATE TABLE scan_issues (
                source VARCHAR NOT NULL,
                path VARCHAR NOT NULL,
                line BIGINT,
                message VARCHAR NOT NULL,
                seen_at TIMESTAMPTZ NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "004_call_events",
        "Keep per-call timings from logs that have them, for throughput.",
        (
            """
            CREATE TABLE call_events (
                source VARCHAR NOT NULL,
                event_key VARCHAR NOT NULL,
                path VARCHAR NOT NULL,
                "at" TIMESTAMPTZ NOT NULL,
                profile VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                provider VARCHAR,
                endpoint VARCHAR,
                session_id VARCHAR,
                prompt_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                latency_s DOUBLE,
                prompt_eval_s DOUBLE,
                eval_s DOUBLE,
                PRIMARY KEY (source, event_key)
            )
            """,
        ),
    ),
    Migration(
        "005_meta",
        "Small key-value facts about the ledger, such as the pricing fingerprint.",
        ("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",),
    ),
    Migration(
        "006_budget_alerts",
        "Remember which budget thresholds alerted in which period and whether each "
        "notification was delivered, so a threshold alerts once and a failed "
        "notification is retried.",
        (
            """
            CREATE TABLE IF NOT EXISTS budget_alerts (
                budget VARCHAR NOT NULL,
                threshold DECIMAL(9, 3) NOT NULL,
                period_start TIMESTAMPTZ NOT NULL,
                period_end TIMESTAMPTZ NOT NULL,
                target VARCHAR NOT NULL,
                crossed_at TIMESTAMPTZ NOT NULL,
                level VARCHAR NOT NULL,
                title VARCHAR NOT NULL,
                body VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                attempts INTEGER NOT NULL,
                last_error VARCHAR,
                last_attempt_at TIMESTAMPTZ,
                PRIMARY KEY (budget, threshold, period_start, target)
            )
            """,
        ),
    ),
    Migration(
        "007_tool_calls",
        "Keep how many tool calls each session's main loop made, so the advisor "
        "tells tool-using work from plain questions; Hermes databases are read "
        "again at the next scan to fill it in (rows are replaced, not added).",
        (
            "ALTER TABLE usage ADD COLUMN tool_calls BIGINT",
            "UPDATE path_state SET watermark = NULL, records = 0 "
            "WHERE source = 'hermes'",
        ),
    ),
    Migration(
        "008_bench_energy",
        "Keep the energy each bench-local run read from RAPL counters, per phase, "
        "so the energy model prices that model at its measured power draw.",
        (
            """
            CREATE TABLE IF NOT EXISTS bench_energy (
                event_key VARCHAR PRIMARY KEY,
                model VARCHAR NOT NULL,
                prompt_joules DOUBLE,
                eval_joules DOUBLE
            )
            """,
        ),
    ),
    Migration(
        "009_scan_issues_once",
        "Keep each bad line once: earlier scans stored an issue again each time "
        "a file was read again, and a rotated file kept the issues of its old "
        "contents.",
        (
            """
            CREATE TABLE scan_issues_once (
                source VARCHAR NOT NULL,
                path VARCHAR NOT NULL,
                line BIGINT,
                message VARCHAR NOT NULL,
                seen_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            INSERT INTO scan_issues_once
            SELECT source, path, line, message, min(seen_at)
            FROM scan_issues GROUP BY source, path, line, message
            """,
            "DROP TABLE scan_issues",
            "ALTER TABLE scan_issues_once RENAME TO scan_issues",
        ),
    ),
    Migration(
        "010_usage_unique_by_scan",
        "Keep usage records without a primary key index: updating it cost a "
        "cold scan more than a third of its time storing records; a scan keeps "
        "each (source, record key) once itself, inserting new keys apart from "
        "known ones, which it compares and replaces.",
        (
            """
            CREATE TABLE usage_unique_by_scan (
                source VARCHAR NOT NULL,
                record_key VARCHAR NOT NULL,
                source_path VARCHAR NOT NULL,
                profile VARCHAR NOT NULL,
                session_id VARCHAR NOT NULL,
                parent_session_id VARCHAR,
                platform VARCHAR,
                task VARCHAR NOT NULL,
                call_kind VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                provider VARCHAR,
                endpoint VARCHAR,
                is_local BOOLEAN,
                started_at TIMESTAMPTZ NOT NULL,
                ended_at TIMESTAMPTZ NOT NULL,
                calls BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                title VARCHAR,
                first_prompt VARCHAR,
                system_prompt_hash VARCHAR,
                system_prompt_chars BIGINT,
                cron_job_id VARCHAR,
                agent_cost_usd DECIMAL(24, 12),
                agent_cost_status VARCHAR,
                agent_cost_source VARCHAR,
                extra VARCHAR,
                scanned_at TIMESTAMPTZ NOT NULL,
                cost_usd DECIMAL(24, 12),
                cost_source VARCHAR,
                cost_detail VARCHAR,
                local BOOLEAN,
                priced_with VARCHAR,
                tool_calls BIGINT
            )
            """,
            "INSERT INTO usage_unique_by_scan SELECT * FROM usage",
            "DROP TABLE usage",
            "ALTER TABLE usage_unique_by_scan RENAME TO usage",
            "CREATE INDEX usage_started ON usage (started_at)",
        ),
    ),
)
MIGRATIONS_BY_NAME = {migration.name: migration for migration in MIGRATIONS}
