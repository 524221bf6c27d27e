"""The few columns the read-only reports read (`senderctl costs`), described with SQLAlchemy Core rather
than the ORM tables of controller.state.tables: importing sqlmodel and building every table class took a
quarter of a command meant to answer in under a second. tests/state/test_narrow.py checks that each
column here is the ORM table's, by name and type."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, String, column, table

from controller.state.columns import Money, UTCDateTime

RESOURCES = table("resources", column("address", String), column("kind", String), column("bird_id", String),
                  column("spec", JSON), column("data", JSON))
ORG_CONFIGS = table("org_configs", column("name", String), column("weekly_price", Money), column("currency", String))
PROVIDER_PHONES = table("provider_phones", column("organization", String), column("workspace", String),
                        column("monthly_price", Money), column("released_at", UTCDateTime))
CHANNEL_TRAFFIC = table("channel_traffic", column("channel_id", String), column("outbound_count", BigInteger),
                        column("last_outbound_at", UTCDateTime))

NARROW_TABLES = (RESOURCES, ORG_CONFIGS, PROVIDER_PHONES, CHANNEL_TRAFFIC)
