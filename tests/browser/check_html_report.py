#!/usr/bin/env python3
"""The HTML report as a person sees it, in a real browser.

    check_html_report.py PIPECHECK SOURCE_DIR WORK_DIR

Runs `PIPECHECK --compare pipeloop,<fake subject> --json --html` on two
rows (R4, C3), the fake subject reporting an exception whose text is
markup (tests/subjects/fake_subject.py report-html), then loads the page
in headless chromium (--dump-dom: the DOM after the page's script ran) in
three states set through the URL fragment, and checks the DOM against the
JSON of the same run:

  as opened:   one row per ID, each cell's verdict, counts and squares
               (kind x backend, worst result) are those of the JSON;
  filtered:    subject, kind and backend filters hide the other
               subject's cells, kinds and backends, and the counts follow;
  FAIL opened: with result=fail only the failing row is shown (its cells
               still count every result), and its opened cell lists
               only the failures, each with its message and output as
               text (the markup in them is not markup).

Standard library only.  Exit 0: all held; 1: something did not (said on
stderr); 77: no chromium here (say so: the test is skipped, not passed).
The browser is $PIPECHECK_CHROMIUM, else chromium, chromium-browser,
google-chrome on PATH.
"""
import collections
import html.parser
import json
import os
import shutil
import subprocess
import sys
import urllib.parse

ORDER = ["fail", "differs", "blocked", "pass", "skip", "n/a", "unavailable"]
WORST = {"n/a": 0, "unavailable": 1, "skip": 2, "pass": 3, "blocked": 4, "differs": 5, "fail": 6}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def visible(self):
        node = self
        while node is not None:
            if "hidden" in node.attrs:
                return False
            node = node.parent
        return True

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def find(self, tag=None, cls=None, **attrs):
        out = []
        for c in self.children:
            if isinstance(c, str):
                continue
            if ((tag is None or c.tag == tag) and (cls is None or cls in c.classes()) and
                    all(c.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())):
                out.append(c)
            out.extend(c.find(tag, cls, **attrs))
        return out


VOID = {"meta", "input", "br", "img", "link", "hr", "col", "area", "base", "wbr", "source"}


