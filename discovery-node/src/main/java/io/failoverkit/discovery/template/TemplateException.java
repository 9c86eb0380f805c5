package io.failoverkit.discovery.template;

/**
 * A template that cannot be parsed or executed. The message starts with {@code name:line:col:} (1-based, columns
 * count characters), as Go's text/template reports positions.
 */
public final class TemplateException extends Exception {
    private final String name;
    private final int line;
    private final int col;
    private final String reason;

    public TemplateException(String name, int line, int col, String reason) {
        super(name + ":" + line + ":" + col + ": " + reason);
        this.name = name;
        this.line = line;
        this.col = col;
        this.reason = reason;
    }

    public String templateName() { return name; }
    public int line() { return line; }
    public int column() { return col; }
    public String reason() { return reason; }
}
