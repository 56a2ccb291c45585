"""Write a Hermes Agent home through hermes-agent's own code.

Run it with the interpreter of a venv that has ``hermes-agent==0.19.0``
installed (CI: ``$COSTAUDIT_HERMES_PYTHON``)::

    $HERMES_PY tests/hermes_writer/write_home.py SPEC.json HOME_DIR
    $HERMES_PY tests/hermes_writer/write_home.py SPEC.json HOME_DIR --schema 19

HOME_DIR must not exist or be empty. Nothing of costaudit is imported here,
and costaudit never imports Hermes: Hermes pins versions of its own.

What Hermes code writes what
----------------------------
Every row, file and log line comes from hermes-agent functions, called in the
order the agent calls them; only the model calls themselves are absent.

- Profiles: ``hermes_cli.profiles.create_profile`` (``SOUL.md``, ``.env``,
  ``profile.yaml``). The root of HOME_DIR is the default profile.
- ``state.db``: ``hermes_state.SessionDB``. A session is opened the way the
  agent does it (``create_session`` with source, model, ``model_config``,
  system prompt, cwd and ``profile_name`` from
  ``hermes_cli.profiles.get_active_profile_name``); gateway sessions are first
  created the way ``gateway.session.SessionStore`` does (``session_key`` from
  ``gateway.session.build_session_key``, then
  ``record_gateway_session_peer``). Messages go through ``append_message``.
- Main-loop calls: the response usage is built in the provider's own API shape
  (Anthropic, DeepSeek's ``prompt_cache_hit_tokens``, or OpenAI's
  ``prompt_tokens_details``), normalised by
  ``agent.usage_pricing.normalize_usage``, priced by ``estimate_usage_cost``
  and written with ``SessionDB.update_token_counts`` with the arguments of
  ``agent/conversation_loop.py``, so ``sessions`` and ``session_model_usage``
  (``task = ''``) get what Hermes writes, including ``cost_status``,
  ``cost_source`` and ``estimated_cost_usd`` (``0.0`` when unpriced).
- Side calls: ``agent.aux_accounting.set_accounting_context`` then
  ``record_aux_usage``, the auxiliary client's own recording path; they land
  in ``session_model_usage`` only, with ``task`` set.
- Model switches: ``update_session_billing_route`` plus the system prompt
  rewrite of the next turn (CLI, ``via: cli``), or ``update_session_model``
  (gateway ``/model``, ``via: gateway``).
- Compression rotation: ``end_session(..., "compression")``, ``create_session``
  of the child, ``get_next_title_in_lineage``, ``update_system_prompt`` and
  ``replace_messages`` with the handoff text of
  ``ContextCompressor._with_summary_prefix`` and ``_SUMMARY_END_MARKER``.
- Titles: ``agent.title_generator._persist_session_title``; cron titles with
  ``cron.scheduler._set_cron_session_title``. Ends: ``end_session``, or
  ``promote_to_session_reset`` for gateway resets.
- Cron: ``cron.jobs.create_job``, ``advance_next_run`` before and
  ``mark_job_run`` after each run, ``remove_job`` for deleted jobs; the run's
  user message is ``cron.scheduler._build_job_prompt(job)``. The session id,
  the title text and the title base are evaluated from the expressions
  assigned to ``_cron_session_id``, ``_title_base`` and ``_cron_title`` in
  ``cron/scheduler.py``, read from the installed source.
- ``logs/agent.log``: ``hermes_logging.setup_logging`` with the session tag of
  ``set_session_context``; the API-call line uses the format string of the
  ``logger.info("API call #%d: ...")`` call in ``agent/conversation_loop.py``
  and the cache suffix expression assigned to ``_cache_pct`` there, both read
  from the installed source. Cron runs log the scheduler's
  ``"Running job ..."`` line and CLI switches the ``"Model switched
  in-place ..."`` line, also with Hermes' own format strings.

Clock and ids: ``time.time`` and the ``hermes_time.now`` imports of the cron
modules are patched to a clock that each step of the spec sets, so rows, log
timestamps and ``jobs.json`` carry the spec's historic times. Cron job ids come
from the spec (``uuid.uuid4`` is patched inside ``create_job`` only); other
session ids are Hermes' ``YYYYmmdd_HHMMSS_<hex>`` shape with hex derived from
a hash of the spec, so a run is reproducible. ``fetch_endpoint_model_metadata``
is patched to return ``{}``: the pricing code would otherwise ask each
endpoint's ``/models`` for prices, and DeepSeek, OpenAI, Anthropic and
llama.cpp publish none there, so the result is the same without the network.

Not written: cron run output files (``cron/output/<job>/*.md``), the cron
``executions.db`` ledger, ``sessions.json`` of the gateway, and log lines other
than the three kinds above.

Spec format (JSON)
------------------
Times are epoch seconds (floats allowed). Token fields default to 0.

::

    {
      "timezone": "UTC",                  # TZ and HERMES_TIMEZONE, default UTC
      "profiles": [
        {
          "name": "default",              # "default" = HOME_DIR itself,
                                          # else HOME_DIR/profiles/<name>
          "created_at": 1790000000,       # named profiles: creation time
          "description": "...",           # optional, profile.yaml
          "cron_jobs": [
            {"id": "3f9a0c1b2d4e",        # 12 hex digits
             "name": "Morning briefing", "prompt": "...",
             "schedule": "0 7 * * *",     # anything cron.jobs.parse_schedule
             "model": "deepseek-chat", "provider": "deepseek",
             "base_url": "https://api.deepseek.com/v1",
             "deliver": "telegram",       # optional
             "origin": {...},             # optional, kept as given
             "created_at": 1790000000,
             "deleted_at": 1791000000}    # optional: removed from jobs.json
          ],
          "sessions": [
            {
              "id": "...",                # optional, derived when absent
              "source": "cli",            # cli, telegram, discord, ..., cron
              "cron_job": "3f9a0c1b2d4e", # source cron: the job that ran
              "started_at": 1790000000,
              "ended_at": 1790000300,     # optional; null leaves it open
              "end_reason": "cli_close",  # cron: cron_complete by default
              "model": "...", "provider": "...", "base_url": "...",
                                          # cron: default to the job's
              "api_mode": "chat_completions",  # optional; the default,
                                          # anthropic_messages for anthropic
              "system_prompt": "...",
              "max_iterations": 90,       # optional, model_config
              "cwd": "/home/u/src/app",   # optional, CLI sessions
              "peer": {"user_id": "...", "chat_id": "...",
                       "chat_type": "dm", "user_name": "...",
                       "chat_name": "...", "thread_id": null},
                                          # gateway sources
              "title": "...",             # optional, not for cron: stored
                                          # at the title_generation side
                                          # call, else at the end
              "parent_session_id": "...", # optional
              "turns": [
                {
                  "at": 1790000005,
                  "user": "text",         # cron: omitted, the job prompt
                  "switch": {"model": "...", "provider": "...",
                             "base_url": "...", "api_mode": "...",
                             "via": "cli",           # or "gateway"
                             "system_prompt": "..."},  # optional, cli
                  "calls": [
                    {"latency": 3.2,      # seconds the call took
                     "input": 9000,       # non-cached prompt tokens
                     "output": 400, "cache_read": 7000,
                     "cache_write": 0, "reasoning": 0,
                     "model": "...", "provider": "...",
                     "base_url": "...",   # optional per-call route
                     "tools": [{"name": "web_search",
                                "arguments": {"query": "..."},
                                "result": "...", "duration": 1.5}],
                     "thinking": "..."},  # optional reasoning text
                    {"task": "title_generation",   # a side call
                     "model": "...", "provider": "...", "base_url": "...",
                     "latency": 0.8, "input": 300, "output": 12},
                    {"task": "compression", "input": 30000, "output": 1500,
                     "rotate": true,          # end the session, continue
                     "summary": "..."}        # in a child, as compression
                  ],
                  "reply": "final assistant text"
                }
              ]
            }
          ]
        }
      ]
    }

Calls run in list order. A main call with ``tools`` writes an assistant
message with ``tool_calls`` and one ``tool`` message per tool; the last main
call of a turn writes ``reply``. A side call's route defaults to the
session's current one. Token fields keep Hermes' meaning: ``input`` excludes
cached tokens, the prompt is ``input + cache_read + cache_write``, and
``reasoning`` is part of ``output``.

``rotate`` does what compression does by default in 0.19.0: end the session
with ``end_reason = 'compression'``, create a child with
``parent_session_id`` and the next title of the lineage (``Title #2``), and
go on there. The child's transcript is the summary handoff only (Hermes also
keeps a protected head and tail of the old messages), and its
``profile_name`` stays NULL, as Hermes leaves it. The agent's call counter,
the ``#N`` of the log line, goes on across the rotation.

Schema 19 (``--schema 19``)
---------------------------
Databases from before schema 20 have no ``session_model_usage``. Hermes
0.19.0 has no old DDL to start from: ``_init_schema`` reconciles columns
declaratively from ``SCHEMA_SQL``, and released 0.18.2 (schema 19) had the
same ``SCHEMA_SQL`` less the ``session_model_usage`` and ``async_delegations``
tables with their indexes and the columns ``sessions.profile_name``,
``sessions.compression_fallback_streak``, ``messages.effect_disposition`` and
``messages.api_content``. So this mode first writes the home as above, then
for each ``state.db`` makes a new file by running 0.19.0's own
``SessionDB._init_schema`` with ``SCHEMA_SQL`` cut down that way and
``SCHEMA_VERSION = 19``, and copies the ``sessions`` and ``messages`` rows
into it column for column (the FTS triggers index the messages again). Side
calls vanish, as they did before schema 20 (they were not recorded), and the
``sessions`` totals are the main-loop sums. Opening such a file with Hermes
0.19.0 runs its v20 migration, which seeds ``session_model_usage`` from those
totals.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import heapq
import importlib.util
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import CodeType, SimpleNamespace
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from schema19 import downgrade_to_schema_19

GATEWAY_RESET_REASONS = frozenset(
    {"session_reset", "idle", "daily", "suspended", "resume_pending_expired"}
)
TOKEN_FIELDS = ("input", "output", "cache_read", "cache_write", "reasoning")


class SpecError(ValueError):
    """The spec asks for something this writer cannot produce."""


# --------------------------------------------------------------------------
# Clock


class Clock:
    """The one time source of the writer process, set step by step."""

    def __init__(self, tz_name: str) -> None:
        self.tz = ZoneInfo(tz_name)
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def hermes_now(self) -> datetime:
        return datetime.fromtimestamp(self.now, self.tz)

    @contextmanager
    def installed(self) -> Iterator[None]:
        import cron.jobs
        import cron.scheduler
        import hermes_time

        with ExitStack() as stack:
            stack.enter_context(mock.patch("time.time", self.time))
            stack.enter_context(mock.patch.object(hermes_time, "now", self.hermes_now))
            # The cron modules bound hermes_time.now to a name at import.
            for module in (cron.jobs, cron.scheduler):
                stack.enter_context(
                    mock.patch.object(module, "_hermes_now", self.hermes_now)
                )
            yield


# --------------------------------------------------------------------------
# Hermes source: format strings and expressions used as Hermes wrote them


def _module_tree(module: str) -> ast.Module:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LookupError(f"hermes module {module} is not installed")
    return ast.parse(Path(spec.origin).read_text(encoding="utf-8"))


def log_format(module: str, prefix: str) -> str:
    """Return the first string literal passed to a call that starts with prefix."""
    for node in ast.walk(_module_tree(module)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value.startswith(prefix)
        ):
            return first.value
    raise LookupError(f"no log call starting {prefix!r} in {module}")


def assigned_expression(module: str, name: str) -> CodeType:
    """Compile the first non-literal value assigned to name in module."""
    for node in ast.walk(_module_tree(module)):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if (
            isinstance(target, ast.Name)
            and target.id == name
            and not isinstance(node.value, ast.Constant)
        ):
            expression = ast.Expression(node.value)
            return compile(expression, f"<{module}:{name}>", "eval")
    raise LookupError(f"no assignment to {name} in {module}")


@dataclass(frozen=True)
class HermesText:
    """Text shapes Hermes builds inline, taken from its installed source."""

    api_call: str
    cache_suffix: CodeType
    running_job: str
    model_switched: str
    cron_session_id: CodeType
    cron_title_base: CodeType
    cron_title: CodeType

    @classmethod
    def load(cls) -> HermesText:
        loop = "agent.conversation_loop"
        scheduler = "cron.scheduler"
        return cls(
            api_call=log_format(loop, "API call #"),
            cache_suffix=assigned_expression(loop, "_cache_pct"),
            running_job=log_format(scheduler, "Running job "),
            model_switched=log_format(
                "agent.agent_runtime_helpers", "Model switched in-place"
            ),
            cron_session_id=assigned_expression(scheduler, "_cron_session_id"),
            cron_title_base=assigned_expression(scheduler, "_title_base"),
            cron_title=assigned_expression(scheduler, "_cron_title"),
        )


# --------------------------------------------------------------------------
# Usage in each provider's response shape


def _tokens(call: dict[str, Any]) -> dict[str, int]:
    tokens = {}
    for name in TOKEN_FIELDS:
        value = call.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SpecError(f"{name} must be a non-negative integer, got {value!r}")
        tokens[name] = value
    if tokens["reasoning"] > tokens["output"]:
        raise SpecError("reasoning tokens are part of output: reasoning > output")
    return tokens


def response_usage(provider: str, api_mode: str, call: dict[str, Any]) -> Any:
    """Build the usage object the provider's API returns for these tokens."""
    t = _tokens(call)
    prompt = t["input"] + t["cache_read"] + t["cache_write"]
    if provider == "anthropic" or api_mode == "anthropic_messages":
        return SimpleNamespace(
            input_tokens=t["input"],
            output_tokens=t["output"],
            cache_read_input_tokens=t["cache_read"],
            cache_creation_input_tokens=t["cache_write"],
        )
    reasoning = SimpleNamespace(reasoning_tokens=t["reasoning"])
    if provider == "deepseek":
        return SimpleNamespace(
            prompt_tokens=prompt,
            completion_tokens=t["output"],
            total_tokens=prompt + t["output"],
            prompt_cache_hit_tokens=t["cache_read"],
            prompt_cache_miss_tokens=t["input"] + t["cache_write"],
            completion_tokens_details=reasoning,
        )
    details = SimpleNamespace(
        cached_tokens=t["cache_read"], cache_write_tokens=t["cache_write"]
    )
    return SimpleNamespace(
        prompt_tokens=prompt,
        completion_tokens=t["output"],
        total_tokens=prompt + t["output"],
        prompt_tokens_details=details,
        completion_tokens_details=reasoning,
    )


