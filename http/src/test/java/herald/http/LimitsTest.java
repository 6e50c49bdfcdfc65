package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.JWTClaimsSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Each limit reached, refused with its status or error, and nothing else harmed; and the optional token checks. */
@ExtendWith(LogCapturingExtension.class)
class LimitsTest {

    private static void assertRefused(TestServer server, int status, String code) throws Exception {
        RawHttp.Response response = RawHttp.upgrade(server.herald.port(), "/ws", Map.of());
        assertEquals(status, response.status(), response.body());
        assertEquals(code, Json.parse(response.body()).path("code").asText());
    }

    @Test
    void connectionsPerAddressAreCappedWith429AndFreedOnClose() throws Exception {
        try (TestServer server = TestServer.start("herald.limits.max-connections-per-address = 2")) {
            WsClient first = WsClient.connectWelcomed(server.ws());
            try (WsClient second = WsClient.connectWelcomed(server.ws())) {
                assertRefused(server, 429, "rate_limited");
                second.send("{\"type\":\"ping\",\"id\":\"alive\"}");
                assertEquals("alive", second.next().path("id").asText(), "the connections already open are unharmed");
            }
            Eventually.await("a closed connection gives its place back", Duration.ofSeconds(5),
                    () -> RawHttp.upgrade(server.herald.port(), "/ws", Map.of()).status() == 101);
            first.close();
        }
    }

    @Test
    void sseStreamsCountAgainstThePerAddressLimitLikeWebSockets() throws Exception {
        try (TestServer server = TestServer.start("herald.limits.max-connections-per-address = 2");
             WsClient socket = WsClient.connectWelcomed(server.ws());
             java.net.Socket stream = RawHttp.open(server.herald.port());
             java.net.Socket refused = RawHttp.open(server.herald.port())) {
            RawHttp.send(stream, "GET /api/sse?topics=a HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assertEquals(200, RawHttp.read(stream).status());
            RawHttp.send(refused, "GET /api/sse?topics=a HTTP/1.1\r\nHost: localhost\r\n\r\n");
            RawHttp.Response response = RawHttp.read(refused);
            assertEquals(429, response.status(), response.body());
            assertEquals("rate_limited", Json.parse(response.body()).path("code").asText());
            assertRefused(server, 429, "rate_limited");
        }
    }

    @Test
    void connectionsInAllAreCappedWith503() throws Exception {
        try (TestServer server = TestServer.start("herald.limits.max-connections = 2");
             WsClient a = WsClient.connectWelcomed(server.ws());
             WsClient b = WsClient.connectWelcomed(server.ws())) {
            assertRefused(server, 503, "internal");
            a.send("{\"type\":\"ping\"}");
            assertEquals("pong", a.next().path("type").asText());
        }
    }

    @Test
    void connectionsPerUserAreCappedAtTheUpgradeAndOnAuth() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.limits.max-connections-per-user = 1
                """.formatted(Tokens.SECRET))) {
            String token = Tokens.hs256("ana", Duration.ofMinutes(5), List.of("**"), List.of());
            try (WsClient first = WsClient.connect(server.ws(), Map.of("Authorization", "Bearer " + token))) {
                first.next();
                RawHttp.Response second = RawHttp.upgrade(server.herald.port(), "/ws", Map.of("Authorization", "Bearer " + token));
                assertEquals(429, second.status());

                WsClient later = WsClient.connect(server.ws());
                later.send("{\"type\":\"auth\",\"id\":\"a\",\"token\":\"" + token + "\"}");
                JsonNode refused = later.next();
                assertEquals("auth_failed", refused.path("code").asText());
                assertEquals(4001, later.awaitClose().code());

                String other = Tokens.hs256("bo", Duration.ofMinutes(5), List.of("**"), List.of());
                assertEquals(101, RawHttp.upgrade(server.herald.port(), "/ws", Map.of("Authorization", "Bearer " + other)).status(),
                        "another user is not affected");
            }
        }
    }

    @Test
    void issuerAndAudienceAreCheckedWhenConfigured() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.auth.jwt.issuer = "https://auth.example"
                herald.auth.jwt.audience = "herald"
                """.formatted(Tokens.SECRET))) {
            var base = Tokens.claims("iss-user", Duration.ofMinutes(5), List.of("**"), List.of()).build();
            Map<String, Integer> cases = Map.of(
                    Tokens.hs256(base), 401,
                    Tokens.hs256(new JWTClaimsSet.Builder(base).issuer("https://other.example").audience("herald").build()), 401,
                    Tokens.hs256(new JWTClaimsSet.Builder(base).issuer("https://auth.example").audience("another").build()), 401,
                    Tokens.hs256(new JWTClaimsSet.Builder(base).issuer("https://auth.example").audience("herald").build()), 101);
            for (var c : cases.entrySet()) {
                RawHttp.Response response = RawHttp.upgrade(server.herald.port(), "/ws",
                        Map.of("Authorization", "Bearer " + c.getKey()));
                assertEquals((int) c.getValue(), response.status(), response.body());
            }
        }
    }

    @Test
    void aTokenAcceptedWithinTheClockSkewIsNotClosedAtOnce() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.auth.jwt.clock-skew = 30s
                """.formatted(Tokens.SECRET))) {
            String expiredMomentsAgo = Tokens.hs256(new JWTClaimsSet.Builder(
                    Tokens.claims("skew-user", Duration.ofMinutes(1), List.of("**"), List.of()).build())
                    .expirationTime(java.util.Date.from(java.time.Instant.now().minusSeconds(5))).build());
            try (WsClient client = WsClient.connect(server.ws(), Map.of("Authorization", "Bearer " + expiredMomentsAgo))) {
                assertEquals("welcome", client.next().path("type").asText());
                client.send("{\"type\":\"ping\",\"id\":\"still\"}");
                assertEquals("still", client.next().path("id").asText(), "open within the skew, not closed with 4002");
            }
        }
    }

    @Test
    void newTopicsBeyondMaxTopicsAreRefusedAndExistingOnesGoOn() throws Exception {
        try (TestServer server = TestServer.start("herald.limits.max-topics = 3");
             WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send("{\"type\":\"subscribe\",\"topics\":[\"t:1\",\"t:2\",\"t:3\",\"t:4\"]}");
            for (int i = 1; i <= 3; i++) {
                assertEquals("snapshot", client.next().path("type").asText());
            }
            JsonNode refused = client.next();
            assertEquals("too_many_topics", refused.path("code").asText());
            assertEquals("t:4", refused.path("topic").asText());

            var response = server.post("/api/publish", "{\"topic\":\"t:5\",\"op\":\"clear\"}");
            assertEquals(503, response.statusCode());
            assertEquals("too_many_topics", Json.parse(response.body()).path("code").asText());
            assertEquals(1, server.publish("{\"topic\":\"t:1\",\"op\":\"append\",\"data\":1}"));
            assertEquals(1, client.next().path("seq").asLong());
        }
    }

    @Test
    void subscriptionsPerConnectionAreCapped() throws Exception {
        try (TestServer server = TestServer.start("herald.limits.max-subscriptions-per-connection = 2");
             WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send("{\"type\":\"subscribe\",\"topics\":[\"s:1\",\"s:2\",\"s:3\",\"s:1\"]}");
            assertEquals("snapshot", client.next().path("type").asText());
            assertEquals("snapshot", client.next().path("type").asText());
            JsonNode refused = client.next();
            assertEquals("too_many_topics", refused.path("code").asText());
            assertEquals("s:3", refused.path("topic").asText());
            assertEquals("snapshot", client.next().path("type").asText(), "resubscribing a held topic is fine");
        }
    }
}
