#!/usr/bin/env bash
# Prove a patch to CPython's Lib/asyncio (findings/patches/NAME.patch) with
# the bench and with CPython's own tests:
#
#   findings/prove_patch.sh [--python PY] [--no-test-asyncio] [NAME.patch...]
#
# (no patch named: every findings/patches/*.patch).  For each patch it
# copies PY's asyncio package to a temporary directory, applies the patch
# there (after the patches its "Needs:" line names, if any) and puts that directory ahead of the standard library with
# PYTHONPATH (the adapter, tools/pipecheck_subject.py, runs without -I/-E,
# and the script checks that the patched copy is the one imported); a patch
# that also changes Lib/test/test_asyncio gets a patched copy of that too,
# in a "test" package of links to the standard one.  Then:
#
#   1. the finding's script (the patch's "Script:" line) shows the finding
#      unpatched (exit 0) and not with the patch (exit 1);
#   2. build/pipecheck --subject asyncio --python PY --json runs against the
#      patched copy and is compared instance by instance with one unpatched
#      run: every instance of the patch's rows (its "Rows:" header line)
#      that failed must no longer fail, and no instance anywhere may get
#      worse (pass < differs < blocked < FAIL; a missing instance is worse;
#      an instance that got worse runs once more, alone, and counts only if
#      it fails again: a time limit on a loaded machine is not the patch's);
#      a row the bench does not fail unpatched leaves the proof to step 1;
#   3. PY -m test test_asyncio -j 2 runs with the patch and must pass; if it
#      does not, the unpatched suite is run too, so that a failure this
#      machine shows anyway is told apart from one the patch causes.
#
# PY defaults to the newest CPython 3.13 under pyenv (the patches are made
# against 3.13's Lib/asyncio).  Exit status 0 when every patch is proven.
set -uo pipefail
cd "$(dirname "$0")/.."

py=$(ls -d /root/.pyenv/versions/3.13*/bin/python3 2>/dev/null | sort -V | tail -n 1)
test_asyncio=1
patches=()
while [ $# -gt 0 ]; do
    case $1 in
    --python) py=$2; shift 2 ;;
    --no-test-asyncio) test_asyncio=0; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) patches+=("$1"); shift ;;
    esac