def canonical_usage(route: Route, call: dict[str, Any]) -> Any:
    """Normalise the response usage the way the agent loop does; check it."""
    from agent.usage_pricing import normalize_usage

    raw = response_usage(route.provider, route.api_mode, call)
    usage = normalize_usage(raw, provider=route.provider, api_mode=route.api_mode)
    got = (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
    )
    wanted = tuple(_tokens(call)[name] for name in TOKEN_FIELDS)
    if got != wanted:
        raise SpecError(f"{route.provider} usage shape cannot carry {call}")
    return usage


# --------------------------------------------------------------------------
# Sessions


def default_api_mode(provider: str) -> str:
    """The agent's api_mode when the spec names none."""
    return "anthropic_messages" if provider == "anthropic" else "chat_completions"


@dataclass
class Route:
    """Model, provider and endpoint of the agent at one moment."""

    model: str
    provider: str
    base_url: str
    api_mode: str = ""

    def __post_init__(self) -> None:
        self.api_mode = self.api_mode or default_api_mode(self.provider)

    def with_call(self, call: dict[str, Any]) -> Route:
        provider = call.get("provider", self.provider)
        same_provider = provider == self.provider
        return Route(
            model=call.get("model", self.model),
            provider=provider,
            base_url=call.get("base_url", self.base_url),
            api_mode=call.get("api_mode", self.api_mode if same_provider else ""),
        )


