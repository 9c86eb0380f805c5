package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.ManagerThread;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 15: the web UI in a real browser (Debian's headless chromium through /usr/bin/chromedriver, no download)
 * against a running lab: a discovery node, a Redis cluster (local redis-server processes) and a MariaDB cluster (local
 * mariadbd processes), each watched by a failover manager. The page is opened once per view and never reloaded: what
 * changes in the lab must reach the open page through its blocking queries. Screenshots of the main views go to
 * target/ui-screenshots; the measured delays (epoch written → page changed) are printed and written there.
 *
 * <p>Here, in drills/, because this module already has the labs and the discovery node in one JVM (failover's
 * drill package, {@link DiscoveryLab}) and depends on both discovery-node and failover.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class WebUiBrowserDrill {
    static final String CHROMIUM = "/usr/bin/chromium";
    static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    static final Path SHOTS = Path.of("target", "ui-screenshots");
    static final ObjectMapper JSON = new ObjectMapper();

    static Path dir;
    static Agent agent;
    static String base;
    static DiscoveryClient discovery;
    static LocalRedisLab redisLab;
    static LocalMariaDbLab mariaLab;
    static RedisServers redis;
    static MySqlServers mysql;
    static ManagerThread redisManager, mysqlManager;
    static WebDriver driver;
    static final List<String> figures = new ArrayList<>();

    @BeforeAll
    static void startLab() throws Exception {
        assertThat(new File(CHROMIUM)).as("chromium (apt: chromium; bin/setup installs it)").exists();
        assertThat(new File(CHROMEDRIVER)).as("chromedriver (apt: chromium-driver; bin/setup installs it)").exists();
        dir = Files.createTempDirectory("webui-drill");
        Files.createDirectories(SHOTS);
        agent = DiscoveryLab.start("ui-discovery");
        base = "http://127.0.0.1:" + agent.httpPort();
        discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());

        redisLab = new LocalRedisLab(dir.resolve("redis"), 2);
        ClusterDefinition redisCluster = new ClusterDefinition("ui-redis", "redis", redisLab.addresses(), "ui-redis", null, null, null, null, null, 0);
        redis = new RedisServers(redisCluster.detection().timeoutMs(), null);
        discovery.put(ClusterDefinition.kvKey("ui-redis"), redisCluster.toJson()); // for `failover status --cluster kv:ui-redis`
        redisManager = ManagerThread.start(new Manager(redisCluster, discovery, redis, "ui-redis-manager", o -> {}), Duration.ofMinutes(9));

        mariaLab = new LocalMariaDbLab(dir.resolve("mariadb"), 2, false);
        ClusterDefinition mysqlCluster = MySqlKillDrill.cluster("ui-mysql", mariaLab);
        mysql = MySqlKillDrill.servers(mysqlCluster, mariaLab);
        mysqlManager = ManagerThread.start(new Manager(mysqlCluster, discovery, mysql, "ui-mysql-manager", o -> {}), Duration.ofMinutes(9));

        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.setCapability("goog:loggingPrefs", java.util.Map.of("browser", "ALL"));
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                "--user-data-dir=" + dir.resolve("chromium-profile"), "--no-first-run", "--disable-extensions", "--disable-background-networking");
        // The driver and the browser are named explicitly, so Selenium Manager has nothing to find or download.
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
                .usingPort(LocalProcesses.freePort()).withLogFile(dir.resolve("chromedriver.log").toFile()).build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopLab() throws Exception {
        try {
            if (!figures.isEmpty()) Files.write(SHOTS.resolve("figures.txt"), figures);
        } finally {
            try { if (driver != null) driver.quit(); } finally {
                try { if (redisManager != null) redisManager.close(); } finally {
                    try { if (mysqlManager != null) mysqlManager.close(); } finally {
                        try { if (redis != null) redis.close(); } finally {
                            try { if (mysql != null) mysql.close(); } finally {
                                try { if (redisLab != null) redisLab.close(); } finally {
                                    try { if (mariaLab != null) mariaLab.close(); } finally {
                                        if (agent != null) agent.close();
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** The page's console (errors included) after each test, in the test's output. */
    @org.junit.jupiter.api.AfterEach
    void printBrowserConsole(org.junit.jupiter.api.TestInfo test) {
        if (driver == null) return;
        try {
            // What the page looked like when the test ended: the first thing to read when one fails.
            Path after = SHOTS.resolve("after-each");
            Files.createDirectories(after);
            String name = test.getTestMethod().map(java.lang.reflect.Method::getName).orElse("test");
            Files.write(after.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
            Files.writeString(after.resolve(name + ".html"), String.valueOf(js("return document.documentElement.outerHTML")));
            System.out.println("requests in flight after " + name + ": " + js("return window.failoverkitPending ? window.failoverkitPending() : []"));
        } catch (Exception e) {
            System.out.println("no after-test capture: " + e);
        }
        try {
            for (var e : driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER)) System.out.println("browser: " + e);
        } catch (RuntimeException e) {
            System.out.println("browser console unavailable: " + e);
        }
    }

    /** A bounded wait that retries through an element the page re-rendered meanwhile (stale) or has not drawn yet. */
    static org.awaitility.core.ConditionFactory eventually(Duration max) {
        return await().atMost(max).pollInterval(Duration.ofMillis(100)).ignoreExceptions();
    }

    static Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    static void shot(String name) throws Exception {
        Files.write(SHOTS.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
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

    /** The master the page shows for a cluster row (overview) or the cluster page. */
    static Optional<String> shownMaster(String css) {
        List<WebElement> cells = driver.findElements(By.cssSelector(css));
        return cells.isEmpty() ? Optional.empty() : Optional.ofNullable(cells.get(0).getAttribute("data-master"));
    }

    static String masterOf(String cluster) throws Exception {
        Optional<Discovery.KvEntry> e = discovery.get("failover/" + cluster + "/epoch");
        return e.isEmpty() ? null : JSON.readTree(e.get().value()).path("master").asText(null);
    }

    @Test
    @Order(1)
    void theOverviewShowsTheRedisAndTheMariaDbClusterWithTheirMasters() throws Exception {
        open("/ui/");
        Duration labReady = Duration.ofSeconds(90);
        String redisMaster = redisLab.instances().get(0).address();
        String mysqlMaster = mariaLab.instances().get(0).address();
        eventually(labReady).untilAsserted(() -> {
            assertThat(shownMaster("tr[data-cluster='ui-redis'] td.master")).hasValue(redisMaster);
            assertThat(shownMaster("tr[data-cluster='ui-mysql'] td.master")).hasValue(mysqlMaster);
        });
        // Replicas and a live manager, as the managers published them.
        eventually(labReady).untilAsserted(() -> {
            for (String c : List.of("ui-redis", "ui-mysql")) {
                String row = driver.findElement(By.cssSelector("tr[data-cluster='" + c + "']")).getText();
                assertThat(row).as(c).contains("2 replica(s)", "live", "one master");
            }
        });
        assertThat(driver.findElement(By.cssSelector("tr[data-cluster='ui-redis']")).getText()).contains("redis");
        assertThat(driver.findElement(By.cssSelector("tr[data-cluster='ui-mysql']")).getText()).contains("mysql");
        shot("overview");
        driver.manage().window().setSize(new Dimension(390, 844));
        try {
            // Phone width: the page does not grow sideways; only a table scrolls inside its own box.
            assertThat(((Number) js("return document.documentElement.scrollWidth")).intValue()).isLessThanOrEqualTo(
                    ((Number) js("return document.documentElement.clientWidth")).intValue() + 1);
            shot("overview-phone");
        } finally {
            driver.manage().window().setSize(new Dimension(1280, 1000));
        }
        // The cluster page of each, loaded directly (deep link): topology with both replicas and their lag.
        for (String c : List.of("ui-redis", "ui-mysql")) {
            open("/ui/clusters/" + c);
            eventually(labReady).untilAsserted(() -> {
                assertThat(driver.findElements(By.cssSelector(".topology .node[data-role='replica']"))).hasSize(2);
                assertThat(driver.findElement(By.cssSelector(".topology")).getText()).contains("lag");
                assertThat(driver.findElements(By.cssSelector("li.epoch[data-epoch='1']"))).hasSize(1);
            });
            shot("cluster-" + c);
        }
    }

    @Test
    @Order(2)
    void aCriticalCheckTurnsItsRowRedOnTheOpenPage() throws Exception {
        // A hand-made registration, as the seeds' scripts did: a master-tagged instance with a catalog check.
        discovery.register("legacy-db-1", "127.0.0.2", "legacy-db-1", "legacy-db", List.of("master"), 3306,
                new Discovery.Check("legacy-db-alive", Discovery.Check.PASSING, "mysqld answers"));
        open("/ui/services");
        By row = By.cssSelector("tr[data-instance='legacy-db-1']");
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(driver.findElement(row).getText()).contains("passing"));
        assertThat(driver.findElement(row).getAttribute("class")).doesNotContain("critical");
        js("window.__sameDocument = 'services'");

        discovery.register("legacy-db-1", "127.0.0.2", "legacy-db-1", "legacy-db", List.of("master"), 3306,
                new Discovery.Check("legacy-db-alive", Discovery.Check.CRITICAL, "connect: connection refused"));
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            WebElement r = driver.findElement(row);
            assertThat(r.getAttribute("class")).contains("critical");
            assertThat(r.getText()).contains("critical", "connection refused");
            assertThat(r.getCssValue("background-color")).isEqualTo("rgba(251, 213, 210, 1)");
        });
        assertThat(js("return window.__sameDocument")).as("changed without a reload").isEqualTo("services");
        // The filter shows only critical instances.
        driver.findElement(By.cssSelector("input[name='state'][value='critical']")).click();
        eventually(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(driver.findElements(By.cssSelector("tr[data-instance='legacy-db-1']"))).hasSize(1);
            assertThat(driver.findElements(By.cssSelector("section.service[data-service='ui-redis']"))).isEmpty();
        });
        assertThat(driver.getCurrentUrl()).endsWith("/ui/services?state=critical");
        shot("services-critical");
        driver.findElement(By.cssSelector("input[name='state'][value='any']")).click();
        shot("services");

        // The overview lists the unmanaged master service too, red.
        open("/ui/");
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            WebElement r = driver.findElement(By.cssSelector("tr[data-service='legacy-db']"));
            assertThat(r.getAttribute("class")).contains("critical");
            assertThat(r.getText()).contains("not managed", "127.0.0.2:3306");
        });
        open("/ui/nodes");
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(driver.findElement(By.cssSelector("tr[data-node='legacy-db-1']")).getAttribute("class")).contains("critical");
            assertThat(driver.findElement(By.cssSelector("tr[data-node='ui-discovery']")).getText()).contains("alive");
        });
        shot("nodes");
    }

    @Test
    @Order(3)
    void aKvEditWithAStaleIndexShowsTheConflictAndOverwritesNothing() throws Exception {
        discovery.put("ui-test/config", "first value");
        open("/ui/kv/ui-test/");
        eventually(Duration.ofSeconds(30)).until(() -> !driver.findElements(By.linkText("config")).isEmpty());
        shot("kv-folder");
        driver.findElement(By.linkText("config")).click();
        By value = By.id("kv-value");
        eventually(Duration.ofSeconds(30)).until(() -> !driver.findElements(value).isEmpty()
                && "first value".equals(driver.findElement(value).getDomProperty("value")));
        js("window.__sameDocument = 'kv'");
        // Someone else writes the key after the page read it.
        discovery.put("ui-test/config", "written elsewhere");
        WebElement editor = driver.findElement(value);
        editor.clear();
        editor.sendKeys("my edit");
        driver.findElement(By.id("kv-save")).click();
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            WebElement conflict = driver.findElement(By.id("kv-conflict"));
            assertThat(conflict.isDisplayed()).isTrue();
            assertThat(conflict.getText()).contains("Conflict: not saved", "written elsewhere");
        });
        assertThat(discovery.get("ui-test/config").orElseThrow().text()).as("the stale save overwrote nothing").isEqualTo("written elsewhere");
        assertThat(driver.findElement(value).getDomProperty("value")).as("the operator's edit is kept").isEqualTo("my edit");
        assertThat(js("return window.__sameDocument")).isEqualTo("kv");
        shot("kv-conflict");
        // Taking theirs and saving again goes through with the new index.
        driver.findElement(By.id("kv-take-theirs")).click();
        eventually(Duration.ofSeconds(10)).until(() -> "written elsewhere".equals(driver.findElement(By.id("kv-value")).getDomProperty("value")));
        WebElement again = driver.findElement(By.id("kv-value"));
        again.clear();
        again.sendKeys("merged");
        driver.findElement(By.id("kv-save")).click();
        eventually(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(discovery.get("ui-test/config").orElseThrow().text()).isEqualTo("merged"));
    }

    @Test
    @Order(4)
    void sessionsAndLocksShowTheManagersLocks() throws Exception {
        open("/ui/sessions");
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(driver.findElement(By.cssSelector("tr[data-lock='failover/ui-redis/leader']")).getText()).contains("failover-manager ui-redis");
            assertThat(driver.findElement(By.cssSelector("tr[data-lock='failover/ui-mysql/leader']")).getText()).contains("failover-manager ui-mysql");
        });
        shot("sessions");
        // The cluster page says the lock is held only when the lock key's session is the publishing manager's own.
        open("/ui/clusters/ui-redis");
        eventually(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(driver.findElement(By.cssSelector("span.lock")).getDomAttribute("data-lock")).isEqualTo("held"));
        // And the rule itself, in the page's own module, for the cases a live lab cannot stage at will: a status
        // document that still says "held" after the lock went to another session or was freed.
        Object states = ((JavascriptExecutor) driver).executeAsyncScript("const done = arguments[arguments.length - 1];"
                + "import('/ui/assets/model.js').then(m => done([" 
                + "  m.lockState({status: {manager: {session: 'aaa', holdsLock: true}}, lock: {session: 'aaa'}}).state,"
                + "  m.lockState({status: {manager: {session: 'aaa', holdsLock: true}}, lock: {session: 'bbb'}}).state,"
                + "  m.lockState({status: {manager: {session: 'aaa', holdsLock: true}}, lock: {session: null}}).state,"
                + "  m.lockState({status: {manager: {session: 'aaa', holdsLock: true}}, lock: null}).state,"
                + "  m.lockState({status: null, lock: null}).state,"
                + "  m.lockState({status: {manager: {session: 'aaa', holdsLock: true}}, lock: {session: null}}).text]), e => done('error: ' + e))");
        assertThat(((List<?>) states).stream().map(String::valueOf).toList()).containsExactly("held", "other", "free", "free", "unknown",
                "not held: the lock is free (this status is older than the lock)");
    }

    @Test
    @Order(5)
    void theKeyboardReachesEveryViewAndEveryFieldHasALabel() {
        open("/ui/");
        driver.navigate().refresh(); // a fresh page: the keyboard starts at the top
        eventually(Duration.ofSeconds(30)).until(() -> Boolean.TRUE.equals(js("return typeof window.failoverkitLoadedAt === 'number'")));
        WebElement body = driver.findElement(By.tagName("body"));
        body.sendKeys(Keys.TAB);
        WebElement target = null;
        for (int i = 0; i < 15 && target == null; i++) {
            WebElement active = driver.switchTo().activeElement();
            if ("Nodes".equals(active.getText())) target = active;
            else active.sendKeys(Keys.TAB);
        }
        assertThat(target).as("tabbing reaches the Nodes link").isNotNull();
        target.sendKeys(Keys.ENTER);
        eventually(Duration.ofSeconds(10)).until(() -> driver.getCurrentUrl().endsWith("/ui/nodes"));
        assertThat(driver.switchTo().activeElement().getTagName()).as("focus moves to the new view's heading").isEqualTo("h1");
        for (String view : List.of("/ui/", "/ui/kv/ui-test/config", "/ui/services", "/ui/kv/")) {
            open(view);
            eventually(Duration.ofSeconds(10)).until(() -> driver.findElements(By.cssSelector("main p.muted")).stream().noneMatch(p -> p.getText().equals("Loading…")));
            Object unlabelled = js("return [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]"
                    + ".filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.id || e.name)");
            assertThat((List<?>) unlabelled).as("fields without a label on " + view).isEmpty();
        }
    }

    @Test
    @Order(6)
    void aDrillsFailoverMovesTheMasterOnTheOpenPageWithoutAReloadAndTheTimelineAppears() throws Exception {
        String oldMaster = redisLab.instances().get(0).address();
        open("/ui/clusters/ui-redis");
        eventually(Duration.ofSeconds(30)).until(() -> shownMaster("dd.master").equals(Optional.of(oldMaster)));
        // The replicas must hold the master's data before it dies, or there is nobody to promote.
        eventually(Duration.ofSeconds(60)).until(() -> redisLab.instances().stream().skip(1)
                .map(s -> redis.observe(s.address())).allMatch(i -> i.isReplica() && i.masterLinkUp()));
        Object loadedAt = js("return window.failoverkitLoadedAt");
        // Records, in the page, when the master shown changes and when the new epoch's timeline has its DNS step.
        js("const old = arguments[0]; window.__sameDocument = 'cluster';"
                + "window.__masterChangedAt = 0; window.__timelineAt = 0;"
                + "new MutationObserver(() => {"
                + "  const m = document.querySelector('dd.master');"
                + "  if (!window.__masterChangedAt && m && m.dataset.master && m.dataset.master !== old) window.__masterChangedAt = Date.now();"
                + "  if (!window.__timelineAt && document.querySelector(\"li.epoch[data-epoch='2'] li[data-phase='DNS moved']:not(.missing)\")) window.__timelineAt = Date.now();"
                + "}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});", oldMaster);
        long killedAt = System.currentTimeMillis();
        redisLab.instances().get(0).kill();

        eventually(Duration.ofSeconds(60)).untilAsserted(() -> {
            assertThat(shownMaster("dd.master")).isPresent().get().isNotEqualTo(oldMaster);
            assertThat(driver.findElements(By.cssSelector("li.epoch[data-epoch='2'] li[data-phase='DNS moved']:not(.missing)"))).hasSize(1);
        });
        String newMaster = shownMaster("dd.master").orElseThrow();
        assertThat(newMaster).isEqualTo(masterOf("ui-redis"));
        assertThat(js("return window.__sameDocument")).as("the page was not reloaded").isEqualTo("cluster");
        assertThat(js("return window.failoverkitLoadedAt")).isEqualTo(loadedAt);
        // The page re-renders the timeline as the manager's later steps arrive: the element is looked up again on every
        // try (a reference held across a re-render goes stale), and the content is what is asserted.
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            WebElement epoch2 = driver.findElement(By.cssSelector("li.epoch[data-epoch='2']"));
            for (String phase : List.of("detected", "fenced", "promoted", "DNS moved")) {
                assertThat(epoch2.findElements(By.cssSelector("li[data-phase='" + phase + "']"))).as(phase).hasSize(1);
            }
            assertThat(epoch2.getText()).contains(newMaster, "total");
        });
        // The old master shows as unreachable in the topology, the anti-flapping block asks for an acknowledgement.
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(driver.findElements(By.cssSelector(".topology .node[data-role='down'][data-address='" + oldMaster + "']"))).hasSize(1);
            assertThat(driver.findElement(By.id("anti-flapping")).getText()).contains("blocked");
        });
        shot("cluster-after-failover");

        // Figures (not asserted: a loaded CI box may be slower): from the manager's epoch and dns-moved steps (its
        // timeline, same host clock) to the page showing them.
        JsonNode audit = JSON.readTree(discovery.get("failover/ui-redis/audit/2").orElseThrow().value());
        long epochStep = -1, dnsStep = -1;
        for (JsonNode s : audit.path("timeline")) {
            if (s.path("step").asText().equals("epoch")) epochStep = Instant.parse(s.path("at").asText()).toEpochMilli();
            if (s.path("step").asText().equals("dns moved")) dnsStep = Instant.parse(s.path("at").asText()).toEpochMilli();
        }
        long masterChangedAt = ((Number) js("return window.__masterChangedAt")).longValue();
        long timelineAt = ((Number) js("return window.__timelineAt")).longValue();
        String line = String.format("ui-redis failover on an open page: kill -> page shows new master %d ms; epoch written -> page shows new master %d ms;"
                        + " dns moved -> page shows the complete timeline %d ms", masterChangedAt - killedAt, masterChangedAt - epochStep, timelineAt - dnsStep);
        System.out.println(line);
        figures.add(line);
        assertThat(masterChangedAt).as("the observer saw the change").isPositive();

        // `failover status --json` reads the same keys: the same master, the same epoch and timeline as the page.
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            FailoverCliTest.Run status = FailoverCliTest.run("status", "--cluster", "kv:ui-redis", "--discovery", "127.0.0.1:" + agent.httpPort(), "--json");
            JsonNode doc = JSON.readTree(status.out());
            assertThat(doc.path("manager").path("epoch").path("master").asText()).isEqualTo(newMaster);
            assertThat(doc.path("manager").path("manager").path("identity").asText()).isEqualTo("ui-redis-manager");
            assertThat(doc.path("managerSilentMillis").asLong()).isLessThan(60_000);
            JsonNode last = doc.path("epochs").get(doc.path("epochs").size() - 1);
            assertThat(last.path("epoch").asLong()).isEqualTo(2);
            assertThat(last.path("master").asText()).isEqualTo(newMaster);
            assertThat(driver.findElement(By.cssSelector("li.epoch[data-epoch='2'] details summary")).getText())
                    .isEqualTo("Every step (" + last.path("timeline").size() + ")");
            boolean oldDown = false;
            for (JsonNode i : doc.path("manager").path("instances")) oldDown |= i.path("address").asText().equals(oldMaster) && !i.path("reachable").asBoolean();
            assertThat(oldDown).as("the manager's view: the old master unreachable").isTrue();
        });

        // Acknowledging from the page lifts the block (as `failover ack` does).
        driver.findElement(By.cssSelector("button[data-ack]")).click();
        eventually(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(JSON.readTree(discovery.get("failover/ui-redis/epoch").orElseThrow().value()).path("acknowledged").asBoolean()).isTrue();
            assertThat(driver.findElement(By.id("anti-flapping")).getText()).contains("acknowledged by web-ui");
        });
        shot("cluster-acknowledged");
    }

    @Test
    @Order(7)
    void aPageThatLosesTheAgentSaysSo() throws Exception {
        open("/ui/");
        eventually(Duration.ofSeconds(30)).until(() -> !driver.findElements(By.cssSelector("tr[data-cluster='ui-redis']")).isEmpty());
        assertThat(driver.findElement(By.id("banner")).isDisplayed()).isFalse();
        // The managers go first (they release their locks through the agent), then the agent.
        redisManager.close();
        redisManager = null;
        mysqlManager.close();
        mysqlManager = null;
        agent.close();
        agent = null;
        eventually(Duration.ofSeconds(60)).untilAsserted(() -> {
            WebElement banner = driver.findElement(By.id("banner"));
            assertThat(banner.isDisplayed()).isTrue();
            assertThat(banner.getText()).contains("lost the agent");
        });
        assertThat(driver.findElements(By.cssSelector("tr[data-cluster='ui-redis']"))).as("the last data stays on the page").hasSize(1);
        shot("agent-lost");
    }
}
