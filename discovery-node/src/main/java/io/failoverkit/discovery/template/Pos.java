package io.failoverkit.discovery.template;

/** A place in a template's text: 1-based line and column. */
record Pos(int line, int col) {
}
