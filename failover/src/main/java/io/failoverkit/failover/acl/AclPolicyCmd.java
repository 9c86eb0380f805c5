package io.failoverkit.failover.acl;

import io.failoverkit.failover.Main;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code failover acl-policy --cluster C}: the discovery ACL policy a cluster's failover commands need
 * ({@link ManagerPolicy}); {@code --create} makes (or refreshes) the policy and a new token linked to it. The token's
 * SecretID goes only to {@code --token-out FILE}, created with mode 0600 and moved into place whole; only the AccessorID
 * is printed. {@code --create} without {@code --token-out} is a usage error: a secret printed on a terminal ends up in
 * scroll-back, logs and CI output, and a token whose secret nobody kept is of no use.
 */
@Command(name = "acl-policy", mixinStandardHelpOptions = true,
        description = "Prints the discovery ACL policy (Consul rules, HCL) that a cluster's failover commands need, and nothing more; "
                + "--create makes the policy and a token for the manager.")
public final class AclPolicyCmd extends Main.ClusterOptions implements Callable<Integer> {
    @Option(names = "--session-node", paramLabel = "NODE",
            description = "The node name of an agent the manager talks to: its lock session lives on that node (repeatable). "
                    + "Default: the node of the agent at --discovery.")
    List<String> sessionNodes = new ArrayList<>();

    @Option(names = "--create", description = "Create the policy (or update its rules if it exists) and a new token linked to it, "
            + "with the token in $CONSUL_HTTP_TOKEN or --token-file (acl:write).")
    boolean create;

    @Option(names = "--token-out", paramLabel = "FILE",
            description = "With --create: where the new token's SecretID is written (mode 0600). Required: the secret is never printed.")
    Path tokenOut;

    @Override
    public Integer call() throws Exception {
        if (tokenOut != null && !create) throw usage("--token-out goes with --create");
        if (create && tokenOut == null) {
            throw usage("--create needs --token-out FILE: the new token's SecretID is written only to a file (mode 0600), never printed");
        }
        if (tokenOut != null && Files.isDirectory(tokenOut)) throw usage("--token-out " + tokenOut + " is a directory; name a file");
        if (tokenOut != null && !Files.isDirectory(tokenOut.toAbsolutePath().getParent())) {
            throw usage("--token-out " + tokenOut + ": directory " + tokenOut.toAbsolutePath().getParent() + " does not exist");
        }
        for (String n : sessionNodes) {
            if (n.isBlank()) throw usage("--session-node needs a node name");
        }
        ClusterDefinition c = cluster();
        DiscoveryClient discoveryClient = auth.client(discovery);
        List<String> nodes = sessionNodes.isEmpty() ? List.of(agentNode(discoveryClient)) : sessionNodes;
        ManagerPolicy policy = ManagerPolicy.of(c, nodes);
        if (!create) {
            out().print(policy.rules());
            out().flush();
            return 0;
        }
        Path staged = stage(tokenOut);
        try {
            Optional<String> existing = discoveryClient.aclPolicyId(policy.name());
            String policyId;
            if (existing.isPresent()) {
                policyId = existing.get();
                discoveryClient.updateAclPolicy(policyId, policy.name(), policy.description(), policy.rules());
            } else {
                policyId = discoveryClient.createAclPolicy(policy.name(), policy.description(), policy.rules());
            }
            DiscoveryClient.AclToken token = discoveryClient.createAclToken("failover manager of cluster " + c.name(), policyId);
            try {
                commit(staged, tokenOut, token.secretId());
            } catch (IOException e) {
                // A token whose secret was not kept: take it back rather than leave a live credential nobody holds.
                try {
                    discoveryClient.deleteAclToken(token.accessorId());
                } catch (IOException deleteFailed) {
                    throw new IOException("writing " + tokenOut + " failed (" + e.getMessage() + ") and token " + token.accessorId()
                            + " could not be deleted: delete it with `discovery-node acl token delete -id " + token.accessorId() + "`", e);
                }
                throw new IOException("writing " + tokenOut + " failed, the new token was deleted: " + e.getMessage(), e);
            }
            out().printf("OK: policy %s (ID %s) %s; token AccessorID %s; its SecretID is in %s (mode 0600)%n", policy.name(), policyId,
                    existing.isPresent() ? "updated" : "created", token.accessorId(), tokenOut);
            out().printf("run the manager with CONSUL_HTTP_TOKEN_FILE=%s (or --token-file %s)%n", tokenOut, tokenOut);
            out().flush();
            return 0;
        } finally {
            Files.deleteIfExists(staged);
        }
    }

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    private String agentNode(DiscoveryClient client) throws IOException {
        try {
            return client.agentNodeName();
        } catch (IOException e) {
            throw new IOException("cannot learn the node name of the agent at " + discovery + " (" + e.getMessage()
                    + "); name the nodes of the agents the manager talks to with --session-node NODE", e);
        }
    }

    /** An empty file with mode 0600 beside {@code target}, made before anything is created in the discovery cluster. */
    private static Path stage(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        return Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }

    /** Writes the secret into the staged file, syncs it, and moves it over {@code target} in one step. */
    private static void commit(Path staged, Path target, String secret) throws IOException {
        try (FileChannel ch = FileChannel.open(staged, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(StandardCharsets.UTF_8.encode(secret + "\n"));
            ch.force(true);
        }
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
