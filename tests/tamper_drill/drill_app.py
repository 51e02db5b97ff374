"""The app for gunicorn in the fault drill: `gunicorn 'tests.tamper_drill.drill_app:create()'`,
configured by one JSON environment variable (DRILL_CONFIG)."""
import json
import os

from app import create_app


def create():
    return create_app(json.loads(os.environ["DRILL_CONFIG"]))