@dataclass
class SessionState:
    """What the agent holds while it runs one session."""

    spec: dict[str, Any]
    session_id: str
    route: Route
    job: dict[str, Any] | None
    model_config: dict[str, Any]
    calls_made: int = 0
    first_id: str = field(init=False)
    pending_title: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.first_id = self.session_id
        title = self.spec.get("title")
        self.pending_title = title if self.spec["source"] != "cron" else None


@dataclass
class ProfileWriter:
    """Writes one profile's sessions, cron jobs and log into its home."""

    home: Path
    name: str
    db: Any
    text: HermesText
    tz: ZoneInfo
    spec_jobs: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def profile_name(self) -> str | None:
        from hermes_cli.profiles import get_active_profile_name

        active = get_active_profile_name()
        return None if active == "default" else active

    # -- cron jobs ---------------------------------------------------------

    def job_steps(self, job: dict[str, Any]) -> Iterator[float]:
        """Create the job at created_at and remove it at deleted_at."""
        import cron.jobs

        yield float(job["created_at"])
        job_id = job["id"]
        if not re.fullmatch(r"[0-9a-f]{12}", job_id):
            raise SpecError(f"cron job id must be 12 hex digits: {job_id!r}")
        fixed = uuid.UUID(job_id + "0" * 20)
        fixed_uuid = SimpleNamespace(uuid4=lambda: fixed)
        with mock.patch.object(cron.jobs, "uuid", fixed_uuid):
            cron.jobs.create_job(
                prompt=job["prompt"],
                schedule=job["schedule"],
                name=job["name"],
                deliver=job.get("deliver"),
                origin=job.get("origin"),
                model=job.get("model"),
                provider=job.get("provider"),
                base_url=job.get("base_url"),
            )
        if job.get("deleted_at") is not None:
            yield float(job["deleted_at"])
            if not cron.jobs.remove_job(job_id):
                raise SpecError(f"cron job {job_id} was already gone")

    # -- sessions ----------------------------------------------------------

    def session_steps(self, state: SessionState) -> Iterator[float]:
        """Write one session, yielding the time of each next step."""
        import cron.scheduler

        s = state.spec
        yield float(s["started_at"])
        if s["source"] == "cron":
            self._start_cron_run(state)
        _set_log_session(state.session_id)
        self._open_session(state)

        for turn in s["turns"]:
            yield float(turn["at"])
            if "switch" in turn:
                state.route = self._switch(state, turn["switch"])
            user_text = turn.get("user")
            if user_text is None and state.job is not None:
                user_text = cron.scheduler._build_job_prompt(state.job)
            if user_text is None:
                raise SpecError(f"a turn of {state.first_id} has no user text")
            self.db.append_message(
                session_id=state.session_id, role="user", content=user_text
            )
            yield from self._turn_calls(state, turn)

        end_time = s.get("ended_at")
        if end_time is not None:
            yield float(end_time)
        self._close_session(state, ended=end_time is not None)

    def new_state(self, s: dict[str, Any], session_id: str) -> SessionState:
        """The agent's state for a session; cron runs take the job's route."""
        job: dict[str, Any] = {}
        if s["source"] == "cron":
            found = [j for j in self.spec_jobs if j["id"] == s.get("cron_job")]
            if not found:
                raise SpecError(f"session {session_id}: unknown cron job")
            job = found[0]
        model = s.get("model") or job.get("model")
        provider = s.get("provider") or job.get("provider")
        base_url = s.get("base_url") or job.get("base_url")
        if not (model and provider and base_url):
            raise SpecError(f"session {session_id} needs model, provider, base_url")
        model_config = {
            "max_iterations": s.get("max_iterations", 90),
            "reasoning_config": None,
            "max_tokens": None,
        }
        route = Route(model, provider, base_url, s.get("api_mode", ""))
        return SessionState(s, session_id, route, None, model_config)

    def _start_cron_run(self, state: SessionState) -> None:
        """Claim the run the way the ticker does before run_job starts."""
        import cron.jobs

        job = cron.jobs.get_job(state.spec["cron_job"])
        if job is None:
            raise SpecError(f"cron job {state.spec['cron_job']} is not in jobs.json")
        state.job = job
        cron.jobs.advance_next_run(job["id"])
        _clear_log_session()
        logging.getLogger("cron.scheduler").info(
            self.text.running_job, job["name"], job["id"]
        )

    def _open_session(self, state: SessionState) -> None:
        s = state.spec
        if s.get("peer") is not None:
            self._open_gateway_row(s["source"], state.session_id, s["peer"])
        self.db.create_session(
            session_id=state.session_id,
            source=s["source"],
            model=state.route.model,
            model_config=state.model_config,
            system_prompt=s.get("system_prompt"),
            user_id=None,
            parent_session_id=s.get("parent_session_id"),
            cwd=s.get("cwd") if s["source"] == "cli" else None,
            profile_name=self.profile_name,
        )

    def _open_gateway_row(
        self, source: str, session_id: str, peer: dict[str, Any]
    ) -> None:
        """Create the row as gateway.session.SessionStore does, before the agent."""
        from gateway.config import Platform
        from gateway.session import SessionSource, build_session_key

        origin = SessionSource(
            platform=Platform(source),
            chat_id=peer["chat_id"],
            chat_name=peer.get("chat_name"),
            chat_type=peer.get("chat_type", "dm"),
            user_id=peer.get("user_id"),
            user_name=peer.get("user_name"),
            thread_id=peer.get("thread_id"),
        )
        session_key = build_session_key(origin)
        self.db.create_session(
            session_id=session_id,
            source=origin.platform.value,
            user_id=origin.user_id,
            session_key=session_key,
            chat_id=origin.chat_id,
            chat_type=origin.chat_type,
            thread_id=origin.thread_id,
            profile_name=origin.profile,
        )
        self.db.record_gateway_session_peer(
            session_id,
            source=origin.platform.value,
            user_id=origin.user_id,
            session_key=session_key,
            chat_id=origin.chat_id,
            chat_type=origin.chat_type,
            thread_id=origin.thread_id,
            display_name=origin.chat_name,
            origin_json=json.dumps(origin.to_dict()),
        )

    def _switch(self, state: SessionState, switch: dict[str, Any]) -> Route:
        old = state.route
        new = Route(
            model=switch["model"],
            provider=switch["provider"],
            base_url=switch["base_url"],
            api_mode=switch.get("api_mode", ""),
        )
        via = switch.get("via", "cli")
        if via == "gateway":
            self.db.update_session_model(state.session_id, new.model)
            return new
        if via != "cli":
            raise SpecError(f"switch via must be cli or gateway, not {via!r}")
        logging.getLogger("agent.agent_runtime_helpers").info(
            self.text.model_switched, old.model, old.provider, new.model, new.provider
        )
        self.db.update_session_billing_route(
            state.session_id,
            provider=new.provider,
            base_url=new.base_url,
            billing_mode=new.api_mode,
        )
        if switch.get("system_prompt"):
            self.db.update_system_prompt(state.session_id, switch["system_prompt"])
        return new

    def _turn_calls(self, state: SessionState, turn: dict[str, Any]) -> Iterator[float]:
        main_calls = [c for c in turn["calls"] if "task" not in c]
        if not main_calls:
            raise SpecError(f"a turn of {state.first_id} has no main-loop call")
        last_main = main_calls[-1]
        clock_time = float(turn["at"])
        for call in turn["calls"]:
            clock_time += float(call.get("latency", 1.0))
            yield clock_time
            if "task" in call:
                self._side_call(state, call)
                continue
            state.calls_made += 1
            self._main_call(state, call)
            if call is last_main:
                self._assistant(state, turn.get("reply", ""), call, None)
                continue
            tools = call.get("tools") or []
            tool_calls = [
                {
                    "id": _call_id(state.session_id, state.calls_made, index),
                    "type": "function",
                    "function": {
                        "name": tool["name"],
                        "arguments": json.dumps(tool.get("arguments", {})),
                    },
                }
                for index, tool in enumerate(tools)
            ]
            if tool_calls:
                self._assistant(state, "", call, tool_calls)
            for tool, tool_call in zip(tools, tool_calls, strict=True):
                clock_time += float(tool.get("duration", 0.5))
                yield clock_time
                self.db.append_message(
                    session_id=state.session_id,
                    role="tool",
                    content=tool.get("result", ""),
                    tool_name=tool["name"],
                    tool_call_id=tool_call["id"],
                )

    def _assistant(
        self,
        state: SessionState,
        content: str,
        call: dict[str, Any],
        tool_calls: list[dict[str, Any]] | None,
    ) -> None:
        self.db.append_message(
            session_id=state.session_id,
            role="assistant",
            content=content,
            tool_calls=tool_calls,
            finish_reason="tool_calls" if tool_calls else "stop",
            reasoning=call.get("thinking"),
        )

    def _main_call(self, state: SessionState, call: dict[str, Any]) -> None:
        """Account one main-loop API call as agent/conversation_loop.py does."""
        from agent.usage_pricing import estimate_usage_cost

        route = state.route.with_call(call)
        usage = canonical_usage(route, call)
        prompt_tokens = usage.prompt_tokens
        cache_suffix = ""
        if usage.cache_read_tokens and prompt_tokens:
            names = {"canonical_usage": usage, "prompt_tokens": prompt_tokens}
            cache_suffix = eval(self.text.cache_suffix, {}, names)
        logging.getLogger("agent.conversation_loop").info(
            self.text.api_call,
            state.calls_made,
            route.model,
            route.provider or "unknown",
            prompt_tokens,
            usage.output_tokens,
            usage.total_tokens,
            float(call.get("latency", 1.0)),
            cache_suffix,
        )
        cost = estimate_usage_cost(
            route.model,
            usage,
            provider=route.provider,
            base_url=route.base_url,
            api_key="",
        )
        amount = float(cost.amount_usd) if cost.amount_usd is not None else None
        included = cost.status == "included"
        self.db.update_token_counts(
            state.session_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            estimated_cost_usd=amount,
            cost_status=cost.status,
            cost_source=cost.source,
            billing_provider=route.provider,
            billing_base_url=route.base_url,
            billing_mode="subscription_included" if included else None,
            model=route.model,
            api_call_count=1,
        )
        self._expect(state.session_id, "main", call)

    def _side_call(self, state: SessionState, call: dict[str, Any]) -> None:
        """Record an auxiliary call through the auxiliary client's own path."""
        from agent.aux_accounting import (
            record_aux_usage,
            reset_accounting_context,
            set_accounting_context,
        )

        route = state.route.with_call(call)
        raw = response_usage(route.provider, route.api_mode, call)
        response = SimpleNamespace(model=route.model, usage=raw)
        token = set_accounting_context(self.db, state.session_id)
        try:
            record_aux_usage(
                response,
                call["task"],
                provider=route.provider,
                base_url=route.base_url,
            )
        finally:
            reset_accounting_context(token)
        self._expect(state.session_id, "side", call)
        if call["task"] == "title_generation":
            self._persist_title(state)
        if call.get("rotate"):
            self._rotate(state, call.get("summary", ""))

    def _rotate(self, state: SessionState, summary: str) -> None:
        """End the session and fork a continuation, as compression does."""
        from agent.context_compressor import _SUMMARY_END_MARKER, ContextCompressor

        old_id = state.session_id
        old_title = self.db.get_session_title(old_id)
        self.db.end_session(old_id, "compression")
        state.session_id = _continuation_id(old_id, self.tz)
        _set_log_session(state.session_id)
        self.db.create_session(
            session_id=state.session_id,
            source=state.spec["source"],
            model=state.route.model,
            model_config=state.model_config,
            parent_session_id=old_id,
        )
        if old_title:
            new_title = self.db.get_next_title_in_lineage(old_title)
            self.db.set_session_title(state.session_id, new_title)
        prompt = state.spec.get("system_prompt")
        if prompt:
            self.db.update_system_prompt(state.session_id, prompt)
        handoff = ContextCompressor._with_summary_prefix(summary)
        compressed = [
            {"role": "user", "content": handoff + "\n\n" + _SUMMARY_END_MARKER}
        ]
        self.db.replace_messages(state.session_id, compressed)

    def _close_session(self, state: SessionState, ended: bool) -> None:
        if state.job is not None:
            self._close_cron_session(state)
            return
        self._persist_title(state)
        if not ended:
            return
        reason = state.spec.get("end_reason") or "cli_close"
        gateway = state.spec.get("peer") is not None
        if gateway and reason in GATEWAY_RESET_REASONS:
            self.db.promote_to_session_reset(state.session_id, reason)
        else:
            self.db.end_session(state.session_id, reason)

    def _persist_title(self, state: SessionState) -> None:
        """Store the spec's title as the title generator stores its result.

        The generator titles the session the agent is on when the first
        exchange ends, which after a compression rotation is the child.
        """
        from agent.title_generator import _persist_session_title

        if state.pending_title:
            _persist_session_title(self.db, state.session_id, state.pending_title)
            state.pending_title = None

    def _close_cron_session(self, state: SessionState) -> None:
        """Title, end and mark the run as cron.scheduler.run_job does."""
        import cron.jobs
        import cron.scheduler

        job = state.job
        assert job is not None
        names: dict[str, Any] = {
            "job_name": job["name"],
            "job_id": job["id"],
            "_hermes_now": cron.scheduler._hermes_now,
        }
        names["_title_base"] = eval(self.text.cron_title_base, {}, names)
        title = eval(self.text.cron_title, {}, names)
        cron.scheduler._set_cron_session_title(self.db, state.first_id, title)
        self.db.end_session(state.first_id, "cron_complete")
        cron.jobs.mark_job_run(job["id"], True)

    def cron_session_id(self, s: dict[str, Any]) -> str:
        if "cron_job" not in s:
            raise SpecError("a cron session needs cron_job")
        names = {
            "job_id": s["cron_job"],
            "_hermes_now": _fixed_now(s["started_at"], self.tz),
        }
        return str(eval(self.text.cron_session_id, {}, names))

    # -- bookkeeping for the final check ------------------------------------

    def _expect(self, session_id: str, kind: str, call: dict[str, Any]) -> None:
        totals = self.expected.setdefault(session_id, {})
        for name in TOKEN_FIELDS:
            key = f"{kind}_{name}"
            totals[key] = totals.get(key, 0) + int(call.get(name, 0))
        totals[f"{kind}_calls"] = totals.get(f"{kind}_calls", 0) + 1


