"""The app as its own process on 127.0.0.1, for the crash drill (stopped by PID, or by the
fault it was told to inject). Configuration comes as one JSON argument."""
import json
import sys

from werkzeug.serving import make_server

from app import create_app


def main():
    port, config = int(sys.argv[1]), json.loads(sys.argv[2])
    make_server("127.0.0.1", port, create_app(config), threaded=True).serve_forever()


if __name__ == "__main__":
    main()
