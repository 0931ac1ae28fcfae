"""Every table of the data model; importing this package registers them all on ``Base``."""

from saas.models.api_tokens import ApiToken
from saas.models.audit import AuditLog
from saas.models.backtests import Backtest as Backtest
from saas.models.base import Base, JSONType, Money, UTCDateTime, apply_server_defaults
from saas.models.billing import Invoice, StripeEvent, Subscription
from saas.models.bots import (
    BOT_ERROR,
    BOT_PAUSED,
    BOT_RUNNING,
    BOT_STATUSES,
    BOT_STOPPED,
    EXCHANGES,
    Bot,
)
from saas.models.notifications import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationOutbox,
    NotificationSetting,
    WebhookEndpoint,
)
from saas.models.paper import PaperAccount
from saas.models.plans import DEFAULT_PLAN_KEYS, PlanKey
from saas.models.runs import BotLog, BotRun
from saas.models.stats import BotDailyStat as BotDailyStat
from saas.models.throttle import LoginThrottle
from saas.models.trading import Order, Trade, TradingPair
from saas.models.users import (
    ROLE_ADMIN,
    ROLE_SUPPORT,
    ROLE_USER,
    USER_ACTIVE,
    USER_SUSPENDED,
    User,
)

# Every table is registered now: give hand-written INSERTs the defaults the code uses.
apply_server_defaults(Base.metadata)

__all__ = [
    "DEFAULT_PLAN_KEYS",
    "PlanKey",
    "BOT_ERROR",
    "BOT_PAUSED",
    "BOT_RUNNING",
    "BOT_STATUSES",
    "BOT_STOPPED",
    "EXCHANGES",
    "ROLE_ADMIN",
    "ROLE_SUPPORT",
    "ROLE_USER",
    "USER_ACTIVE",
    "USER_SUSPENDED",
    "ApiToken",
    "AuditLog",
    "Base",
    "Bot",
    "BotLog",
    "BotRun",
    "Invoice",
    "JSONType",
    "LoginThrottle",
    "Money",
    "NotificationAttempt",
    "NotificationDelivery",
    "NotificationOutbox",
    "NotificationSetting",
    "Order",
    "PaperAccount",
    "StripeEvent",
    "Subscription",
    "Trade",
    "TradingPair",
    "UTCDateTime",
    "User",
    "WebhookEndpoint",
]