def _fixed_now(epoch: float, tz: ZoneInfo) -> Callable[[], datetime]:
    """A hermes_time.now stand-in frozen at epoch, for id expressions."""
    return lambda: datetime.fromtimestamp(float(epoch), tz)


def _continuation_id(parent_id: str, tz: ZoneInfo) -> str:
    """The id compression gives a continuation: YYYYmmdd_HHMMSS_<6 hex>."""
    stamp = datetime.fromtimestamp(time.time(), tz).strftime("%Y%m%d_%H%M%S")
    digest = hashlib.sha256(f"{parent_id}/continuation".encode()).hexdigest()
    return f"{stamp}_{digest[:6]}"


def _call_id(session_id: str, call_number: int, index: int) -> str:
    digest = hashlib.sha256(f"{session_id}/{call_number}/{index}".encode())
    return "call_" + digest.hexdigest()[:24]


def _set_log_session(session_id: str) -> None:
    from hermes_logging import set_session_context

    set_session_context(session_id)


def _clear_log_session() -> None:
    from hermes_logging import clear_session_context

    clear_session_context()


def derived_session_id(
    profile: str, index: int, s: dict[str, Any], tz: ZoneInfo
) -> str:
    """Hermes' YYYYmmdd_HHMMSS_<hex> id: 6 hex for the agent, 8 for gateways."""
    stamp = datetime.fromtimestamp(float(s["started_at"]), tz)
    digest = hashlib.sha256(f"{profile}/{index}/{s['started_at']}".encode())
    width = 8 if s.get("peer") is not None else 6
    return f"{stamp.strftime('%Y%m%d_%H%M%S')}_{digest.hexdigest()[:width]}"


