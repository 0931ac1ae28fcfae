"""Every table of the data model; importing this package registers them all on ``Base``."""

from saas.models.audit import AuditLog
from saas.models.backtests import Backtest as Backtest
from saas.models.base import Base, JSONType, Money, UTCDateTime
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

__all__ = [
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
