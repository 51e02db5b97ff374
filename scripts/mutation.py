"""Mutation testing by group (issue 18), driven by mutmut 2: see scripts/mutation.

mutmut 2 mutates files in place, so each run works on a fresh copy of the checkout (tracked and
untracked-but-not-ignored files) under a scratch directory: the checkout is never touched, and
editing it while a run goes on is safe. Each group has its own copy and mutmut cache there,
so two groups can run at once (two shells).
"""
import argparse
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import mutation_scope

ROOT = Path(__file__).resolve().parent.parent
GROUPS_FILE = ROOT / "scripts" / "mutation_groups.toml"
MARKERS = "not integration and not slow and not browser"
# Browser and parallel plugins are not needed here and cost more than half of pytest's start-up,
# which every mutant pays.
PLUGINS_OFF = "-p no:cacheprovider -p no:playwright -p no:base_url -p no:xdist"
STATUSES = {"ok_killed": "killed", "bad_survived": "survived", "bad_timeout": "timeout",
            "ok_suspicious": "suspicious", "skipped": "skipped", "untested": "untested"}


def load_groups():
    """The groups; a function a group names that its module lacks is an error, not a no-op."""
    with open(GROUPS_FILE, "rb") as handle:
        groups = tomllib.load(handle)
    for name, group in groups.items():
        for path, names in group.get("functions", {}).items():
            lost = set(names) - set(mutation_scope.spans_of(ROOT / path, names))
            if path not in group["modules"]:
                sys.exit(f"mutation: group {name}: {path} is not one of its modules")
            if lost:
                sys.exit(f"mutation: group {name}: {path} has no {', '.join(sorted(lost))}")
    return groups


def workdir():
    """Outside the checkout, so that no test or tool that walks the repository meets a copy."""
    if os.environ.get("MUTATION_WORKDIR"):
        return Path(os.environ["MUTATION_WORKDIR"])
    tag = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"medledger-mutation-{tag}"


def copy_checkout(tree):
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    shutil.rmtree(tree, ignore_errors=True)
    for name in filter(None, listed):
        source = ROOT / name
        if name == ".venv" or name.startswith(".venv/") or not source.is_file():
            continue
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, tree / name)
    shutil.copy2(ROOT / "scripts" / "mutation_scope.py", tree / "mutmut_config.py")


def pytest_args(group):
    return [*PLUGINS_OFF.split(), "-x", "-q", "-m", MARKERS, *group.get("pytest_args", []),
            *group["tests"]]


def runner(group, socket_path):
    """Each mutant's test run goes to the group's fork server (scripts/mutmut_fork), which has
    pytest and the heavy libraries imported already: a mutant then costs its tests, not an
    interpreter start. mutmut 2 counts only exit code 1 as failing tests: the client turns every
    failure (an import broken by the mutant is pytest's 2) into 1."""
    client = ROOT / "scripts" / "mutmut_fork" / "client.py"
    return shlex.join([sys.executable, str(client), str(socket_path), *pytest_args(group)])


@contextlib.contextmanager
def fork_server(tree, env):
    """The group's fork server, listening on a socket in its work copy until the run ends; its
    test runs see the group's `env` too."""
    socket_path = tree / ".fork.sock"
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "mutmut_fork" /
                                                   "forkserver.py"), str(socket_path), str(tree)],
                              env=dict(os.environ, **env))
    try:
        for _ in range(600):
            if socket_path.exists() or server.poll() is not None:
                break
            time.sleep(0.05)
        if not socket_path.exists():
            sys.exit("mutation: the fork server did not start")
        yield socket_path
    finally:
        server.terminate()
        server.wait()


def mutmut(tree, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=tree, **kwargs)


def run_group(name, group, base, keep):
    """Runs one group's mutants on a fresh copy; its counts and the seconds it took."""
    tree = base / name
    copy_checkout(tree)
    cache, saved = tree / ".mutmut-cache", base / "caches" / f"{name}.sqlite"
    partial = base / "caches" / f"{name}.partial.sqlite"
    cache.unlink(missing_ok=True)
    if keep and saved.exists():
        shutil.copy2(saved, cache)
    started, finished = time.monotonic(), False
    try:
        with fork_server(tree, group.get("env", {})) as socket_path:
            done = mutmut(tree, "run", "--paths-to-mutate", ",".join(group["modules"]),
                          "--runner", runner(group, socket_path), "--tests-dir", "tests",
                          "--test-time-multiplier", "2", "--test-time-base", "20",
                          "--no-progress", "--simple-output",
                          env=dict(os.environ,
                                   MUTATION_SCOPE=json.dumps(group.get("functions", {}))))
        finished = True
    finally:
        # An interrupted run's results are kept for --table and --show only: mutmut 2 cannot
        # resume from the cache of a run stopped mid-mutant ("Mutant.line is required").
        seconds = time.monotonic() - started
        # A --keep run's time is not the group's: the table keeps the full run's seconds.
        timed = f"{name}.keep-seconds" if keep else f"{name}.seconds"
        (base / "caches" / timed).write_text(f"{seconds:.0f}\n")
        if cache.exists():
            shutil.copy2(cache, saved if finished else partial)
        if finished:
            partial.unlink(missing_ok=True)
    if done.returncode & 1:
        sys.exit(f"mutation: mutmut failed on group {name} (do its tests pass unmutated?)")
    return counts(cache, group), seconds


