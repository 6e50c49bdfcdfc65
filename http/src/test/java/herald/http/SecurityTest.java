package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.JWTClaimsSet;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Authentication, permissions, API keys and the origin check, each against a real server and client. */
@ExtendWith(LogCapturingExtension.class)
class SecurityTest {
    static final String BACKEND_KEY = "backend-key-for-tests";
    static final String CHAT_KEY = "chat-only-key-for-tests";
    private static final List<String> ALL = List.of("**");
    private static TestServer server;
    private static int users;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("herald-keys");
        server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.auth.jwt.public-key-files = ["%s"]
                herald.auth.jwt.jwks-file = "%s"
                herald.auth.jwt.clock-skew = 0s
                herald.auth.jwt.auth-timeout = 1s
                herald.allowed-origins = ["https://app.example"]
                herald.api-keys = [
                  { id = "backend", sha256 = "%s", publish = ["**"] },
                  { id = "chat-only", sha256 = "%s", publish = ["chat:*"] }
                ]
                herald.rate-limit { frames-per-second = 20, burst = 40, close-after = 30 }
                """.formatted(Tokens.SECRET, Tokens.writeRsaPem(dir), Tokens.writeEcJwks(dir),
                HexFormat.of().formatHex(ApiKeys.sha256(BACKEND_KEY)), HexFormat.of().formatHex(ApiKeys.sha256(CHAT_KEY))));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** A user of its own for each test, so per-user counts never meet. */
    private static String user() {
        return "user-" + (++users);
    }

    private static String token(String user, List<String> subscribe, List<String> publish) {
        return Tokens.hs256(user, Duration.ofMinutes(5), subscribe, publish);
    }

    private static WsClient withHeader(String token) throws Exception {
        return WsClient.connect(server.ws(), Map.of("Authorization", "Bearer " + token));
    }

    private static RawHttp.Response upgradeWith(String token) throws Exception {
        return RawHttp.upgrade(server.herald.port(), "/ws", Map.of("Authorization", "Bearer " + token));
    }

    private static void assertAuthFailed(RawHttp.Response response) {
        assertEquals(401, response.status(), response.body());
        assertEquals("auth_failed", Json.parse(response.body()).path("code").asText());
        assertFalse(Json.parse(response.body()).path("message").asText().isEmpty());
    }

    @Test
    void aGoodTokenInTheHeaderIsWelcomedAsItsUser() throws Exception {
        String user = user();
        try (WsClient client = withHeader(token(user, ALL, ALL))) {
            JsonNode welcome = client.next();
            assertEquals("welcome", welcome.path("type").asText());
            assertEquals(user, welcome.path("user").asText());
        }
    }

    @Test
    void aGoodTokenInTheQueryParameterIsWelcomed() throws Exception {
        String user = user();
        try (WsClient client = WsClient.connect(URI.create(server.ws() + "?token=" + token(user, ALL, ALL)))) {
            assertEquals(user, client.next().path("user").asText());
        }
    }

    @Test
    void aTokenInTheFirstAuthFrameIsWelcomedAndOtherFramesBeforeItAreUnauthenticated() throws Exception {
        String user = user();
        try (WsClient client = WsClient.connect(server.ws())) {
            client.send("{\"type\":\"ping\",\"id\":\"early\"}");
            JsonNode error = client.next();
            assertEquals("unauthenticated", error.path("code").asText());
            assertEquals("early", error.path("id").asText());
            client.send("{\"type\":\"auth\",\"id\":\"a1\",\"token\":\"" + token(user, ALL, ALL) + "\"}");
            JsonNode welcome = client.next();
            assertEquals("welcome", welcome.path("type").asText());
            assertEquals(user, welcome.path("user").asText());
            client.send("{\"type\":\"ping\",\"id\":\"later\"}");
            assertEquals("pong", client.next().path("type").asText());
        }
    }

    @Test
    void tokensSignedWithTheConfiguredPublicKeysAreAccepted() throws Exception {
        String rsaUser = user();
        try (WsClient client = withHeader(Tokens.rs256(Tokens.claims(rsaUser, Duration.ofMinutes(1), ALL, ALL).build()))) {
            assertEquals(rsaUser, client.next().path("user").asText(), "RS256 from the PEM file");
        }
        String ecUser = user();
        try (WsClient client = withHeader(Tokens.es256(Tokens.claims(ecUser, Duration.ofMinutes(1), ALL, ALL).build()))) {
            assertEquals(ecUser, client.next().path("user").asText(), "ES256 from the JWKS file");
        }
    }

    @Test
    void badTokensAtTheUpgradeGet401WithAJsonBody() throws Exception {
        JWTClaimsSet good = Tokens.claims(user(), Duration.ofMinutes(1), ALL, ALL).build();
        assertAuthFailed(upgradeWith(Tokens.sign(JWSAlgorithm.HS256,
                Tokens.macSigner("another-secret-of-at-least-32-bytes!!".getBytes()), good)));
        assertAuthFailed(upgradeWith(Tokens.unsigned(good)));
        assertAuthFailed(upgradeWith("not.a.jwt"));
        // Algorithm confusion: an HS256 token "signed" with the server's RSA public key as the secret.
        assertAuthFailed(upgradeWith(Tokens.sign(JWSAlgorithm.HS256, Tokens.macSigner(Tokens.RSA.getPublic().getEncoded()), good)));
        assertAuthFailed(upgradeWith(Tokens.hs256(new JWTClaimsSet.Builder(good)
                .expirationTime(Date.from(Instant.now().minusSeconds(5))).build())));
        assertAuthFailed(upgradeWith(Tokens.hs256(new JWTClaimsSet.Builder(good)
                .notBeforeTime(Date.from(Instant.now().plusSeconds(60))).build())));
        assertAuthFailed(upgradeWith(Tokens.hs256(new JWTClaimsSet.Builder(good).expirationTime(null).build())));
        assertAuthFailed(upgradeWith(Tokens.hs256(new JWTClaimsSet.Builder(good).subject(null).build())));
        assertAuthFailed(RawHttp.upgrade(server.herald.port(), "/ws?token=" + Tokens.unsigned(good), Map.of()));
    }

    @Test
    void aRefusalIsLoggedToTheAuditTrailWithoutTheToken() throws Exception {
        String token = Tokens.unsigned(Tokens.claims(user(), Duration.ofMinutes(1), ALL, ALL).build());
        LoggingTestKit.warn("refused").withLoggerName("herald.audit").withCustom(event -> !event.message().contains(token))
                .expect(server.herald.system(), () -> {
                    try {
                        return upgradeWith(token);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
    }

    @Test
    void noAuthFrameWithinTheTimeoutCloses4001() throws Exception {
        WsClient client = WsClient.connect(server.ws());
        assertEquals(4001, client.awaitClose().code());
    }

    @Test
    void aFailedAuthFrameGetsAuthFailedThenClose4001() throws Exception {
        WsClient client = WsClient.connect(server.ws());
        client.send("{\"type\":\"auth\",\"id\":\"a\",\"token\":\"garbage\"}");
        JsonNode error = client.next();
        assertEquals("auth_failed", error.path("code").asText());
        assertEquals("a", error.path("id").asText());
        assertEquals(4001, client.awaitClose().code());
    }

    @Test
    void anExpiringTokenClosesWith4002AtItsExpiryWithoutTheClientSendingAnything() throws Exception {
        WsClient client = withHeader(Tokens.hs256(user(), Duration.ofMillis(1500), ALL, ALL));
        client.next();
        long start = System.nanoTime();
        assertEquals(4002, client.awaitClose().code());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() > 500, "not before the expiry");
    }

    @Test
    void aRefreshBeforeExpiryKeepsTheConnectionOpenPastTheFirstExpiry() throws Exception {
        String user = user();
        try (WsClient client = withHeader(Tokens.hs256(user, Duration.ofMillis(1500), ALL, ALL))) {
            client.next();
            client.send("{\"type\":\"auth\",\"id\":\"r1\",\"token\":\"" + token(user, ALL, ALL) + "\"}");
            JsonNode refreshed = client.next();
            assertEquals("refreshed", refreshed.path("type").asText());
            assertEquals("r1", refreshed.path("id").asText());
            assertTrue(refreshed.path("expires").asLong() > System.currentTimeMillis() + 60_000);
            long until = System.nanoTime() + Duration.ofMillis(2500).toNanos();
            while (System.nanoTime() < until) {
                assertNull(client.poll(Duration.ofMillis(250)));
                assertFalse(client.isClosed(), "still open past the first token's expiry");
            }
            client.send("{\"type\":\"ping\",\"id\":\"after\"}");
            assertEquals("after", client.next().path("id").asText());
        }
    }

    @Test
    void aRefreshForAnotherUserGetsAuthFailedAndClose4001() throws Exception {
        WsClient client = withHeader(token(user(), ALL, ALL));
        client.next();
        client.send("{\"type\":\"auth\",\"id\":\"r\",\"token\":\"" + token(user(), ALL, ALL) + "\"}");
        assertEquals("auth_failed", client.next().path("code").asText());
        assertEquals(4001, client.awaitClose().code());
    }

    @Test
    void aRefreshThatNarrowsPermissionsEndsTheSubscriptionsItNoLongerAllows() throws Exception {
        String user = user();
        try (WsClient client = withHeader(token(user, List.of("chat:*", "news:*"), List.of()))) {
            client.next();
            client.send("{\"type\":\"subscribe\",\"topics\":[\"chat:narrow\",\"news:narrow\"]}");
            client.next();
            client.next();
            client.send("{\"type\":\"auth\",\"id\":\"r\",\"token\":\"" + token(user, List.of("chat:*"), List.of()) + "\"}");
            assertEquals("refreshed", client.next().path("type").asText());
            assertEquals(Json.parse("{\"type\":\"unsubscribed\",\"topics\":[\"news:narrow\"]}"), client.next());
            JsonNode forbidden = client.next();
            assertEquals("forbidden", forbidden.path("code").asText());
            assertEquals("news:narrow", forbidden.path("topic").asText());

            publishWithKey(BACKEND_KEY, "{\"topic\":\"news:narrow\",\"op\":\"append\",\"data\":1}");
            publishWithKey(BACKEND_KEY, "{\"topic\":\"chat:narrow\",\"op\":\"append\",\"data\":2}");
            assertEquals("chat:narrow", client.next().path("topic").asText(), "news:narrow sends nothing any more");
        }
    }

    @Test
    void aForbiddenTopicIsRefusedAloneAndTheOthersInTheRequestSucceed() throws Exception {
        try (WsClient client = withHeader(token(user(), List.of("chat:*", "team.42.**"), List.of("chat:*")))) {
            client.next();
            client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"chat:1\",\"secret:1\",\"team.42.a.b\",\"team.43.a\"]}");
            assertEquals("snapshot chat:1", describe(client.next()));
            assertEquals("forbidden secret:1", describe(client.next()));
            assertEquals("snapshot team.42.a.b", describe(client.next()));
            assertEquals("forbidden team.43.a", describe(client.next()));

            client.send("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"team.42.a.b\",\"op\":\"clear\"}");
            JsonNode refused = client.next();
            assertEquals("forbidden team.42.a.b", describe(refused));
            assertEquals("p", refused.path("id").asText());
            client.send("{\"type\":\"publish\",\"id\":\"ok\",\"topic\":\"chat:1\",\"op\":\"clear\"}");
            List<JsonNode> replies = List.of(client.next(), client.next());
            assertTrue(replies.stream().anyMatch(r -> r.path("type").asText().equals("published")), replies.toString());
        }
    }

    private static String describe(JsonNode frame) {
        return (frame.path("type").asText().equals("error") ? frame.path("code").asText() : frame.path("type").asText())
                + " " + frame.path("topic").asText();
    }

    private static HttpResponse<String> publishWithKey(String key, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.http("/api/publish"))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theHttpApiNeedsAKeyAndHonoursItsPublishPatterns() throws Exception {
        HttpResponse<String> missing = publishWithKey(null, "{\"topic\":\"chat:k\",\"op\":\"clear\"}");
        assertEquals(401, missing.statusCode());
        assertEquals("auth_failed", Json.parse(missing.body()).path("code").asText());
        assertEquals(401, publishWithKey("wrong-key", "{\"topic\":\"chat:k\",\"op\":\"clear\"}").statusCode());
        assertEquals(401, server.get("/api/topics").statusCode());
        assertEquals(401, server.get("/api/topics/chat:k").statusCode());

        assertEquals(200, publishWithKey(CHAT_KEY, "{\"topic\":\"chat:k\",\"op\":\"set\",\"key\":\"a\"}").statusCode());
        HttpResponse<String> forbidden = publishWithKey(CHAT_KEY,
                "{\"changes\":[{\"topic\":\"chat:k\",\"op\":\"clear\"},{\"topic\":\"news:k\",\"op\":\"clear\"}]}");
        assertEquals(403, forbidden.statusCode());
        assertEquals("forbidden", Json.parse(forbidden.body()).path("code").asText());
        HttpResponse<String> state = HttpClient.newHttpClient().send(HttpRequest.newBuilder(server.http("/api/topics/chat:k"))
                .header("Authorization", "Bearer " + CHAT_KEY).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(1, Json.parse(state.body()).path("seq").asLong(), "the refused batch applied nothing");

        assertEquals(200, publishWithKey(BACKEND_KEY, "{\"topic\":\"news:k\",\"op\":\"clear\"}").statusCode());
        assertEquals(200, server.get("/health/ready").statusCode(), "health needs no key");
        assertEquals(200, server.get("/metrics").statusCode(), "metrics need no key");
    }

    @Test
    void anOriginNotAllowedGets403AndAnAllowedOneIsUpgraded() throws Exception {
        String token = token(user(), ALL, ALL);
        RawHttp.Response refused = RawHttp.upgrade(server.herald.port(), "/ws?token=" + token,
                Map.of("Origin", "https://evil.example"));
        assertEquals(403, refused.status());
        assertEquals("forbidden", Json.parse(refused.body()).path("code").asText());
        assertEquals(101, RawHttp.upgrade(server.herald.port(), "/ws?token=" + token,
                Map.of("Origin", "https://app.example")).status());
    }

    @Test
    void sseNeedsAValidTokenAndRefusesForbiddenTopicsOneByOne() throws Exception {
        assertEquals(401, server.get("/api/sse?topics=chat:sse").statusCode());
        assertEquals(401, server.get("/api/sse?topics=chat:sse&token=bad").statusCode());
        HttpResponse<Stream<String>> stream = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        server.http("/api/sse?topics=chat:sse,secret:sse"))
                .header("Authorization", "Bearer " + token(user(), List.of("chat:*"), List.of())).build(),
                HttpResponse.BodyHandlers.ofLines());
        try {
            assertEquals(200, stream.statusCode());
            var lines = stream.body().iterator();
            lines.next();
            lines.next();
            assertEquals("snapshot", OperationsTest.SseEvent.next(lines).type());
            OperationsTest.SseEvent error = OperationsTest.SseEvent.next(lines);
            assertEquals("error", error.type());
            assertEquals("forbidden", error.json().path("code").asText());
        } finally {
            stream.body().close();
        }
    }

    @Test
    void framesOverTheRateLimitAreRefusedThenPersistentAbuseCloses4029() throws Exception {
        WsClient client = withHeader(token(user(), ALL, ALL));
        client.next();
        int limited = 0;
        int sent = 0;
        while (!client.isClosed() && sent < 2000) {
            client.send("{\"type\":\"ping\",\"id\":\"" + sent++ + "\"}");
            JsonNode reply = client.poll(Duration.ofMillis(200));
            if (reply != null && reply.path("code").asText().equals("rate_limited")) {
                limited++;
                assertFalse(reply.path("id").asText().isEmpty(), "the refused frame's id is echoed");
            }
        }
        assertTrue(limited > 0, "some frames were refused with rate_limited");
        assertEquals(4029, client.awaitClose().code());
    }
}