# --------------------------------------------------------------------------
# Running steps in time order


Step = tuple[Iterator[float], Callable[[], None]]


def run_in_time_order(clock: Clock, steps: list[Step]) -> None:
    """Advance every step generator in global time order, setting the clock.

    Each generator yields the time of its next step; before resuming it the
    clock is set to that time and its log session tag is restored, so rows,
    messages and log lines of overlapping sessions interleave as they would.
    """
    heap: list[tuple[float, int, Iterator[float], Callable[[], None]]] = []
    for seq, (gen, enter) in enumerate(steps):
        first = next(gen, None)
        if first is not None:
            heapq.heappush(heap, (first, seq, gen, enter))
    while heap:
        when, seq, gen, enter = heapq.heappop(heap)
        clock.now = when
        enter()
        following = next(gen, None)
        if following is None:
            continue
        if following < when:
            raise SpecError(f"a step at {following} comes after one at {when}")
        heapq.heappush(heap, (following, seq, gen, enter))


def _log_tag_of(state: SessionState) -> Callable[[], None]:
    return lambda: _set_log_session(state.session_id)


# --------------------------------------------------------------------------
# Profiles and the home


def profile_home(root: Path, profile: dict[str, Any], clock: Clock) -> Path:
    """Return the profile's home, creating a named profile the Hermes way."""
    if profile["name"] == "default":
        root.mkdir(parents=True, exist_ok=True)
        return root
    from hermes_cli.profiles import create_profile

    os.environ["HERMES_HOME"] = str(root)
    clock.now = float(profile["created_at"])
    return Path(
        create_profile(
            profile["name"],
            no_alias=True,
            description=profile.get("description"),
        )
    )


