/* The pipecheck CLI's terminal view, shared by its files: the outcome of a
 * cell, the one-phrase verdict that summarises a behaviour's cells, the
 * terminal width, and lines fitted to it with colour. */
#ifndef PIPECHECK_VIEW_H
#define PIPECHECK_VIEW_H

#include <stddef.h>
#include <stdio.h>

/* What one instance gave for one subject, worst last.  OUT_BLOCKED is a
 * test that did not run because another failed ("blocked by ID"); a
 * status the CLI does not know is OUT_OTHER, shown but never a pass. */
enum outcome {
    OUT_NA,
    OUT_UNAVAILABLE,
    OUT_SKIP,
    OUT_PASS,
    OUT_BLOCKED,
    OUT_OTHER,
    OUT_DIFFERS,
    OUT_FAIL
};

/* How each outcome is written: its word in a cell (at most 5 letters), its
 * name in --json, and its terminal colour (NULL: none). */
struct outcome_names {
    const char *word;
    const char *json;
    const char *color;
};
extern const struct outcome_names view_outcome_names[OUT_FAIL + 1];

/* One (kind, backend) cell of a behaviour: the worst outcome of its
 * instances there.  kind is "any" for the tests that need no pipe. */
struct view_cell {
    const char *kind;
    const char *backend; /* "epoll", "poll", "io_uring" */
    enum outcome outcome;
};

/* The word for an outcome: pass, FAIL, differs, blocked, skip, n/a... */
const char *view_word(enum outcome o);

/* The outcome a JSON "status" string (as --json writes it) stands for. */
enum outcome view_outcome_of_json(const char *status);

/*
 * The verdict on one behaviour from its cells, e.g. "pass", "pass, n/a on
 * io_uring for fifo, fifo-nb" or "FAIL 2 of 21: pty/epoll, pty/poll", into
 * buf.  Returns the outcome the verdict leads with (for its colour).
 */
enum outcome view_verdict(const struct view_cell *cells, size_t n, char *buf,
                          size_t size);

/* The width to fit lines to: $COLUMNS if it is a number, else the width of
 * the terminal on fd, else 80. */
int view_width(int fd);

/*
 * Print text as one line of at most width columns (text cut with an
 * ellipsis if longer), then a newline.  With color, the span of
 * color_len bytes at color_at (if any of it is shown) is coloured for
 * outcome o.
 */
void view_print_fitted(FILE *out, int width, const char *text, int color, enum outcome o,
                       size_t color_at, size_t color_len);

/* Print s coloured for o (or plain without color), padded to pad columns. */
void view_print_colored(FILE *out, int color, enum outcome o, const char *s, int pad);

#endif
