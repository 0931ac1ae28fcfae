"""Flask extensions, created once and bound to the app in ``create_app``."""

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from saas.models.base import Base

# Bound to our plain DeclarativeBase: db.session and db.metadata serve the same models that
# main.py and the runner use through saas.db without Flask.
db = SQLAlchemy(model_class=Base)


def client_address() -> str:
    """The client's address (ProxyFix has put the proxy's X-Forwarded-For there)."""
    return request.remote_addr or "unknown"


login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"
csrf = CSRFProtect()
# Storage and strategy come from RATELIMIT_* in the app's config (memory:// unless set).
limiter = Limiter(key_func=client_address)