def start_log(home: Path) -> None:
    """Point Hermes' file logging at this profile's logs/ directory."""
    import hermes_logging

    hermes_logging._reset_queued_handlers()
    hermes_logging.setup_logging(hermes_home=home, force=True)


def stop_log() -> None:
    import hermes_logging

    hermes_logging._reset_queued_handlers()


def write_profile(
    root: Path, profile: dict[str, Any], clock: Clock, text: HermesText
) -> ProfileWriter:
    from hermes_state import SessionDB

    home = profile_home(root, profile, clock)
    os.environ["HERMES_HOME"] = str(home)
    start_log(home)
    db = SessionDB(home / "state.db")
    writer = ProfileWriter(
        home=home,
        name=profile["name"],
        db=db,
        text=text,
        tz=clock.tz,
        spec_jobs=profile.get("cron_jobs", []),
    )
    steps: list[Step] = []
    for job in profile.get("cron_jobs", []):
        steps.append((writer.job_steps(job), _clear_log_session))
    for index, s in enumerate(profile.get("sessions", [])):
        session_id = s.get("id") or (
            writer.cron_session_id(s)
            if s["source"] == "cron"
            else derived_session_id(profile["name"], index, s, clock.tz)
        )
        state = writer.new_state(s, session_id)
        steps.append((writer.session_steps(state), _log_tag_of(state)))
    try:
        run_in_time_order(clock, steps)
        db.vacuum()
    finally:
        db.close()
        stop_log()
    return writer


