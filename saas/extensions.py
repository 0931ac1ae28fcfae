"""Flask extensions, created once and bound to the app in ``create_app``."""

from flask_sqlalchemy import SQLAlchemy

from saas.models.base import Base

# Bound to our plain DeclarativeBase: db.session and db.metadata serve the same models that
# main.py and the runner use through saas.db without Flask.
db = SQLAlchemy(model_class=Base)
