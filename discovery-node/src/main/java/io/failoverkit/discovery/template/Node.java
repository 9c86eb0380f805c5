package io.failoverkit.discovery.template;

import java.util.List;

/** The parse tree of a template. Every node keeps its position for error messages. */
sealed interface Node {
    Pos pos();

    record Text(Pos pos, String text) implements Node {}
    record Action(Pos pos, Pipe pipe) implements Node {}
    record ListNode(Pos pos, List<Node> nodes) implements Node {}
    /** kind is if, range or with; elseList may be null. */
    record Branch(Pos pos, String kind, Pipe pipe, ListNode list, ListNode elseList) implements Node {}
    record Break(Pos pos) implements Node {}
    record Continue(Pos pos) implements Node {}

    /** decl: variables declared (:=) or assigned (=) by the pipeline. */
    record Pipe(Pos pos, List<String> vars, boolean declare, List<Command> cmds) implements Node {}
    record Command(Pos pos, List<Node> args) implements Node {}

    record Dot(Pos pos) implements Node {}
    record Nil(Pos pos) implements Node {}
    record Field(Pos pos, List<String> names) implements Node {}
    record Variable(Pos pos, String name, List<String> fields) implements Node {}
    record Identifier(Pos pos, String name) implements Node {}
    /** A parenthesised pipeline, a variable's or a field's value, followed by .Fields. */
    record Chain(Pos pos, Node node, List<String> fields) implements Node {}
    record Literal(Pos pos, Object value, String text) implements Node {}
}
