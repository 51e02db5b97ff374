"""gunicorn's settings for MedLedger (read from the project root: `gunicorn 'app:create_app()'`).

Threaded workers (`gthread`): a client that sends its request slowly holds one thread, not a
whole worker, so two slow clients cannot freeze the app for everyone else (tested in
tests/test_slow_clients.py). Each environment variable below overrides its default.
"""
import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
"""Processes. On the embedded database run exactly one (the server belongs to it); on MongoDB
about one per core."""
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
"""Threads per worker (more than one: gunicorn also picks gthread itself for threads > 1)."""
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
"""A worker silent for this long is restarted; requests end well before reconcile's grace."""
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
