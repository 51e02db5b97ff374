"""mutmut runner: send pytest stages (split at "--next--") to a forkserver; exit with 0 or 1."""
import json
import socket
import sys

path, args = sys.argv[1], sys.argv[2:]
stages, current = [], []
for arg in args:
    if arg == "--next--":
        stages.append(current)
        current = []
    else:
        current.append(arg)
stages.append(current)
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.connect(path)
    s.sendall(json.dumps(stages).encode() + b"\n")
    with s.makefile("rb") as lines:
        reply = lines.readline().strip()
code = int(reply or b"98")
# mutmut 2 counts only exit code 1 as a kill; a mutant that breaks the import (pytest exits
# 2 or 4: collection or conftest error) or crashes the run fails the tests just as surely.
print("tests failed" if code else "tests passed", code)
sys.exit(1 if code else 0)