class Tree(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def verdict(results):
    """The word pipecheck --compare prints for a cell (tools/pipecheck.c)."""
    if not results:
        return "-"
    t = collections.Counter(r["status"] for r in results)
    run = t["pass"] + t["fail"] + t["differs"] + t["blocked"] + t["skip"]
    if t["unavailable"]:
        return "unavailable"
    if run == 0:
        return "n/a"
    if t["fail"]:
        return "FAIL %d of %d" % (t["fail"], run)
    if t["differs"]:
        return "differs"
    if t["blocked"]:
        return "blocked by " + next(r["blocked_by"] for r in results if r["status"] == "blocked")
    return "pass" if t["pass"] else "skip"


def cls(status):
    return "na" if status == "n/a" else status


def check_cells(dom, results, subjects, label, listed=None):
    """Every cell of a shown subject against the results it should count
    (kind and backend filters applied); listed: which of them the result
    filter leaves (all of them if None)."""
    for cell in dom.find("td", "cell"):
        subject, rid = cell.attrs.get("data-subject"), cell.attrs.get("data-id")
        if subject not in subjects:
            check(not cell.visible(), "%s: %s's cell of %s is shown" % (label, subject, rid))
            continue
        mine = [r for r in results if r["subject"] == subject and r["id"] == rid]
        where = "%s: cell %s/%s" % (label, rid, subject[:20])
        tally = collections.Counter(r["status"] for r in mine)
        n = sum(1 for r in mine if listed is None or r["status"] in listed)
        check(cell.attrs.get("data-shown") == str(n),
              "%s: %s instances listed, the JSON has %d" % (where, cell.attrs.get("data-shown"), n))
        check(cell.attrs.get("data-total") == str(len(mine)),
              "%s: total %s, the JSON has %d" % (where, cell.attrs.get("data-total"), len(mine)))
        for st in ORDER:
            got = cell.attrs.get("data-n-" + cls(st))
            check(got == str(tally[st]), "%s: %s %s, the JSON has %d" % (where, st, got, tally[st]))
        shown = cell.find("div", "verdict")
        check(len(shown) == 1 and shown[0].text() == verdict(mine),
              "%s: shows %r, the JSON gives %r" % (where, shown and shown[0].text(), verdict(mine)))
        squares = {}
        for r in mine:
            key = (r["kind"], r["backend"])
            if key not in squares or WORST[r["status"]] > WORST[squares[key]]:
                squares[key] = r["status"]
        drawn = {(s.attrs["data-kind"], s.attrs["data-backend"]): s.attrs["data-status"]
                 for s in cell.find("span", "sq") if s.attrs.get("data-status")}
        check(drawn == squares, "%s: squares %s, the JSON gives %s" % (where, drawn, squares))


def main():
    pipecheck, source, work = sys.argv[1:4]
    browser = os.environ.get("PIPECHECK_CHROMIUM") or next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
         if shutil.which(b)), None)
    if not browser:
        print("no chromium here (chromium, chromium-browser, google-chrome or "
              "$PIPECHECK_CHROMIUM): the browser test cannot run")
        return 77
    os.makedirs(work, exist_ok=True)
    jpath, hpath = os.path.join(work, "report.json"), os.path.join(work, "report.html")
    fake = "exec:exec python3 %s/tests/subjects/fake_subject.py report-html %s/fake.pid" % (
        source, work)
    run = subprocess.run([pipecheck, "--compare", "pipeloop," + fake, "--filter", "R4.*",
                          "--filter", "C3.*", "-j", "2", "--json", jpath, "--html", hpath],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=600)
    if run.returncode not in (0, 1) or not os.path.exists(hpath):
        sys.stderr.write("pipecheck exited %d:\n%s" % (run.returncode, run.stdout.decode(errors="replace")))
        return 1
    with open(jpath, encoding="utf-8") as f:
        doc = json.load(f)
    results = doc["results"]
    names = [s["name"] for s in doc["subjects"]]
    fails = [r for r in results if r["status"] == "fail"]
    if not check(fails and all(r["subject"] == fake for r in fails),
                 "the fake subject's failures are not in the JSON"):
        sys.stderr.write("\n".join(failures) + "\n")
        return 1
    raw = open(hpath, encoding="utf-8").read()
    check("<img" not in raw, "the page's source has the message's <img as markup")
    check(raw.count("</script>") == 2, "the page's source has a stray </script>")

    url = "file://" + urllib.parse.quote(os.path.abspath(hpath))
    views = {
        "opened": "",
        "filtered": "#subject=%s&kind=pipe&backend=epoll" % urllib.parse.quote(fake, safe=""),
        "fail-open": "#result=fail&open=R4,%s" % urllib.parse.quote(fake, safe=""),
    }
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-dev-shm-usage"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # chromium refuses to run as root otherwise
    procs = {}
    for name, frag in views.items():
        profile = os.path.join(work, "profile-" + name)
        procs[name] = subprocess.Popen(
            [browser] + flags + ["--user-data-dir=" + profile, "--dump-dom", url + frag],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    doms = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=300)
        if p.returncode != 0 or b"</html>" not in out:
            sys.stderr.write("%s --dump-dom (%s) exited %d:\n%s\n" % (
                browser, name, p.returncode, err.decode(errors="replace")[-2000:]))
            return 1
        doms[name] = Tree(out.decode("utf-8")).root

    # As opened: every ID a row, every cell as the JSON says.
    dom = doms["opened"]
    check(not dom.find(id="error"), "the page says its data does not parse")
    rows = [r.attrs["data-id"] for r in dom.find("tr", "row") if r.visible()]
    check(sorted(rows) == sorted({r["id"] for r in results}),
          "opened: rows %s, the JSON has IDs %s" % (rows, sorted({r["id"] for r in results})))
    check_cells(dom, results, names, "opened")
    for s in names:
        p = dom.find("p", "subject-totals", data_subject=s)
        n = sum(1 for r in results if r["subject"] == s)
        check(p and ("%d instances" % n) in p[0].text(), "opened: %s's total is not %d" % (s, n))

    # Filtered to the fake subject, pipe, epoll.
    dom = doms["filtered"]
    shown = [r for r in results if r["kind"] == "pipe" and r["backend"] == "epoll"]
    check_cells(dom, shown, [fake], "filtered")
    check(all(not th.visible() for th in dom.find("th", "subject", data_subject="pipeloop")),
          "filtered: pipeloop's column is shown")
    kinds = {s.attrs["data-kind"] for s in dom.find("span", "sq")}
    backends = {s.attrs["data-backend"] for s in dom.find("span", "sq")}
    check(kinds == {"pipe"} and backends == {"epoll"},
          "filtered: squares of kinds %s, backends %s" % (kinds, backends))
    boxes = {b.attrs["value"]: "checked" in b.attrs for b in dom.find("input", data_filter="kind")}
    check(boxes.get("pipe") and not boxes.get("fifo"), "filtered: kind boxes %s" % boxes)

    # Only FAIL, the fake subject's R4 opened.
    dom = doms["fail-open"]
    failing_ids = {r["id"] for r in fails}
    rows = {r.attrs["data-id"] for r in dom.find("tr", "row") if r.visible()}
    check(rows == failing_ids, "fail-open: rows %s shown, the failing IDs are %s" % (rows, failing_ids))
    check_cells(dom, results, names, "fail-open", listed={"fail"})
    details = [d for d in dom.find("tr", "details") if d.visible()]
    check(len(details) == 1 and details[0].attrs.get("data-id") == "R4" and
          details[0].attrs.get("data-subject") == fake, "fail-open: R4's cell did not open")
    if details:
        shown = {i.attrs["data-test"]: i for i in details[0].find("div", "instance")}
        r4 = [r for r in fails if r["id"] == "R4"]
        check(sorted(shown) == sorted(r["test"] for r in r4),
              "fail-open: instances %s, the JSON fails %s" % (sorted(shown), [r["test"] for r in r4]))
        for r in r4:
            inst = shown.get(r["test"])
            if inst is None:
                continue
            msg, out = inst.find("pre", "msg"), inst.find("pre", "out")
            check(msg and msg[0].text() == r["message"],
                  "fail-open: %s shows %r, the JSON's message is %r" % (
                      r["test"], msg and msg[0].text(), r["message"]))
            check(out and out[0].text() == r["output"],
                  "fail-open: %s's output differs from the JSON's" % r["test"])
            check("</script><img id=pwned" in r["message"], "the fake's markup is not in the message")
    for name, dom in doms.items():
        check(not dom.find("img") and not dom.find(id="pwned"),
              "%s: the message's markup became an element" % name)

    if failures:
        sys.stderr.write("\n".join(failures) + "\n")
        return 1
    print("%d results, %d failures, 3 views checked in %s" % (len(results), len(fails), browser))
    return 0


if __name__ == "__main__":
    sys.exit(main())
