/* The HTML report (pipecheck --html): one page with its CSS, its script and
 * the run's JSON inline.  The page draws itself from the data with
 * createElement and textContent only, so no byte of a message can become
 * markup; the data block escapes '<', '>' and '&' and replaces bytes that
 * are not UTF-8, so nothing in it can end the block either.  A Content
 * Security Policy forbids every fetch: the page works from a file, offline,
 * and shows only what is in it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "check_internal.h"

/* The sections of docs/behaviours.md, by the letters their IDs start with
 * (tests/test_report_html.c checks the anchors against the document). */
static const struct {
    const char *prefix;
    const char *heading;
} doc_sections[] = {
    {"L", "L: the loop"},
    {"C", "C: connecting"},
    {"R", "R: read transports"},
    {"W", "W: write transports"},
    {"F", "F: flow control"},
    {"D", "D: close, abort and end of file on the write side"},
    {"E", "E: the reader goes away"},
    {"S", "S: subprocesses"},
    {"X", "X: shared open file descriptions"},
};

static const char *const page_style[] = {
    "body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: "
    "#fff; }\n",
    "h1 { font-size: 20px; margin: 0 0 4px; }\n",
    "h2 { font-size: 15px; margin: 4px 0; }\n",
    "a { color: #1a4fa0; }\n",
    ".meta { color: #555; margin: 2px 0; }\n",
    ".subject-totals span { margin-right: 10px; }\n",
    "#filters { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 10px 0; padding: "
    "8px 10px; background: #f3f3f3; border-radius: 4px; }\n",
    "#filters fieldset { border: 0; margin: 0; padding: 0; }\n",
    "#filters legend { font-weight: 600; padding: 0; }\n",
    "#filters label { margin-right: 10px; white-space: nowrap; }\n",
    ".legend span { display: inline-block; padding: 0 6px; margin-right: 4px; "
    "border-radius: 3px; }\n",
    "table.grid { border-collapse: collapse; }\n",
    ".grid th, .grid td { border: 1px solid #d5d5d5; padding: 3px 6px; vertical-align: "
    "top; text-align: left; }\n",
    ".grid thead th { background: #fafafa; position: sticky; top: 0; z-index: 1; }\n",
    ".grid th.section { background: #e9e9e9; }\n",
    ".grid td.id { font-weight: 600; white-space: nowrap; }\n",
    ".grid td.meaning { max-width: 420px; }\n",
    ".ours { font-size: 11px; color: #8a5a00; font-weight: 600; }\n",
    ".links { font-size: 12px; }\n",
    ".links a, .links span { margin-right: 8px; }\n",
    ".grid td.cell { cursor: pointer; min-width: 130px; }\n",
    ".grid td.cell:hover { outline: 2px solid #777; outline-offset: -2px; }\n",
    ".grid td.cell.open { outline: 2px solid #000; outline-offset: -2px; }\n",
    ".verdict { font-weight: 600; }\n",
    ".counts { font-size: 11px; color: #444; }\n",
    ".mini { border-collapse: collapse; margin-top: 2px; }\n",
    ".grid .mini td, .grid .mini th { border: 0; padding: 0; width: 13px; background: "
    "transparent; position: static; }\n",
    ".grid .mini th { font: 9px/1 monospace; color: #666; font-weight: normal; }\n",
    ".grid .mini tr > th:first-child { width: 9px; text-align: left; }\n",
    ".grid .kindhead th { writing-mode: vertical-rl; transform: rotate(180deg); font: "
    "10px/1 monospace; color: #555; height: 64px; text-align: left; }\n",
    ".sq { display: inline-block; width: 11px; height: 11px; margin: 1px; border-radius: "
    "2px; vertical-align: middle; }\n",
    ".sq.none { background: transparent; box-shadow: inset 0 0 0 1px #eee; }\n",
    ".s-pass { background: #2e8b3a; } .s-fail { background: #d32f2f; } .s-differs { "
    "background: #f2a900; }\n",
    ".s-blocked { background: #b0479a; }\n",
    ".s-skip { background: #8fa3ad; } .s-na { background: #d9d9d9; } .s-unavailable { "
    "background: #9a7fd1; }\n",
    ".c-pass { background: #e8f5e9; } .c-fail { background: #fde2e1; } .c-differs { "
    "background: #fff3cd; }\n",
    ".c-blocked { background: #f6e3f1; }\n",
    ".c-skip { background: #eef1f3; } .c-na { background: #f6f6f6; color: #777; } "
    ".c-unavailable { background: #efe9f8; }\n",
    ".c-none { background: #fff; color: #bbb; }\n",
    "tr.details > td { background: #fcfcfc; padding: 8px 10px; }\n",
    ".instance { border-left: 4px solid #ccc; margin: 6px 0; padding: 2px 8px; }\n",
    ".instance.i-fail { border-color: #d32f2f; } .instance.i-pass { border-color: "
    "#2e8b3a; }\n",
    ".instance.i-differs { border-color: #f2a900; } .instance.i-skip { border-color: "
    "#8fa3ad; }\n",
    ".instance.i-blocked { border-color: #b0479a; }\n",
    ".instance .result { font-weight: 600; margin-right: 8px; }\n",
    ".instance code { margin-right: 8px; }\n",
    "pre { white-space: pre-wrap; word-break: break-word; margin: 4px 0; padding: 4px "
    "6px; background: #f4f4f4; font-size: 12px; max-height: 360px; overflow: auto; }\n",
    "#error { color: #b00; font-weight: 600; }\n",
    NULL,
};

