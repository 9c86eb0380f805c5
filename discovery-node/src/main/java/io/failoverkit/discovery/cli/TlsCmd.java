package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.tls.CertificateAuthority;
import io.failoverkit.tls.PemFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code discovery-node tls ca create} and {@code tls cert create}: a CA and agent certificates for a test or a small
 * cluster, with Consul's file names (consul-agent-ca.pem, dc1-server-consul-0.pem, ...). Keys are written 0600 and
 * never printed. Existing files are never overwritten.
 */
@Command(name = "tls", mixinStandardHelpOptions = true, description = "Creates a CA and certificates for the agents' TLS.",
        subcommands = {TlsCmd.Ca.class, TlsCmd.Cert.class})
public final class TlsCmd implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: ca create, cert create");
    }

    @Command(name = "ca", mixinStandardHelpOptions = true, description = "Helpers for CAs.", subcommands = {CaCreate.class})
    static final class Ca implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: create");
        }
    }

    @Command(name = "cert", mixinStandardHelpOptions = true, description = "Helpers for certificates.", subcommands = {CertCreate.class})
    static final class Cert implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: create");
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates a self-signed CA: DOMAIN-agent-ca.pem and DOMAIN-agent-ca-key.pem.")
    static final class CaCreate implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-days", paramLabel = "N", description = "Days the CA is valid (default 1825).") int days = 1825;
        @Option(names = "-domain", paramLabel = "DOMAIN", description = "The cluster's DNS domain (default consul): the file names, and the name constraint.") String domain = "consul";
        @Option(names = "-name-constraint", description = "The CA may sign only certificates for localhost and -domain (and -additional-name-constraint).") boolean nameConstraint;
        @Option(names = "-additional-name-constraint", paramLabel = "DOMAIN", description = "Another permitted domain with -name-constraint (repeatable).") List<String> additional = new ArrayList<>();
        @Option(names = "-common-name", paramLabel = "NAME", description = "The CA's common name (default \"Consul Agent CA <serial>\").") String commonName;
        @Option(names = "-output-dir", paramLabel = "DIR", description = "Where to write the files (default: the working directory; failoverkit's addition).") Path dir = Path.of(".");

        @Override
        public Integer call() throws IOException, GeneralSecurityException {
            if (days < 1) throw new CommandLine.ParameterException(spec.commandLine(), "-days must be at least 1");
            if (!additional.isEmpty() && !nameConstraint) throw new CommandLine.ParameterException(spec.commandLine(), "-additional-name-constraint needs -name-constraint");
            String d = trimDot(domain);
            Path caFile = dir.resolve(d + "-agent-ca.pem");
            Path keyFile = dir.resolve(d + "-agent-ca-key.pem");
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            for (Path f : List.of(caFile, keyFile)) {
                if (Files.exists(f)) {
                    err.println("==> CA file " + f.getFileName() + " already exists");
                    return 1;
                }
            }
            List<String> constraints = new ArrayList<>();
            if (nameConstraint) {
                constraints.add(d);
                constraints.add("localhost");
                constraints.addAll(additional);
            }
            String cn = commonName != null ? commonName : "Consul Agent CA " + Long.toUnsignedString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 1);
            CertificateAuthority.Issued ca = CertificateAuthority.createCa(cn, days, constraints);
            PemFiles.writeNew(keyFile, PemFiles.pem(ca.key()), true);
            PemFiles.writeNew(caFile, PemFiles.pem(ca.certificate()), false);
            out.println("==> Saved " + caFile.getFileName());
            out.println("==> Saved " + keyFile.getFileName());
            return 0;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Creates a certificate signed by the CA: DC-server-DOMAIN-N.pem, DC-client-DOMAIN-N.pem or DC-cli-DOMAIN-N.pem, and its -key.pem.")
    static final class CertCreate implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-server", description = "A server certificate (names server.DC.DOMAIN).") boolean server;
        @Option(names = "-client", description = "A client agent certificate (names client.DC.DOMAIN).") boolean client;
        @Option(names = "-cli", description = "A certificate for the CLI (names cli.DC.DOMAIN).") boolean cli;
        @Option(names = "-ca", paramLabel = "FILE", description = "The CA certificate (default DOMAIN-agent-ca.pem).") Path caFile;
        @Option(names = "-key", paramLabel = "FILE", description = "The CA's key (default DOMAIN-agent-ca-key.pem).") Path caKeyFile;
        @Option(names = {"-dc", "-datacenter"}, paramLabel = "DC", description = "Datacenter (default dc1).") String dc = "dc1";
        @Option(names = "-domain", paramLabel = "DOMAIN", description = "Domain (default consul).") String domain = "consul";
        @Option(names = "-days", paramLabel = "N", description = "Days the certificate is valid (default 365).") int days = 365;
        @Option(names = "-node", paramLabel = "NAME", description = "With -server: also name NODE.server.DC.DOMAIN.") String node;
        @Option(names = "-additional-dnsname", paramLabel = "NAME", description = "Another DNS name (repeatable); localhost is always included.") List<String> dnsNames = new ArrayList<>();
        @Option(names = "-additional-ipaddress", paramLabel = "IP", description = "Another IP address (repeatable); 127.0.0.1 is always included.") List<String> ips = new ArrayList<>();
        @Option(names = "-output-dir", paramLabel = "DIR", description = "Where to write the files; -ca and -key default to files there too (failoverkit's addition).") Path dir = Path.of(".");

        @Override
        public Integer call() throws IOException, GeneralSecurityException {
            int kinds = (server ? 1 : 0) + (client ? 1 : 0) + (cli ? 1 : 0);
            if (kinds != 1) throw new CommandLine.ParameterException(spec.commandLine(), "Please provide either -server, -client, or -cli");
            if (node != null && !server) throw new CommandLine.ParameterException(spec.commandLine(), "-node requires -server");
            if (days < 1) throw new CommandLine.ParameterException(spec.commandLine(), "-days must be at least 1");
            if (!dc.matches("[A-Za-z0-9_-]+")) throw new CommandLine.ParameterException(spec.commandLine(), "-dc \"" + dc + "\" may hold only letters, digits, '-' and '_'");
            for (String ip : ips) {
                try {
                    io.failoverkit.tls.PeerTrust.ipLiteral(ip);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "-additional-ipaddress \"" + ip + "\" is not an IP address");
                }
            }
            for (String n : dnsNames) {
                if (!n.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "-additional-dnsname \"" + n + "\" is not a DNS name");
                }
            }
            String d = trimDot(domain);
            CertificateAuthority.Kind kind = server ? CertificateAuthority.Kind.SERVER : client ? CertificateAuthority.Kind.CLIENT : CertificateAuthority.Kind.CLI;
            Path ca = caFile != null ? caFile : dir.resolve(d + "-agent-ca.pem");
            Path caKey = caKeyFile != null ? caKeyFile : dir.resolve(d + "-agent-ca-key.pem");
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (!Files.exists(ca)) { err.println("==> CA file " + ca + " not found (create one with `discovery-node tls ca create`)"); return 1; }
            if (!Files.exists(caKey)) { err.println("==> CA key file " + caKey + " not found"); return 1; }
            X509Certificate caCert;
            PrivateKey caPrivate;
            try {
                caCert = PemFiles.certificates(ca).get(0);
                caPrivate = PemFiles.privateKey(caKey);
            } catch (IOException e) {
                err.println("==> " + e.getMessage());
                return 1;
            }
            String name = kind.label + "." + dc + "." + d;
            List<String> dns = new ArrayList<>();
            dns.add(name);
            if (node != null) dns.add(node + "." + name);
            dns.add("localhost");
            for (String n : dnsNames) if (!dns.contains(n)) dns.add(n);
            List<String> addrs = new ArrayList<>();
            if (kind != CertificateAuthority.Kind.CLI) addrs.add("127.0.0.1");
            for (String ip : ips) if (!addrs.contains(ip)) addrs.add(ip);

            String prefix = dc + "-" + kind.label + "-" + d;
            int n = 0;
            while (Files.exists(dir.resolve(prefix + "-" + n + ".pem")) || Files.exists(dir.resolve(prefix + "-" + n + "-key.pem"))) n++;
            Path certFile = dir.resolve(prefix + "-" + n + ".pem");
            Path keyFile = dir.resolve(prefix + "-" + n + "-key.pem");

            if (server) {
                out.println("==> WARNING: a server certificate lets its holder act as a server and read all cluster state,");
                out.println("    ACL tokens included: give it only to server hosts and keep it as safe as the CA key.");
            }
            out.println("==> Using " + ca.getFileName() + " and " + caKey.getFileName());
            CertificateAuthority.Issued issued = CertificateAuthority.issue(caCert, caPrivate, kind, name, days, dns, addrs);
            PemFiles.writeNew(keyFile, PemFiles.pem(issued.key()), true);
            PemFiles.writeNew(certFile, PemFiles.pem(issued.certificate()), false);
            out.println("==> Saved " + certFile.getFileName());
            out.println("==> Saved " + keyFile.getFileName());
            return 0;
        }
    }

    private static String trimDot(String domain) {
        return domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
    }
}