done
[ ${#patches[@]} -gt 0 ] || patches=(findings/patches/*.patch)
if [ -z "$py" ] || ! [ -x "$py" ]; then
    echo "prove_patch: no CPython 3.13 found; give --python PATH" >&2
    exit 2
fi
if ! [ -x build/pipecheck ]; then
    cmake -S . -B build >/dev/null && cmake --build build -j 2 >/dev/null || exit 2
fi

work=$(mktemp -d /tmp/prove-patch.XXXXXX)
trap 'rm -rf "$work"' EXIT
stdlib_asyncio=$("$py" -c 'import asyncio, os; print(os.path.dirname(asyncio.__file__))')
echo "== $("$py" -c 'import sys; print("CPython", sys.version.split()[0])') ($py)"
echo "== unpatched: build/pipecheck --subject asyncio --python $py"
build/pipecheck --subject asyncio --python "$py" -j 2 --json "$work/base.json" \
    </dev/null >"$work/base.txt" 2>&1
grep -E '^[0-9]+ passed' "$work/base.txt" | tail -n 1

# compare BASE.json PATCHED.json ROWS EXCEPT CHECK RERUN.json WORSE_OUT: the
# verdict, one line per change; the instances that got worse go to WORSE_OUT.  A patch's header names its rows ("Rows: D4 D5", IDs or globs of
# test names) and may name instances of them it leaves failing for another
# finding's reason ("Except: GLOB... (why)"), or the regular expression of
# the failure message its finding causes ("Check: RE"): an instance whose
# message no longer matches it passes the finding's check and stops at a
# later one, another finding's.
compare() {
    python3 - "$@" <<'PY'
import fnmatch, json, sys
rank = {"pass": 0, "n/a": 0, "skip": 0, "differs": 1, "blocked": 2, "fail": 3}
def load(path):
    return {r["test"]: r for r in json.load(open(path))["results"]}
import re
base, new = load(sys.argv[1]), load(sys.argv[2])
check = re.compile(sys.argv[5]) if sys.argv[5] else None
rerun = load(sys.argv[6]) if sys.argv[6] else {}
new.update(rerun)
rows = [r for r in sys.argv[3].split(",") if r]
excepted = [e for e in sys.argv[4].split(",") if e]
def target(test, b):
    """A failing instance the patch must fix: its row (an ID, or a glob of
    test names) is one of the patch's, and no Except glob names it."""
    return (b["status"] == "fail"
            and any(b["id"] == r or fnmatch.fnmatch(test, r) for r in rows)
            and not any(fnmatch.fnmatch(test, e) for e in excepted))
def kind(status):
    return "blocked" if status.startswith("blocked") else status
fixed, still, worse, better = [], [], [], []
for test, b in sorted(base.items()):
    n = new.get(test)
    bs = kind(b["status"])
    ns = kind(n["status"]) if n else "missing"
    if ns == "missing" or rank[ns] > rank[bs]:
        worse.append("%s: %s -> %s %s" % (test, bs, ns, (n or {}).get("message", "")[:160]))
    elif target(test, b):
        if ns != "fail":
            fixed.append("%s: %s -> %s" % (test, bs, ns))
        elif check and check.search(b["message"]) and not check.search(n["message"]):
            # The finding's own check passes now; the test stops later, at
            # a check its "Except:"/"Check:" lines name as another finding's.
            fixed.append("%s: its check passes; now stops at: %s"
                         % (test, n["message"].splitlines()[0][-110:]))
        else:
            still.append("%s: %s -> %s" % (test, bs, ns))
    elif rank[ns] < rank[bs]:
        better.append("%s: %s -> %s" % (test, bs, ns))
with open(sys.argv[7], "w") as out:
    for line in worse:
        out.write(line.split(":")[0] + "\n")
if rerun:
    print("  (%d instance(s) that were worse ran again, alone, to tell a time limit "
          "under load from a real change)" % len(rerun))
for name, items in (("fixed", fixed), ("still failing", still),
                    ("worse", worse), ("better elsewhere", better)):
    print("  %s: %d" % (name, len(items)))
    for line in items[:12]:
        print("    " + line)
    if len(items) > 12:
        print("    ... %d more" % (len(items) - 12))
targets = [t for t, b in base.items() if target(t, b)]
if not targets:
    print("  no instance of rows %s fails unpatched: the bench cannot show "
          "this fix; the finding's script is the proof" % ",".join(rows))
sys.exit(0 if not still and not worse else 1)
PY
}

failed=()
for patch in "${patches[@]}"; do
    name=$(basename "$patch" .patch)
    rows=$(sed -n 's/^Rows: *//p' "$patch" | head -n 1 | tr -s ' ' ',')
    except=$(sed -n 's/^Except: *//p' "$patch" | head -n 1 | sed 's/ *(.*//' | tr -s ' ' ',')
    echo
    echo "== $name (rows ${rows:-none})"
    dir=$work/$name
    mkdir -p "$dir"
    cp -r "$stdlib_asyncio" "$dir/asyncio"
    rm -rf "$dir/asyncio/__pycache__"
    needs=$(sed -n 's/^Needs: *//p' "$patch" | head -n 1 | sed 's/ *(.*//')
    # A patch that also changes CPython's tests (Lib/test/test_asyncio)
    # gets a "test" package of links to the standard one, with a copy of
    # test_asyncio to patch.
    if (cd "$(dirname "$patch")" && cat $needs "$(basename "$patch")") |
            grep -q '^+++ b/Lib/test/'; then
        stdlib_test=$(dirname "$stdlib_asyncio")/test
        mkdir "$dir/test"
        ln -s "$stdlib_test"/* "$dir/test/"
        rm "$dir/test/test_asyncio"
        cp -r "$stdlib_test/test_asyncio" "$dir/test/"
        find "$dir/test/test_asyncio" -name __pycache__ -prune -exec rm -rf {} +
    fi
    applied=1
    for p in $needs "$(basename "$patch")"; do
        if ! patch -s -d "$dir" -p2 <"$(dirname "$patch")/$p"; then
            echo "  $p does not apply"; applied=0
        fi
    done
    [ -z "$needs" ] || echo "  applied on top of: $needs"
    if [ $applied = 0 ]; then failed+=("$name"); continue; fi
    where=$(PYTHONPATH=$dir "$py" -c 'import asyncio; print(asyncio.__file__)')
    if [ "$where" != "$dir/asyncio/__init__.py" ]; then
        echo "  PYTHONPATH did not take: asyncio from $where"; failed+=("$name"); continue
    fi
    if [ -d "$dir/test" ]; then
        where=$(PYTHONPATH=$dir "$py" -c 'import test.test_asyncio as t; print(t.__file__)')
        if [ "$where" != "$dir/test/test_asyncio/__init__.py" ]; then
            echo "  PYTHONPATH did not take: test_asyncio from $where"; failed+=("$name"); continue
        fi
        echo "  with its change to test_asyncio"
    fi
    PYTHONPATH=$dir build/pipecheck --subject asyncio --python "$py" -j 2 \
        --json "$dir/patched.json" </dev/null >"$dir/patched.txt" 2>&1
    echo "  pipecheck: $(grep -E '^[0-9]+ passed' "$dir/patched.txt" | tail -n 1)"
    ok=1
    script=$(sed -n 's/^Script: *//p' "$patch" | head -n 1)
    if [ -n "$script" ]; then
        "$py" "$script" >/dev/null 2>&1; before=$?
        PYTHONPATH=$dir "$py" "$script" >/dev/null 2>&1; after=$?
        echo "  $script: exit $before unpatched, $after patched (0: shows the finding)"
        [ $before = 0 ] && [ $after = 1 ] || ok=0
    fi
    check=$(sed -n 's/^Check: *//p' "$patch" | head -n 1)
    if ! compare "$work/base.json" "$dir/patched.json" "$rows" "$except" "$check" "" \
            "$dir/worse.txt" >"$dir/compare.txt"; then
        if [ -s "$dir/worse.txt" ]; then
            # Run the instances that got worse once more, one at a time: a
            # time limit reached on a loaded machine is not the patch's doing.
            PYTHONPATH=$dir build/pipecheck --subject asyncio --python "$py" -j 1 \
                --json "$dir/rerun.json" $(cat "$dir/worse.txt") </dev/null >/dev/null 2>&1
            compare "$work/base.json" "$dir/patched.json" "$rows" "$except" "$check" \
                "$dir/rerun.json" "$dir/worse2.txt" >"$dir/compare.txt" || ok=0
        else
            ok=0
        fi
    fi
    cat "$dir/compare.txt"
    if [ $test_asyncio = 1 ]; then
        if PYTHONPATH=$dir "$py" -m test test_asyncio -j 2 </dev/null >"$dir/test.txt" 2>&1; then
            echo "  test_asyncio with the patch: $(grep -E '^Result:' "$dir/test.txt" | tail -n 1)"
        else
            echo "  test_asyncio with the patch FAILED:"
            grep -E '^(Result|[0-9]+ tests? failed|    test_)' "$dir/test.txt" | head -n 12 | sed 's/^/    /'
            if [ ! -f "$work/test-base.txt" ]; then
                "$py" -m test test_asyncio -j 2 </dev/null >"$work/test-base.txt" 2>&1
            fi
            echo "  test_asyncio unpatched: $(grep -E '^Result:' "$work/test-base.txt" | tail -n 1)"
            grep -E '^(Result|[0-9]+ tests? failed|    test_)' "$work/test-base.txt" | head -n 12 | sed 's/^/    /'
            ok=0
        fi
    fi
    if [ $ok = 1 ]; then echo "  PROVEN: $name"; else echo "  NOT PROVEN: $name"; failed+=("$name"); fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "not proven: ${failed[*]}"
    exit 1
fi
echo "all proven: ${#patches[@]} patch(es)"
