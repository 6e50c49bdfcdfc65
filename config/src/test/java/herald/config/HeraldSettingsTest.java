package herald.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HeraldSettingsTest {

    private static HeraldSettings read(String overrides) {
        return HeraldSettings.fromConfig(HeraldConfig.load(ConfigFactory.parseString(overrides)));
    }

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        HeraldSettings s = read("");
        assertEquals("127.0.0.1", s.server().host());
        assertEquals(8080, s.server().port());
        assertEquals("/ws", s.websocket().path());
        assertEquals(64 * 1024, s.websocket().maxFrame());
        assertEquals(4096, s.websocket().outboundFrames());
        assertEquals(1024 * 1024, s.websocket().outboundBytes());
        assertEquals(Duration.ofSeconds(25), s.websocket().heartbeat());
        assertEquals(Duration.ofSeconds(60), s.websocket().idleTimeout());
        assertEquals(Duration.ofSeconds(30), s.websocket().closeGrace());
        assertNull(s.websocket().keepAlivePing());
        assertEquals(new HeraldSettings.TopicLimits(1000, 1000, 10_000, Duration.ofMinutes(10), 100_000), s.topics().defaults());
        assertEquals(1000, s.limits().maxSubscriptionsPerConnection());
        assertEquals(Duration.ofSeconds(10), s.shutdownGrace());
        assertTrue(s.webEnabled());
        assertEquals(new HeraldSettings.Cluster(false, "127.0.0.1", 25520, java.util.List.of(), "keep-majority",
                Duration.ofSeconds(10)), s.cluster());
    }

    @Test
    void heraldsPekkoSettingsAreLayeredUnderTheApplicationsAndOverPekkosDefaults() {
        var config = HeraldConfig.load();
        assertTrue(config.getBoolean("pekko.http.server.remote-address-attribute"));
        // Off: Herald's own rules close idle connections, with a reason.
        assertEquals("infinite", config.getString("pekko.http.server.idle-timeout"));
        var overridden = HeraldConfig.load(ConfigFactory.parseString("pekko.http.server.idle-timeout = 10 minutes"));
        assertEquals(Duration.ofMinutes(10), overridden.getDuration("pekko.http.server.idle-timeout"));
    }

    @Test
    void theShippedApplicationConfIsValid() {
        var shipped = ConfigFactory.parseFile(new java.io.File("application.conf")).resolve();
        assertTrue(shipped.hasPath("herald.server.port"), "run from the config module, next to the shipped file");
        HeraldSettings s = HeraldSettings.fromConfig(HeraldConfig.load(shipped));
        assertEquals(500, s.topics().maxEntriesFor("chat:lobby"));
    }

    @Test
    void retentionIsTheFirstMatchingPatternElseTheDefault() {
        HeraldSettings s = read("""
                herald.topics.max-entries = 50
                herald.topics.retention = [
                  { pattern = "chat:*", max-entries = 5 },
                  { pattern = "chat:**", max-entries = 7 }
                ]""");
        assertEquals(5, s.topics().maxEntriesFor("chat:1"));
        assertEquals(7, s.topics().maxEntriesFor("chat:1:thread"));
        assertEquals(50, s.topics().maxEntriesFor("other"));
    }

    @Test
    void durableTopicsAreThoseOfTheirPatternsOnTheEmbeddedDatabaseUnlessAUrlIsGiven() {
        HeraldSettings s = read("""
                herald.durable.topics = ["orders:*", "board.**"]
                herald.durable.directory = "/var/lib/herald"
                """);
        assertTrue(s.durable().enabled());
        assertTrue(s.durable().isDurable("orders:1"));
        assertTrue(s.durable().isDurable("board.a.b"));
        assertFalse(s.durable().isDurable("chat:1"));
        assertEquals("jdbc:h2:file:/var/lib/herald/herald;WRITE_DELAY=0", s.durable().jdbcUrl());
        assertFalse(read("").durable().enabled());
        assertEquals("jdbc:postgresql://db/herald",
                read("herald.durable.database.url = \"jdbc:postgresql://db/herald\"").durable().jdbcUrl());
    }

    @Test
    void aPatternOverridesOnlyTheLimitsItNames() {
        HeraldSettings s = read("""
                herald.topics.resume-window = 300
                herald.topics.retention = [
                  { pattern = "board:*", resume-window = 20, idempotency-window = 40 },
                  { pattern = "chat:*", max-entries = 5 }
                ]""");
        assertEquals(new HeraldSettings.TopicLimits(1000, 20, 40, Duration.ofMinutes(10), 100_000),
                s.topics().limitsFor("board:1"));
        assertEquals(new HeraldSettings.TopicLimits(5, 300, 10_000, Duration.ofMinutes(10), 100_000),
                s.topics().limitsFor("chat:1"));
    }

    @Test
    void presenceHooksAndAdminKeysAreRead() {
        HeraldSettings s = read("herald.presence.topics = [\"room:*\"]\nherald.presence.max-members = 5\n"
                + "herald.hooks.subscribe { url = \"http://127.0.0.1:9/subscribe\", topics = [\"room:*\"] }\n"
                + "herald.api-keys = [{ id = ops, sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", admin = on }]");
        assertTrue(s.topics().presence().keptFor("room:1"));
        assertFalse(s.topics().presence().keptFor("$presence:room:1"), "a presence topic has no presence of its own");
        assertEquals(5, s.topics().limitsFor("$presence:room:1").maxEntries(), "a presence topic lists at most max-members");
        assertFalse(s.hooks().connect().enabled());
        assertTrue(s.hooks().subscribe().appliesTo("room:1"));
        assertFalse(s.hooks().subscribe().appliesTo("lobby"));
        assertTrue(s.apiKeys().get(0).admin());
        assertFalse(read("herald.durable.topics = [\"**\"]").durable().isDurable("$presence:room:1"), "presence is never durable");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "herald.server.port = 70000 | herald.server.port: expected a port number from 0 to 65535, got 70000",
            "herald.hooks.connect.url = \"ftp://backend/connect\" | herald.hooks.connect.url: expected an http:// or https:// URL, got \"ftp://backend/connect\"",
            "herald.hooks.publish.url = backend/publish | herald.hooks.publish.url: expected an http:// or https:// URL",
            "herald.hooks.subscribe.deadline = 0s | herald.hooks.subscribe.deadline: expected a duration above zero",
            "herald.hooks.subscribe.topics = [\"a b\"] | herald.hooks.subscribe.topics",
            "herald.webhooks.url = \"http://backend/hooks\" | herald.webhooks.secret: expected at least 32 bytes",
            "herald.webhooks.url = \"mailto:ops@example.com\" | herald.webhooks.url: expected an http:// or https:// URL",
            "herald.presence.max-members = 0 | herald.presence.max-members: expected a whole number of at least 1",
            "herald.api-keys = [{ id = a, sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", admin = maybe }] | herald.api-keys[0].admin: expected on or off",
            "herald.server.port = eighty | herald.server.port",
            "herald.websocket.path = ws | herald.websocket.path: expected a path starting with '/'",
            "herald.websocket.max-frame = lots | herald.websocket.max-frame: expected a size such as 64 KiB",
            "herald.websocket.outbound-buffer.frames = 0 | herald.websocket.outbound-buffer.frames: expected a whole number of at least 1, got 0",
            "herald.websocket.heartbeat = soon | herald.websocket.heartbeat: expected a duration such as 30s",
            "herald.websocket.idle-timeout = 0s | herald.websocket.idle-timeout: expected a duration above zero",
            "herald.websocket.heartbeat = 90s | herald.websocket.heartbeat (PT1M30S) must be below herald.websocket.idle-timeout",
            "herald.topics.retention = [{ pattern = \"a b\", max-entries = 1 }] | herald.topics.retention[0].pattern",
            "herald.topics.retention = [{ pattern = \"a.*\", max-entries = -1 }] | herald.topics.retention[0].max-entries: expected a whole number of at least 1",
            "pekko.http.server.idle-timeout = 30s | pekko.http.server.idle-timeout (30s) must be above herald.websocket.idle-timeout",
            "herald.cluster.enabled = on | herald.cluster.seed-nodes: a cluster needs at least one seed node",
            "herald.cluster.seed-nodes = [\"10.0.0.1\"] | herald.cluster.seed-nodes: expected \"host:port\" entries, got '10.0.0.1'",
            "herald.cluster.split-brain-resolver = coin-toss | herald.cluster.split-brain-resolver: expected keep-majority",
            "herald.cluster.port = 99999 | herald.cluster.port: expected a port number",
            "herald.auth.jwt.clock-skew = abc | herald.auth.jwt.clock-skew: expected a duration such as 30s, got \"abc\"",
            "herald.auth.jwt.clock-skew = -1s | herald.auth.jwt.clock-skew: expected a duration of zero or more",
            "herald.server.request-deadline = 0s | herald.server.request-deadline: expected a duration above zero",
            "herald.server.http-idle-timeout = never | herald.server.http-idle-timeout: expected a duration such as 30s",
            "herald.limits.http-connections = 0 | herald.limits.http-connections: expected a whole number of at least 1",
            "herald.web.enabled = maybe | herald.web.enabled: expected on or off, got \"maybe\"",
            "herald.api-keys = [{ id = x, sha256 = [1] }] | herald.api-keys[0].sha256: expected a string, got [1]",
            "herald.topics.retention = [{ pattern = [], max-entries = 1 }] | herald.topics.retention[0].pattern: expected a string",
            "herald.topics.retention = [{ pattern = \"a.*\", resume-window = 0 }] | herald.topics.retention[0].resume-window: expected a whole number of at least 1",
            "herald.topics.resume-window = all | herald.topics.resume-window: expected a whole number",
            "herald.durable.topics = [\"a b\"] | herald.durable.topics",
            "herald.durable.database.url = \"mysql://db\" | herald.durable.database.url: expected a jdbc:postgresql: or jdbc:h2: URL",
            "herald.durable.database.pool-size = 0 | herald.durable.database.pool-size: expected a whole number of at least 1",
            "herald.durable.snapshot-every = -5 | herald.durable.snapshot-every: expected a whole number of at least 1",
            "herald.durable.max-waiting = 0 | herald.durable.max-waiting: expected a whole number of at least 1",
            "herald.topics.idempotency-ttl = 0s | herald.topics.idempotency-ttl: expected a duration above zero",
            "herald.topics.idempotency-max-keys = 10 | herald.topics.idempotency-max-keys (10) must be at least herald.topics.idempotency-window (10000)",
    })
    void aBadValueFailsWithAMessageNamingTheKey(String override, String expected) {
        SettingsException e = assertThrows(SettingsException.class, () -> read(override));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /** Whatever the key, a value of the wrong kind stops start-up with the key, what it expects and what it got. */
    @Test
    void everyKeyGivenAValueOfTheWrongKindIsNamedInTheMessage() {
        Config reference = ConfigFactory.defaultReference().getConfig("herald");
        assertTrue(reference.entrySet().size() > 45, "every key of reference.conf is tried");
        for (Map.Entry<String, ConfigValue> entry : reference.entrySet()) {
            String key = "herald." + entry.getKey();
            SettingsException e = assertThrows(SettingsException.class, () -> read(key + " = { wrong = kind }"), key);
            assertTrue(e.getMessage().startsWith(key + ": expected ") && e.getMessage().endsWith("got {\"wrong\":\"kind\"}"),
                    e.getMessage());
        }
    }

    @Test
    void pekkosConnectionCapIsHeraldsLimitsTogether() {
        HeraldSettings s = read("herald.limits { max-connections = 300, http-connections = 50 }");
        assertEquals(350, s.limits().maxTcpConnections());
        assertEquals(Duration.ofSeconds(10), read("").server().requestDeadline());
        assertEquals(Duration.ofSeconds(60), read("").server().httpIdleTimeout());
    }
}