static const char *const page_script[] = {
    "(function () {\n",
    "  'use strict';\n",
    "  var root = document.getElementById('report');\n",
    "  var data;\n",
    "  try {\n",
    "    data = JSON.parse(document.getElementById('pc-data').textContent);\n",
    "  } catch (e) {\n",
    "    root.appendChild(el('p', {id: 'error'}, 'The report data does not parse: ' + "
    "e));\n",
    "    return;\n",
    "  }\n",
    "  var report = data.report || {};\n",
    "  var results = report.results || [];\n",
    "  var subjectInfo = report.subjects || [];\n",
    "  var ORDER = ['fail', 'differs', 'blocked', 'pass', 'skip', 'n/a', "
    "'unavailable'];\n",
    "  var LABEL = {fail: 'FAIL', differs: 'differs', blocked: 'blocked', pass: "
    "'pass',\n",
    "               skip: 'skip', 'n/a': 'n/a', unavailable: 'unavailable'};\n",
    "  var WORST = {'n/a': 0, unavailable: 1, skip: 2, pass: 3, blocked: 4, differs: "
    "5,\n",
    "               fail: 6};\n",
    "\n",
    "  function el(tag, attrs, text) {\n",
    "    var e = document.createElement(tag);\n",
    "    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);\n",
    "    if (text !== undefined && text !== null) e.textContent = String(text);\n",
    "    return e;\n",
    "  }\n",
    "  function cls(status) { return status === 'n/a' ? 'na' : status; }\n",
    "  function link(path, text) {\n",
    "    if (data.docBase === null || data.docBase === undefined) return el('span', "
    "{title: path}, text);\n",
    "    return el('a', {href: data.docBase + path}, text);\n",
    "  }\n",
    "  function occurring(order, field) {\n",
    "    var out = order.filter(function (x) {\n",
    "      return results.some(function (r) { return r[field] === x; });\n",
    "    });\n",
    "    results.forEach(function (r) { if (out.indexOf(r[field]) < 0) "
    "out.push(r[field]); });\n",
    "    return out;\n",
    "  }\n",
    "\n",
    "  var subjects = subjectInfo.map(function (s) { return s.name; });\n",
    "  var kinds = occurring(data.kinds || [], 'kind');\n",
    "  var backends = occurring((data.backends || []).map(function (b) { return b.name; "
    "}), 'backend');\n",
    "  var backendColumn = {};\n",
    "  (data.backends || []).forEach(function (b) { backendColumn[b.name] = b.column; "
    "});\n",
    "  var byId = {};\n",
    "  results.forEach(function (r) {\n",
    "    var s = byId[r.id] = byId[r.id] || {};\n",
    "    (s[r.subject] = s[r.subject] || []).push(r);\n",
    "  });\n",
    "  var rows = (data.spec || []).filter(function (it) { return byId[it.id]; });\n",
    "  Object.keys(byId).forEach(function (id) {\n",
    "    if (!rows.some(function (it) { return it.id === id; }))\n",
    "      rows.push({id: id, section: 'Other', meaning: '', ours: false, doc: null});\n",
    "  });\n",
    "\n",
    "  var ALL = {subject: subjects, kind: kinds, backend: backends, result: ORDER};\n",
    "  var state = {};\n",
    "  function readHash() {\n",
    "    var got = {};\n",
    "    location.hash.replace(/^#/, '').split('&').forEach(function (part) {\n",
    "      var eq = part.indexOf('=');\n",
    "      if (eq < 0) return;\n",
    "      got[part.slice(0, eq)] = part.slice(eq + 1).split(',').map(function (x) {\n",
    "        try { return decodeURIComponent(x); } catch (e) { return x; }\n",
    "      });\n",
    "    });\n",
    "    Object.keys(ALL).forEach(function (k) {\n",
    "      state[k] = new Set(got[k] ? got[k].filter(function (x) { return "
    "ALL[k].indexOf(x) >= 0; }) : ALL[k]);\n",
    "    });\n",
    "    state.open = got.open && got.open.length === 2 ? got.open : null;\n",
    "  }\n",
    "  function writeHash() {\n",
    "    var parts = [];\n",
    "    Object.keys(ALL).forEach(function (k) {\n",
    "      if (state[k].size !== ALL[k].length)\n",
    "        parts.push(k + '=' + ALL[k].filter(function (x) { return state[k].has(x); "
    "})\n",
    "                                   .map(encodeURIComponent).join(','));\n",
    "    });\n",
    "    if (state.open) parts.push('open=' + "
    "state.open.map(encodeURIComponent).join(','));\n",
    "    try {\n",
    "      history.replaceState(null, '', parts.length ? '#' + parts.join('&') : "
    "location.pathname + location.search);\n",
    "    } catch (e) { /* a page opened in a way that forbids it: the state stays "
    "unshared */ }\n",
    "  }\n",
    "\n",
    "  /* Kind and backend filters narrow what a cell counts; the result filter\n",
    "   * picks the rows (those with such a result) and the instances listed. */\n",
    "  function placed(r) { return state.kind.has(r.kind) && "
    "state.backend.has(r.backend); }\n",
    "  function shown(r) { return placed(r) && state.result.has(r.status); }\n",
    "  function tally(list) {\n",
    "    var t = {total: list.length};\n",
    "    ORDER.forEach(function (s) { t[s] = 0; });\n",
    "    list.forEach(function (r) {\n",
    "      t[r.status] = (t[r.status] || 0) + 1;\n",
    "      if (r.status === 'blocked' && !t.blockedBy) t.blockedBy = r.blocked_by;\n",
    "    });\n",
    "    t.run = t.pass + t.fail + t.differs + t.blocked + t.skip;\n",
    "    return t;\n",
    "  }\n",
    "  /* The word pipecheck --compare prints for a cell. */\n",
    "  function verdict(t) {\n",
    "    if (t.total === 0) return {status: 'none', text: '-'};\n",
    "    if (t.unavailable) return {status: 'unavailable', text: 'unavailable'};\n",
    "    if (t.run === 0) return {status: 'n/a', text: 'n/a'};\n",
    "    if (t.fail) return {status: 'fail', text: 'FAIL ' + t.fail + ' of ' + t.run};\n",
    "    if (t.differs) return {status: 'differs', text: 'differs'};\n",
    "    if (t.blocked) return {status: 'blocked', text: 'blocked by ' + t.blockedBy};\n",
    "    if (t.pass) return {status: 'pass', text: 'pass'};\n",
    "    return {status: 'skip', text: 'skip'};\n",
    "  }\n",
    "  function countsText(t) {\n",
    "    return ORDER.filter(function (s) { return t[s]; })\n",
    "                .map(function (s) { return t[s] + ' ' + LABEL[s]; }).join(', ');\n",
    "  }\n",
    "\n",
    "  function header() {\n",
    "    var h = el('header');\n",
    "    h.appendChild(el('h1', null, 'pipecheck: ' + subjects.join(', ')));\n",
    "    if (data.generated) h.appendChild(el('p', {'class': 'meta'}, "
    "data.generated));\n",
    "    subjectInfo.forEach(function (s) {\n",
    "      var t = tally(results.filter(function (r) { return r.subject === s.name; "
    "}));\n",
    "      var p = el('p', {'class': 'meta subject-totals', 'data-subject': s.name});\n",
    "      p.appendChild(el('strong', null, s.name + ': '));\n",
    "      p.appendChild(el('span', null, s.available ? s.describe : 'unavailable: ' + "
    "s.error));\n",
    "      p.appendChild(el('span', null, t.total + ' instances: ' + countsText(t) +\n",
    "                       (s.seconds !== undefined ? '; ' + "
    "Number(s.seconds).toFixed(1) + ' s' : '')));\n",
    "      h.appendChild(p);\n",
    "    });\n",
    "    var legend = el('p', {'class': 'meta legend'});\n",
    "    legend.appendChild(el('span', null, 'Each cell: the kinds across, the backends "
    "down.'));\n",
    "    ORDER.forEach(function (s) { legend.appendChild(el('span', {'class': 'c-' + "
    "cls(s)}, LABEL[s])); });\n",
    "    legend.appendChild(el('span', null, 'differs: otherwise on an item the spec "
    "marks OURS; blocked by ID: not graded here, a precondition that belongs to row ID "
    "failed.' +\n",
    "                          ' Click a cell for its instances.'));\n",
    "    h.appendChild(legend);\n",
    "    return h;\n",
    "  }\n",
    "\n",
    "  function filters() {\n",
    "    var box = el('form', {id: 'filters'});\n",
    "    var names = {subject: 'Subject', kind: 'Kind', backend: 'Backend', result: "
    "'Result'};\n",
    "    Object.keys(ALL).forEach(function (k) {\n",
    "      var fs = el('fieldset', {'data-filter': k});\n",
    "      fs.appendChild(el('legend', null, names[k]));\n",
    "      ALL[k].forEach(function (v) {\n",
    "        var label = el('label');\n",
    "        var input = el('input', {type: 'checkbox', value: v, 'data-filter': k});\n",
    "        input.checked = state[k].has(v);\n",
    "        if (input.checked) input.setAttribute('checked', '');\n",
    "        input.addEventListener('change', function () {\n",
    "          if (this.checked) state[k].add(v); else state[k].delete(v);\n",
    "          writeHash();\n",
    "          draw();\n",
    "        });\n",
    "        label.appendChild(input);\n",
    "        label.appendChild(document.createTextNode(' ' + (k === 'result' ? LABEL[v] "
    ": k === 'backend' ? backendColumn[v] || v : v)));\n",
    "        fs.appendChild(label);\n",
    "      });\n",
    "      box.appendChild(fs);\n",
    "    });\n",
    "    return box;\n",
    "  }\n",
    "\n",
    "  function mini(list) {\n",
    "    var t = el('table', {'class': 'mini'});\n",
    "    var selKinds = kinds.filter(function (k) { return state.kind.has(k); });\n",
    "    backends.filter(function (b) { return state.backend.has(b); }).forEach(function "
    "(b) {\n",
    "      var tr = el('tr');\n",
    "      tr.appendChild(el('th', null, (backendColumn[b] || b).charAt(0)));\n",
    "      selKinds.forEach(function (k) {\n",
    "        var worst = null;\n",
    "        list.forEach(function (r) {\n",
    "          if (r.kind === k && r.backend === b && (worst === null || WORST[r.status] "
    "> WORST[worst]))\n",
    "            worst = r.status;\n",
    "        });\n",
    "        var td = el('td');\n",
    "        td.appendChild(el('span', {'class': 'sq ' + (worst ? 's-' + cls(worst) : "
    "'none'),\n",
    "                                   'data-kind': k, 'data-backend': b, "
    "'data-status': worst || '',\n",
    "                                   title: k + ' / ' + (backendColumn[b] || b) + ': "
    "' + (worst ? LABEL[worst] : 'no instance')}));\n",
    "        tr.appendChild(td);\n",
    "      });\n",
    "      t.appendChild(tr);\n",
    "    });\n",
    "    return t;\n",
    "  }\n",
    "\n",
    "  function instance(r) {\n",
    "    var d = el('div', {'class': 'instance i-' + cls(r.status), 'data-test': r.test, "
    "'data-status': r.status});\n",
    "    var head = el('div');\n",
    "    head.appendChild(el('span', {'class': 'result'}, r.status === 'blocked' ?\n",
    "                        'blocked by ' + r.blocked_by : LABEL[r.status] || "
    "r.status));\n",
    "    head.appendChild(el('code', null, r.test));\n",
    "    if (r.status !== 'n/a' && r.status !== 'unavailable')\n",
    "      head.appendChild(el('span', {'class': 'duration'}, "
    "Number(r.seconds).toFixed(3) + ' s'));\n",
    "    d.appendChild(head);\n",
    "    if (r.message) d.appendChild(el('pre', {'class': 'msg'}, r.message));\n",
    "    if (r.output) {\n",
    "      var more = el('details', {'class': 'output'});\n",
    "      if (r.status === 'fail' || r.status === 'differs') more.setAttribute('open', "
    "'');\n",
    "      more.appendChild(el('summary', null, \"output: the subject's last messages "
    "and the event log\"));\n",
    "      more.appendChild(el('pre', {'class': 'out'}, r.output));\n",
    "      d.appendChild(more);\n",
    "    }\n",
    "    return d;\n",
    "  }\n",
    "\n",
    "  function draw() {\n",
    "    var old = document.getElementById('grid');\n",
    "    var table = el('table', {'class': 'grid', id: 'grid'});\n",
    "    var thead = el('thead');\n",
    "    var tr = el('tr');\n",
    "    tr.appendChild(el('th', null, 'ID'));\n",
    "    tr.appendChild(el('th', null, 'meaning'));\n",
    "    var selKinds = kinds.filter(function (k) { return state.kind.has(k); });\n",
    "    subjects.forEach(function (s) {\n",
    "      var th = el('th', {'class': 'subject', 'data-subject': s});\n",
    "      if (!state.subject.has(s)) th.hidden = true;\n",
    "      th.appendChild(el('div', null, s));\n",
    "      var kh = el('table', {'class': 'mini kindhead'});\n",
    "      var ktr = el('tr');\n",
    "      ktr.appendChild(el('th'));\n",
    "      selKinds.forEach(function (k) { ktr.appendChild(el('th', null, k)); });\n",
    "      kh.appendChild(ktr);\n",
    "      th.appendChild(kh);\n",
    "      tr.appendChild(th);\n",
    "    });\n",
    "    thead.appendChild(tr);\n",
    "    table.appendChild(thead);\n",
    "    var tbody = el('tbody');\n",
    "    var ncols = 2 + subjects.length;\n",
    "    var section = null, sectionRow = null, sectionShown = false;\n",
    "    rows.forEach(function (item) {\n",
    "      if (item.section !== section) {\n",
    "        if (sectionRow && !sectionShown) sectionRow.hidden = true;\n",
    "        section = item.section;\n",
    "        sectionShown = false;\n",
    "        sectionRow = el('tr', {'class': 'section-row'});\n",
    "        sectionRow.appendChild(el('th', {'class': 'section', colspan: "
    "String(ncols)}, section));\n",
    "        tbody.appendChild(sectionRow);\n",
    "      }\n",
    "      var row = el('tr', {'class': 'row', 'data-id': item.id});\n",
    "      var idCell = el('td', {'class': 'id'});\n",
    "      idCell.appendChild(item.doc ? link(item.doc, item.id) : "
    "document.createTextNode(item.id));\n",
    "      row.appendChild(idCell);\n",
    "      var meaning = el('td', {'class': 'meaning'});\n",
    "      meaning.appendChild(el('div', null, item.meaning));\n",
    "      if (item.ours) meaning.appendChild(el('div', {'class': 'ours'}, 'OURS: a "
    "pipeloop decision; another subject differs'));\n",
    "      var links = el('div', {'class': 'links'});\n",
    "      if (item.doc) links.appendChild(link(item.doc, 'docs/behaviours.md'));\n",
    "      (data.findings || []).forEach(function (f) {\n",
    "        if (f.ids.indexOf(item.id) < 0) return;\n",
    "        var a = link(f.doc, f.code + ' (' + f.subject + ')');\n",
    "        a.setAttribute('title', f.heading);\n",
    "        a.setAttribute('class', 'finding');\n",
    "        links.appendChild(a);\n",
    "        var sc = link(f.script, 'script');\n",
    "        sc.setAttribute('class', 'script');\n",
    "        links.appendChild(sc);\n",
    "      });\n",
    "      meaning.appendChild(links);\n",
    "      row.appendChild(meaning);\n",
    "      var rowTotal = 0, openCell = null;\n",
    "      subjects.forEach(function (s) {\n",
    "        var all = (byId[item.id][s] || []).filter(placed);\n",
    "        var list = all.filter(shown);\n",
    "        var t = tally(all), v = verdict(t);\n",
    "        var td = el('td', {'class': 'cell c-' + cls(v.status), 'data-id': item.id, "
    "'data-subject': s,\n",
    "                           'data-verdict': v.text, 'data-total': String(t.total), "
    "tabindex: '0'});\n",
    "        ORDER.forEach(function (st) { td.setAttribute('data-n-' + cls(st), "
    "String(t[st])); });\n",
    "        td.setAttribute('data-shown', String(list.length));\n",
    "        if (state.subject.has(s)) rowTotal += list.length; else td.hidden = true;\n",
    "        td.appendChild(el('div', {'class': 'verdict'}, v.text));\n",
    "        td.appendChild(el('div', {'class': 'counts'}, countsText(t)));\n",
    "        td.appendChild(mini(all));\n",
    "        var isOpen = state.open && state.open[0] === item.id && state.open[1] === "
    "s;\n",
    "        if (isOpen) { td.classList.add('open'); openCell = {subject: s, list: list, "
    "verdict: v}; }\n",
    "        var toggle = function () {\n",
    "          state.open = isOpen ? null : [item.id, s];\n",
    "          writeHash();\n",
    "          draw();\n",
    "        };\n",
    "        td.addEventListener('click', toggle);\n",
    "        td.addEventListener('keydown', function (e) { if (e.key === 'Enter' || "
    "e.key === ' ') { e.preventDefault(); toggle(); } });\n",
    "        row.appendChild(td);\n",
    "      });\n",
    "      if (rowTotal === 0) row.hidden = true; else sectionShown = true;\n",
    "      tbody.appendChild(row);\n",
    "      if (openCell && !row.hidden && state.subject.has(openCell.subject)) {\n",
    "        var dtr = el('tr', {'class': 'details', 'data-id': item.id, 'data-subject': "
    "openCell.subject});\n",
    "        var dtd = el('td', {colspan: String(ncols)});\n",
    "        dtd.appendChild(el('h2', null, item.id + ' on ' + openCell.subject + ': ' + "
    "openCell.verdict.text +\n",
    "                           ' (' + openCell.list.length + ' instances shown)'));\n",
    "        openCell.list.slice().sort(function (a, b) { return WORST[b.status] - "
    "WORST[a.status]; })\n",
    "            .forEach(function (r) { dtd.appendChild(instance(r)); });\n",
    "        dtr.appendChild(dtd);\n",
    "        tbody.appendChild(dtr);\n",
    "      }\n",
    "    });\n",
    "    if (sectionRow && !sectionShown) sectionRow.hidden = true;\n",
    "    table.appendChild(tbody);\n",
    "    if (old) old.replaceWith(table); else root.appendChild(table);\n",
    "    var f = document.getElementById('filters');\n",
    "    if (f) f.replaceWith(filters()); \n",
    "  }\n",
    "\n",
    "  readHash();\n",
    "  document.title = 'pipecheck: ' + subjects.join(', ');\n",
    "  root.appendChild(header());\n",
    "  root.appendChild(filters());\n",
    "  draw();\n",
    "  window.addEventListener('hashchange', function () { readHash(); draw(); });\n",
    "})();\n",
    NULL,
};

