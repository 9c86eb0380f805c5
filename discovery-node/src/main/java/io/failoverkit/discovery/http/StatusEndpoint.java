package io.failoverkit.discovery.http;

/** /v1/status/leader and /v1/status/peers: Raft server addresses. */
final class StatusEndpoint {
    private final ServerSide server;

    StatusEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        switch (call.path) {
            case "leader" -> call.json(200, server.raft.leaderAddress().orElse(""));
            case "peers" -> call.json(200, server.raft.peerAddresses());
            default -> throw HttpError.notFound("unknown status endpoint /v1/status/" + call.path);
        }
    }
}