def check_profile(writer: ProfileWriter) -> None:
    """Compare what Hermes stored with what the spec asked for."""
    conn = sqlite3.connect(writer.home / "state.db")
    try:
        for session_id, totals in writer.expected.items():
            row = conn.execute(
                "SELECT input_tokens, output_tokens, cache_read_tokens,"
                " cache_write_tokens, reasoning_tokens, api_call_count"
                " FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            wanted = [totals.get(f"main_{n}", 0) for n in TOKEN_FIELDS]
            wanted.append(totals.get("main_calls", 0))
            if row is None or list(row) != wanted:
                raise RuntimeError(f"{session_id}: sessions has {row}, not {wanted}")
            side = conn.execute(
                "SELECT COALESCE(SUM(api_call_count), 0) FROM session_model_usage"
                " WHERE session_id = ? AND task != ''",
                (session_id,),
            ).fetchone()[0]
            if side != totals.get("side_calls", 0):
                raise RuntimeError(f"{session_id}: {side} side calls recorded")
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Entry point


def prepare_environment(home: Path, scratch: Path, tz_name: str) -> None:
    """Keep Hermes inside HOME_DIR and a scratch HOME, on the spec's timezone."""
    os.environ["HOME"] = str(scratch)
    os.environ["HERMES_HOME"] = str(home)
    os.environ["TZ"] = tz_name
    os.environ["HERMES_TIMEZONE"] = tz_name
    time.tzset()


def no_endpoint_prices(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
    """What a /models endpoint without price fields yields to Hermes."""
    return {}


def write_home(spec: dict[str, Any], home: Path, schema: int) -> list[ProfileWriter]:
    tz_name = spec.get("timezone", "UTC")
    clock = Clock(tz_name)
    names = [profile["name"] for profile in spec["profiles"]]
    if len(set(names)) != len(names):
        raise SpecError("profile names repeat")
    writers = []
    with ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="hermes-"))
        prepare_environment(home, Path(scratch), tz_name)
        text = HermesText.load()
        stack.enter_context(clock.installed())
        stack.enter_context(
            mock.patch(
                "agent.usage_pricing.fetch_endpoint_model_metadata",
                no_endpoint_prices,
            )
        )
        for profile in sorted(spec["profiles"], key=lambda p: p["name"] != "default"):
            writer = write_profile(home, profile, clock, text)
            check_profile(writer)
            writers.append(writer)
        if schema == 19:
            for writer in writers:
                downgrade_to_schema_19(writer.home / "state.db")
    return writers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", type=Path, help="spec JSON file")
    parser.add_argument("home", type=Path, help="Hermes home to create")
    parser.add_argument(
        "--schema",
        type=int,
        choices=(22, 19),
        default=22,
        help="22: as hermes-agent 0.19.0 writes; 19: from before schema 20",
    )
    args = parser.parse_args(argv)
    home = args.home.resolve()
    if home.exists() and any(home.iterdir()):
        print(f"{home} is not empty; give a new directory", file=sys.stderr)
        return 2
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    try:
        writers = write_home(spec, home, args.schema)
    except SpecError as error:
        print(f"spec error: {error}", file=sys.stderr)
        return 2
    for writer in writers:
        print(
            f"{writer.name}: {len(writer.expected)} sessions with calls",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