/* Copy the UTF-8 character at s to f, or U+FFFD (escaped) for a byte that
 * does not start one; returns the address of its last byte. */
static const char *put_utf8(FILE *f, const char *s)
{
    size_t len = pc__utf8_char_len((const unsigned char *)s);
    if (len == 0) {
        fputs("\\ufffd", f);
        return s;
    }
    fwrite(s, 1, len, f);
    return s + len - 1;
}

/* s as a JSON string; with html_safe also '<', '>' and '&' as \u escapes,
 * so that the text can sit inside a <script> element. */
static void json_string(FILE *f, const char *s, int html_safe)
{
    fputc('"', f);
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f ||
                   (html_safe && (c == '<' || c == '>' || c == '&'))) {
            fprintf(f, "\\u%04x", c);
        } else if (c >= 0x80) {
            s = put_utf8(f, s);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

void pc_json_write_string(FILE *f, const char *s)
{
    json_string(f, s, 0);
}

/* A JSON document (pipecheck --json) made safe inside <script>: outside
 * its strings JSON has none of '<', '>', '&', so escaping them everywhere
 * keeps it the same document; bytes that are not UTF-8 become U+FFFD. */
static void embed_json(FILE *f, const char *json)
{
    for (const char *s = json; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<' || c == '>' || c == '&') {
            fprintf(f, "\\u%04x", c);
        } else if (c >= 0x80) {
            s = put_utf8(f, s);
        } else {
            fputc(c, f);
        }
    }
}

