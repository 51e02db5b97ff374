"""Serves the app for browser tests on 127.0.0.1 (run as a separate process, stopped by PID).

Production-like: CSRF on, real bcrypt cost lowered only for speed, the embedded database over TCP.
"""
import argparse

from werkzeug.serving import make_server

from app import create_app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--mongo-uri", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    app = create_app({
        "ENV_NAME": "development", "INSTANCE_PATH": args.instance, "MONGO_URI": args.mongo_uri,
        "MONGO_DB": args.db, "SECRET_KEY": "browser-test-secret", "BCRYPT_ROUNDS": 4,
        "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT": "1000 per minute",
    })
    make_server("127.0.0.1", args.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