def counts(cache, group):
    """Mutants by status; one not run yet outside the group's functions counts as skipped."""
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT m.status, s.filename, l.line_number FROM Mutant m "
                          "JOIN Line l ON m.line = l.id "
                          "JOIN SourceFile s ON l.sourcefile = s.id").fetchall()
    scope = {path: list(mutation_scope.spans_of(ROOT / path, names).values())
             for path, names in group.get("functions", {}).items()}
    result = {label: 0 for label in STATUSES.values()}
    for status, path, line in rows:
        if path not in group["modules"]:  # a module the group no longer names
            continue
        label = STATUSES.get(status, status)
        spans = scope.get(path)
        if label == "untested" and spans is not None and not any(
                first <= line + 1 <= last for first, last in spans):
            label = "skipped"
        result[label] += 1
    return result


def survivors(cache, group):
    with sqlite3.connect(cache) as db:
        return [row[0] for row in db.execute(
            "SELECT m.id, s.filename FROM Mutant m JOIN Line l ON m.line = l.id "
            "JOIN SourceFile s ON l.sourcefile = s.id "
            "WHERE m.status IN ('bad_survived', 'bad_timeout') ORDER BY m.id")
            if row[1] in group["modules"]]


def last_results(base, name):
    """The cache of the group's last run: an interrupted one (partial) if it came later."""
    saved, partial = base / "caches" / f"{name}.sqlite", base / "caches" / f"{name}.partial.sqlite"
    if partial.exists() and (not saved.exists() or partial.stat().st_mtime > saved.stat().st_mtime):
        return partial
    return saved


def show(names, groups, base):
    """Each surviving (or timed-out) mutant's id and diff, from the group's last run."""
    for name in names:
        # Its own copy: `mutmut show` rewrites the cache's line table from the file it finds,
        # so it must never run in the copy of a group that is running (a mutant applied there
        # would corrupt that run's cache).
        saved, tree = last_results(base, name), base / f"{name}.show"
        if not saved.exists():
            print(f"== {name}: no run yet")
            continue
        copy_checkout(tree)
        shutil.copy2(saved, tree / ".mutmut-cache")
        ids = survivors(saved, groups[name])
        print(f"== {name}: {len(ids)} survived or timed out")
        for mutant in ids:
            print(f"-- {name} #{mutant}")
            mutmut(tree, "show", str(mutant))


HEADER = ("| group | mutants | killed | survived | timeout | not run yet | score | seconds |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")


def table_row(name, found, seconds):
    """Score over the mutants tested (an interrupted run says how many are still to run)."""
    total = sum(found.values()) - found["skipped"]  # skipped: outside the group's functions
    killed = found["killed"] + found["suspicious"]  # suspicious: killed, but slowly
    caught = killed + found["timeout"]
    tested = total - found["untested"]
    score = f"{100.0 * caught / tested:.1f} %" if tested else "-"
    return (f"| {name} | {total} | {killed} | {found['survived']} | "
            f"{found['timeout']} | {found['untested']} | {score} | {seconds} |")


def table(names, groups, base):
    """The table of the groups' last runs, finished or not."""
    print(HEADER)
    for name in names:
        saved = last_results(base, name)
        if saved.exists():
            timed = base / "caches" / f"{name}.seconds"
            seconds = timed.read_text().strip() if timed.exists() else "-"
            print(table_row(name, counts(saved, groups[name]), seconds))


def main():
    groups = load_groups()
    parser = argparse.ArgumentParser(prog="scripts/mutation", description=__doc__.split("\n")[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=", ".join(groups))
    parser.add_argument("--list", action="store_true", help="the groups, modules and tests")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the group's last finished run (killed mutants are not rerun)")
    parser.add_argument("--show", action="store_true", help="the survivors of the last run")
    parser.add_argument("--table", action="store_true", help="the score table of the last runs")
    args = parser.parse_args()
    unknown = [name for name in args.groups if name not in groups]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(groups)}")
    names = args.groups or list(groups)
    if args.list:
        for name in names:
            group = groups[name]
            print(f"{name}: {group['about']}\n  modules: {' '.join(group['modules'])}\n"
                  f"  tests:   {' '.join(group['tests'])}")
        return
    base = workdir()
    (base / "caches").mkdir(parents=True, exist_ok=True)
    if args.show or args.table:
        show(names, groups, base) if args.show else table(names, groups, base)
        return
    rows = []
    for name in names:
        print(f"== {name}: {groups[name]['about']}", flush=True)
        found, seconds = run_group(name, groups[name], base, args.keep)
        rows.append(table_row(name, found, f"{seconds:.0f}"))
        print(rows[-1], flush=True)
    print(f"\n{HEADER}")
    print("\n".join(rows))
    print("score = (killed + timeout) / mutants; `scripts/mutation --show GROUP` lists survivors")


if __name__ == "__main__":
    main()
