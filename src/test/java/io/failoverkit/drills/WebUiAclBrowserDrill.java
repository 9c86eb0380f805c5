package io.failoverkit.drills;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.failover.drill.LocalProcesses;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 15 with ACLs on (default deny): the web UI shows what the token in its token box may read and nothing else.
 * An anonymous page shows no cluster, no service, no key; a token with a narrow policy shows only what its policy
 * lets it read; the management token shows everything. Headless Debian chromium, as {@link WebUiBrowserDrill}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class WebUiAclBrowserDrill {
    static final Path SHOTS = Path.of("target", "ui-screenshots");
    static final String MANAGEMENT = UUID.randomUUID().toString();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();
    static Path dir;
    static Agent agent;
    static String base;
    static WebDriver driver;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("webui-acl");
        Files.createDirectories(SHOTS);
        Path config = dir.resolve("acl.json");
        Files.writeString(config, "{\"acl\": {\"enabled\": true, \"default_policy\": \"deny\", \"tokens\": {\"initial_management\": \"" + MANAGEMENT + "\"}}}");
        AgentConfig cfg = new AgentConfig();
        cfg.configFiles.add(config);
        cfg.applyFiles(java.util.Set.of());
        cfg.reloadDefinitions();
        cfg.dev = true;
        cfg.nodeName = "ui-acl";
        cfg.httpPort = LocalProcesses.freePort();
        cfg.dnsPort = LocalProcesses.freePort();
        cfg.serverPort = LocalProcesses.freePort();
        cfg.serfLanPort = LocalProcesses.freePort();
        cfg.validate();
        agent = Agent.start(cfg);
        base = "http://127.0.0.1:" + cfg.httpPort;
        // Ready once the initial management token is in the ACL store (created by the leader after it is elected).
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> java.util.Set.of(200, 404).contains(call("GET", "/v1/kv/?keys", MANAGEMENT, null).statusCode()));

        // What there is to hide: a failover cluster's keys, a secret, a master-tagged service; and what a narrow token may read.
        put("/v1/kv/failover/acl-db/epoch", "{\"epoch\":3,\"master\":\"10.0.0.9:3306\",\"acknowledged\":true,\"lastFailoverMillis\":1}");
        put("/v1/kv/secret/db-password", "hunter2");
        put("/v1/kv/public/motd", "hello");
        put("/v1/catalog/register", "{\"Node\":\"db-node\",\"Address\":\"10.0.0.9\",\"Service\":{\"ID\":\"secret-db-1\",\"Service\":\"secret-db\",\"Tags\":[\"master\"],\"Port\":3306}}");
        put("/v1/catalog/register", "{\"Node\":\"web-node\",\"Address\":\"10.0.0.8\",\"Service\":{\"ID\":\"public-web-1\",\"Service\":\"public-web\",\"Tags\":[\"v1\"],\"Port\":80}}");

        ChromeOptions options = new ChromeOptions();
        options.setBinary(WebUiBrowserDrill.CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                "--user-data-dir=" + dir.resolve("chromium-profile"), "--no-first-run", "--disable-extensions", "--disable-background-networking");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(WebUiBrowserDrill.CHROMEDRIVER))
                .usingPort(LocalProcesses.freePort()).build();
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        try { if (driver != null) driver.quit(); } finally { if (agent != null) agent.close(); }
    }

    /** What the page showed when the test ended, and what it was still waiting for. */
    @org.junit.jupiter.api.AfterEach
    void capture() throws Exception {
        if (driver == null) return;
        Files.write(SHOTS.resolve("acl-after-test.png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
        System.out.println("requests in flight: " + ((JavascriptExecutor) driver).executeScript("return window.failoverkitPending ? window.failoverkitPending() : []"));
        System.out.println("main: " + driver.findElement(By.id("main")).getText());
    }

    static HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) b.header("X-Consul-Token", token);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String put(String path, String body) throws Exception {
        HttpResponse<String> r = call("PUT", path, MANAGEMENT, body);
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return r.body();
    }

    static void useToken(String token) {
        driver.findElement(By.id("token-input")).clear();
        if (token != null) driver.findElement(By.id("token-input")).sendKeys(token);
        driver.findElement(By.cssSelector("#token-form button[type='submit']")).click();
    }

    /**
     * Shows a view: the first time by loading the page, then by following a link within it, as an operator does (a
     * full reload per view would leave each old page's blocking queries to the browser's per-host connection limit).
     */
    static void open(String path) {
        boolean loaded = driver.getCurrentUrl().startsWith(base + "/ui/")
                && Boolean.TRUE.equals(((JavascriptExecutor) driver).executeScript("return typeof window.failoverkitNavigate === 'function'"));
        if (loaded) ((JavascriptExecutor) driver).executeScript("window.failoverkitNavigate(arguments[0])", path);
        else driver.get(base + path);
        await().atMost(Duration.ofSeconds(30)).until(() -> Boolean.TRUE.equals(((JavascriptExecutor) driver).executeScript("return typeof window.failoverkitLoadedAt === 'number'")));
    }

    /** The page's text once it stopped loading (every "Loading…" replaced by data, or by a refusal). */
    static String settledText() {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> !driver.findElement(By.id("main")).getText().contains("Loading"));
        return driver.findElement(By.id("main")).getText();
    }

    @Test
    void anAnonymousPageShowsNothingItMayNotReadAndATokenShowsWhatItsPolicyAllows() throws Exception {
        // Anonymous (no token in the box): default deny, so no cluster, no service, no key, on every view.
        open("/ui/");
        assertThat(settledText()).doesNotContain("acl-db", "10.0.0.9", "secret-db");
        Files.write(SHOTS.resolve("acl-anonymous-overview.png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
        for (String view : List.of("/ui/services", "/ui/nodes", "/ui/kv/", "/ui/kv/secret/", "/ui/sessions", "/ui/clusters/acl-db")) {
            open(view);
            String text = settledText();
            assertThat(text).as(view).doesNotContain("secret-db", "public-web", "db-password", "10.0.0.9", "epoch 3", "hunter2");
            assertThat(driver.getPageSource()).as(view + " (markup too)").doesNotContain("hunter2", "secret-db", "10.0.0.9");
        }
        open("/ui/kv/secret/db-password");
        assertThat(settledText()).contains("may not read").doesNotContain("hunter2");

        // A narrow token: the public keys and the public service, nothing else.
        put("/v1/acl/policy", "{\"Name\":\"ui-public\",\"Rules\":\"key_prefix \\\"public/\\\" { policy = \\\"read\\\" }\\n"
                + "service \\\"public-web\\\" { policy = \\\"read\\\" }\\nnode_prefix \\\"\\\" { policy = \\\"read\\\" }\"}");
        String narrow = JSON.readTree(put("/v1/acl/token", "{\"Description\":\"ui test\",\"Policies\":[{\"Name\":\"ui-public\"}]}")).path("SecretID").asText();
        open("/ui/services");
        useToken(narrow);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> settledText().contains("public-web"));
        assertThat(settledText()).doesNotContain("secret-db", "10.0.0.9");
        assertThat(((JavascriptExecutor) driver).executeScript("return sessionStorage.getItem('failoverkit.token')")).isEqualTo(narrow);
        open("/ui/kv/");
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> settledText().contains("public/"));
        assertThat(settledText()).doesNotContain("secret/", "failover/");
        open("/ui/");
        assertThat(settledText()).doesNotContain("acl-db", "secret-db");
        Files.write(SHOTS.resolve("acl-narrow-token-kv.png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));

        // The management token: everything.
        useToken(MANAGEMENT);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                assertThat(settledText()).contains("acl-db", "10.0.0.9:3306", "secret-db"));
        // Forget: back to anonymous, and the token is gone from the tab's storage.
        driver.findElement(By.id("token-forget")).click();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> assertThat(settledText()).doesNotContain("acl-db", "secret-db"));
        assertThat(((JavascriptExecutor) driver).executeScript("return sessionStorage.getItem('failoverkit.token')")).isNull();
    }
}