/* path#anchor, the anchor as GitHub makes it from a heading: lower case,
 * punctuation other than '-' and '_' dropped, spaces as '-'. */
static void json_doc_link(FILE *f, const char *path, const char *heading)
{
    char link[512];
    size_t n = (size_t)snprintf(link, sizeof link, "%s#", path);
    for (const char *h = heading; *h != '\0' && n + 1 < sizeof link; h++) {
        unsigned char c = (unsigned char)*h;
        if (c >= 'A' && c <= 'Z')
            link[n++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
            link[n++] = (char)c;
        else if (c == ' ')
            link[n++] = '-';
    }
    link[n] = '\0';
    json_string(f, link, 1);
}

static const char *section_heading(const char *id)
{
    for (size_t i = 0; i < sizeof doc_sections / sizeof doc_sections[0]; i++)
        if (strncmp(id, doc_sections[i].prefix, strlen(doc_sections[i].prefix)) == 0)
            return doc_sections[i].heading;
    return NULL;
}

/* The page's data next to the run's: the spec rows with their meaning and
 * link, the findings, the kinds and backends in table order. */
static void write_context(FILE *f, const char *doc_base)
{
    fputs(",\n\"spec\": [", f);
    for (size_t i = 0; i < pc_spec_count(); i++) {
        const pc_spec_item *item = pc_spec_get(i);
        const char *heading = section_heading(item->id);
        fprintf(f, "%s\n{\"id\": ", i ? "," : "");
        json_string(f, item->id, 1);
        fputs(", \"section\": ", f);
        json_string(f, item->section, 1);
        fputs(", \"meaning\": ", f);
        json_string(f, item->meaning, 1);
        fprintf(
            f, ", \"ours\": %s, \"doc\": ", pc_spec_is_ours(item->id) ? "true" : "false");
        if (heading)
            json_doc_link(f, "docs/behaviours.md", heading);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fputs("],\n\"findings\": [", f);
    for (size_t i = 0; i < pc_finding_count(); i++) {
        const pc_finding *finding = pc_finding_get(i);
        fprintf(f, "%s\n{\"code\": ", i ? "," : "");
        json_string(f, finding->code, 1);
        fputs(", \"subject\": ", f);
        json_string(f, finding->subject, 1);
        fputs(", \"ids\": [", f);
        const char *p = finding->ids;
        for (int first = 1; *p != '\0'; first = 0) {
            size_t len = strcspn(p, " ");
            char id[16];
            snprintf(id, sizeof id, "%.*s", (int)len, p);
            fputs(first ? "" : ", ", f);
            json_string(f, id, 1);
            p += len + (p[len] == ' ');
        }
        fputs("], \"heading\": ", f);
        json_string(f, finding->heading, 1);
        fputs(", \"doc\": ", f);
        json_doc_link(f, "docs/findings.md", finding->heading);
        fputs(", \"script\": ", f);
        json_string(f, finding->script, 1);
        fputc('}', f);
    }
    fputs("],\n\"kinds\": [\"any\"", f);
    for (size_t i = 0; i < pc_kind_count(); i++) {
        fputs(", ", f);
        json_string(f, pc_kind_get(i)->name, 1);
    }
    fputs("],\n\"backends\": [", f);
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++) {
        fprintf(f, "%s{\"name\": ", b ? ", " : "");
        json_string(f, pc_backends[b].name, 1);
        fputs(", \"column\": ", f);
        json_string(f, pc_backends[b].column, 1);
        fputc('}', f);
    }
    fputs("],\n\"docBase\": ", f);
    if (doc_base)
        json_string(f, doc_base, 1);
    else
        fputs("null", f);
    char generated[512], when[64] = ""; /* room for every utsname field */
    struct utsname u;
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    if (uname(&u) == 0)
        snprintf(generated, sizeof generated, "written %s on %s %s %s", when, u.sysname,
                 u.release, u.machine);
    else
        snprintf(generated, sizeof generated, "written %s", when);
    fputs(",\n\"generated\": ", f);
    json_string(f, generated, 1);
}

int pc_report_html(FILE *out, const char *json, const char *doc_base)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
          "<title>pipecheck report</title>\n<style>\n",
          out);
    for (size_t i = 0; page_style[i] != NULL; i++)
        fputs(page_style[i], out);
    fputs("</style>\n</head>\n<body>\n<div id=\"report\"><noscript>This report draws "
          "itself with its inline script; the run's data is in the script element "
          "below.</noscript></div>\n<script type=\"application/json\" id=\"pc-data\">\n"
          "{\"report\": ",
          out);
    embed_json(out, json && *json ? json : "{}");
    write_context(out, doc_base);
    fputs("}\n</script>\n<script>\n", out);
    for (size_t i = 0; page_script[i] != NULL; i++)
        fputs(page_script[i], out);
    fputs("</script>\n</body>\n</html>\n", out);
    return ferror(out) ? -EIO : 0;
}

/* The path from directory from to directory to, both absolute and
 * resolved, ending in '/' ("" when they are the same). */
static void relative_dir(const char *from, const char *to, char *out, size_t size)
{
    size_t common = 0;
    /* The longest prefix that ends at a component boundary of both. */
    for (size_t i = 0;; i++) {
        int from_end = from[i] == '\0' || from[i] == '/';
        int to_end = to[i] == '\0' || to[i] == '/';
        if (from_end && to_end)
            common = i;
        if (from[i] == '\0' || to[i] == '\0' || from[i] != to[i])
            break;
    }
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = from + common; *p != '\0'; p++)
        if (*p == '/' && p[1] != '\0')
            n += (size_t)snprintf(out + n, n < size ? size - n : 0, "../");
    const char *rest = to + common;
    while (*rest == '/')
        rest++;
    if (*rest != '\0' && n < size)
        snprintf(out + n, size - n, "%s/", rest);
}

int pc_report_html_file(const char *path, const char *json, const char *source_dir)
{
    char base[PATH_MAX * 2], dir[PATH_MAX], src[PATH_MAX], doc[PATH_MAX + 32];
    const char *doc_base = NULL;
    snprintf(doc, sizeof doc, "%s/docs/behaviours.md", source_dir ? source_dir : "");
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    char dir_real[PATH_MAX];
    if (source_dir && access(doc, R_OK) == 0 && realpath(source_dir, src) &&
        realpath(dir, dir_real)) {
        relative_dir(dir_real, src, base, sizeof base);
        doc_base = base;
    }
    FILE *f = fopen(path, "we");
    if (f == NULL) {
        int err = -errno;
        fprintf(stderr, "pipecheck: cannot write the HTML report %s: %s\n", path,
                strerror(errno));
        return err;
    }
    int err = pc_report_html(f, json, doc_base);
    if (fclose(f) != 0 && err == 0)
        err = -errno;
    if (err)
        fprintf(stderr, "pipecheck: error writing %s: %s\n", path, strerror(-err));
    return err;
}
