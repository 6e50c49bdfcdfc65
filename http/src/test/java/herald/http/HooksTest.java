package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The hooks (PROTOCOL.md 9.5) against a real backend in the test JVM: it allows, refuses, replaces
 * data, answers late, answers nonsense or fails, and Herald never takes anything but an explicit
 * allow for one. A slow backend holds up only the connection whose call waits.
 */
@ExtendWith(LogCapturingExtension.class)
class HooksTest {
    private static final String ALLOW_ALL = "{\"allow\":true,\"user\":\"u1\",\"subscribe\":[\"**\"],\"publish\":[\"**\"],"
            + "\"info\":{\"name\":\"Una\"}}";
    private static Backend backend;
    /** Authentication off: every connection is decided by the connect hook at its upgrade. */
    private static TestServer server;
    /** JWT mode with a connect hook: a client that opened without a token sends it in an auth frame. */
    private static TestServer jwt;

    @BeforeAll
    static void start() throws Exception {
        backend = new Backend();
        server = TestServer.start("""
                herald.presence.topics = ["guarded:*"]
                herald.hooks.connect { url = "%s", deadline = 1s, forward-headers = ["Cookie"] }
                herald.hooks.subscribe { url = "%s", deadline = 1s, topics = ["guarded:*"] }
                herald.hooks.publish { url = "%s", deadline = 1s, topics = ["guarded:*"], max-in-flight = 1 }
                """.formatted(backend.url("/connect"), backend.url("/subscribe"), backend.url("/publish")));
        jwt = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.hooks.connect { url = "%s", deadline = 1s }
                """.formatted(Tokens.SECRET, backend.url("/connect-jwt")));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        jwt.close();
        backend.close();
    }

    @BeforeEach
    void allowEveryone() {
        backend.answer("/connect", 200, ALLOW_ALL);
        backend.answer("/connect-jwt", 200, ALLOW_ALL);
        backend.answer("/subscribe", 200, "{\"allow\":true}");
        backend.answer("/publish", 200, "{\"allow\":true}");
        backend.received.clear();
    }

    /** An answer that comes only after the hook's deadline (1 s). */
    private static CompletionStage<HttpResponse> late(String json) {
        return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(3, TimeUnit.SECONDS))
                .thenCompose(nothing -> Backend.json(200, json));
    }

    /** A bare upgrade to the hooked server, for a status and a body. */
    private static RawHttp.Response upgrade() {
        try {
            return RawHttp.upgrade(server.herald.port(), "/ws", Map.of());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static WsClient connect() throws Exception {
        WsClient client = server.connect();
        assertEquals("welcome", client.next().path("type").asText());
        return client;
    }

    private static JsonNode send(WsClient client, String frame) throws Exception {
        client.send(frame);
        return client.next();
    }

    // --- connect ---

    @Test
    void theConnectHookSaysWhoTheConnectionIs() throws Exception {
        WsClient client = WsClient.connect(URI.create(server.ws() + "?token=opaque-session-token"), Map.of("Cookie", "sid=42"));
        JsonNode welcome = client.next();
        assertEquals("u1", welcome.path("user").asText());
        JsonNode asked = Json.parse(backend.next("/connect").body());
        assertEquals("connect", asked.path("hook").asText());
        assertEquals("websocket", asked.path("transport").asText());
        assertEquals("opaque-session-token", asked.path("token").asText());
        assertEquals("sid=42", asked.path("headers").path("Cookie").asText());
        assertEquals("127.0.0.1", asked.path("remote").asText());

        JsonNode snapshot = send(client, "{\"type\":\"subscribe\",\"topics\":[\"guarded:info\",\"$presence:guarded:info\"]}");
        assertEquals("snapshot", snapshot.path("type").asText());
        JsonNode presence = client.next();
        JsonNode me = presence.path("entries").size() == 1 ? presence.path("entries").get(0).path("data") : client.next().path("data");
        assertEquals("Una", me.path("info").path("name").asText(), "the hook's info is the member's");
        client.close();
    }

    @Test
    void aRefusalAtTheDoorIs401Or403AsTheBackendSays() throws Exception {
        backend.answer("/connect", 200, "{\"allow\":false,\"status\":403,\"message\":\"banned\"}");
        RawHttp.Response forbidden = RawHttp.upgrade(server.herald.port(), "/ws", Map.of());
        assertEquals(403, forbidden.status());
        assertTrue(forbidden.body().contains("banned"), forbidden.body());
        backend.answer("/connect", 200, "{\"allow\":false}");
        assertEquals(401, RawHttp.upgrade(server.herald.port(), "/ws", Map.of()).status());
    }

    @Test
    void aConnectHookThatDoesNotDecideIs503() throws Exception {
        backend.answer("/connect", any -> late(ALLOW_ALL));
        RawHttp.Response late = RawHttp.upgrade(server.herald.port(), "/ws", Map.of());
        assertEquals(503, late.status());
        assertTrue(late.body().contains("\"code\":\"unavailable\"") && late.body().contains("did not answer within"), late.body());

        for (String nonsense : new String[] {"not json", "[1,2]", "{\"allow\":\"yes\"}", "{\"allow\":true}",
                "{\"allow\":true,\"user\":\"u\",\"subscribe\":\"**\"}", "{\"allow\":true,\"user\":\"u\",\"expires\":\"soon\"}"}) {
            backend.answer("/connect", 200, nonsense);
            RawHttp.Response malformed = RawHttp.upgrade(server.herald.port(), "/ws", Map.of());
            assertEquals(503, malformed.status(), nonsense);
            assertTrue(malformed.body().contains("not the documented JSON"), malformed.body());
        }
        backend.answer("/connect", 500, "{\"allow\":true,\"user\":\"u\"}");
        RawHttp.Response failed = LoggingTestKit.warn("hook failed hook [connect] reason [the connect hook answered HTTP 500]")
                .expect(server.herald.system(), HooksTest::upgrade);
        assertEquals(503, failed.status());
        assertTrue(failed.body().contains("HTTP 500"), failed.body());

        backend.answer("/connect", 200, "{\"allow\":true,\"user\":\"" + "u".repeat(100_000) + "\"}");
        RawHttp.Response huge = RawHttp.upgrade(server.herald.port(), "/ws", Map.of());
        assertEquals(503, huge.status(), "an answer is read up to 64 KiB, no further");
        assertTrue(huge.body().contains("more than 65536 bytes"), huge.body());
        String metrics = server.get("/metrics").body();
        assertTrue(metrics.contains("herald_hook_calls_total{hook=\"connect\",outcome=\"unavailable\"}"), "counted for the operator");
    }

    @Test
    void aConnectHookThatIsDownRefusesAtTheDoorAndClosesAnAuthFrameWith1011() throws Exception {
        int closedPort;
        try (ServerSocket free = new ServerSocket(0)) {
            closedPort = free.getLocalPort();
        }
        try (TestServer down = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.hooks.connect { url = "http://127.0.0.1:%d/connect", deadline = 1s }
                """.formatted(Tokens.SECRET, closedPort))) {
            RawHttp.Response refused = RawHttp.upgrade(down.herald.port(), "/ws?token=t", Map.of());
            assertEquals(503, refused.status());
            assertTrue(refused.body().contains("cannot be reached"), refused.body());

            WsClient client = down.connect();
            client.send("{\"type\":\"auth\",\"id\":\"a\",\"token\":\"t\"}");
            JsonNode error = client.next();
            assertEquals("unavailable", error.path("code").asText(), error.toString());
            assertEquals("a", error.path("id").asText());
            assertEquals(1011, client.awaitClose().code());
        }
    }

    @Test
    void anAuthFrameIsShownToTheConnectHook() throws Exception {
        WsClient client = jwt.connect();
        assertNull(client.poll(Duration.ofMillis(100)), "no welcome before the auth frame");
        client.send("{\"type\":\"auth\",\"id\":\"a\",\"token\":\"from-the-frame\"}");
        JsonNode welcome = client.next();
        assertEquals("welcome", welcome.path("type").asText());
        assertEquals("u1", welcome.path("user").asText());
        assertEquals("from-the-frame", Json.parse(backend.next("/connect-jwt").body()).path("token").asText());

        backend.answer("/connect-jwt", 200, "{\"allow\":true,\"user\":\"u1\",\"subscribe\":[],\"expires\":" + (System.currentTimeMillis() + 600_000) + "}");
        JsonNode refreshed = send(client, "{\"type\":\"auth\",\"id\":\"r\",\"token\":\"newer\"}");
        assertEquals("refreshed", refreshed.path("type").asText(), refreshed.toString());

        backend.answer("/connect-jwt", 200, "{\"allow\":false,\"message\":\"token revoked\"}");
        JsonNode failed = send(client, "{\"type\":\"auth\",\"id\":\"x\",\"token\":\"revoked\"}");
        assertEquals("auth_failed", failed.path("code").asText());
        assertEquals(4001, client.awaitClose().code());
    }

    // --- subscribe ---

    @Test
    void theSubscribeHookAllowsRefusesOrCannotDecide() throws Exception {
        WsClient client = connect();
        assertEquals("snapshot", send(client, "{\"type\":\"subscribe\",\"topics\":[\"guarded:a\"]}").path("type").asText());
        JsonNode asked = Json.parse(backend.next("/subscribe").body());
        assertEquals("guarded:a", asked.path("topic").asText());
        assertEquals("u1", asked.path("user").asText());

        backend.answer("/subscribe", 200, "{\"allow\":false,\"message\":\"not your room\"}");
        JsonNode refused = send(client, "{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"guarded:b\"]}");
        assertEquals("forbidden", refused.path("code").asText());
        assertEquals("not your room", refused.path("message").asText());
        assertEquals("s", refused.path("id").asText());

        backend.answer("/subscribe", 200, "{\"permit\":true}");
        assertEquals("unavailable", send(client, "{\"type\":\"subscribe\",\"topics\":[\"guarded:c\"]}").path("code").asText());
        backend.answer("/subscribe", any -> late("{\"allow\":true}"));
        assertEquals("unavailable", send(client, "{\"type\":\"subscribe\",\"topics\":[\"guarded:d\"]}").path("code").asText());

        // One call after the other, on the client's pool: the same connection serves them all.
        backend.answer("/subscribe", 200, "{\"allow\":true}");
        backend.received.clear();
        java.util.Set<Integer> ports = new java.util.HashSet<>();
        for (int i = 0; i < 5; i++) {
            assertEquals("snapshot", send(client, "{\"type\":\"subscribe\",\"topics\":[\"guarded:pooled\"]}").path("type").asText());
            ports.add(backend.next("/subscribe").remotePort());
        }
        assertEquals(1, ports.size(), "no connection per call: " + ports);

        backend.received.clear();
        assertEquals("snapshot", send(client, "{\"type\":\"subscribe\",\"topics\":[\"open:e\"]}").path("type").asText(),
                "a topic the hook is not configured for needs no call");
        assertTrue(backend.received.stream().noneMatch(r -> r.path().equals("/subscribe")));
        client.close();
    }

    // --- publish ---

    @Test
    void thePublishHookMayReplaceTheData() throws Exception {
        WsClient client = connect();
        send(client, "{\"type\":\"subscribe\",\"topics\":[\"guarded:chat\"]}");
        backend.answer("/publish", 200, "{\"allow\":true,\"data\":{\"text\":\"[censored]\"}}");
        client.send("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"guarded:chat\",\"op\":\"set\",\"key\":\"m\",\"data\":{\"text\":\"rude\"}}");
        JsonNode event = client.nextMatching(f -> f.path("type").asText().equals("event"));
        assertEquals("[censored]", event.path("data").path("text").asText());
        JsonNode asked = Json.parse(backend.next("/publish").body());
        assertEquals("rude", asked.path("data").path("text").asText());
        assertEquals("set", asked.path("op").asText());

        backend.answer("/publish", 200, "{\"allow\":false,\"message\":\"muted\"}");
        client.send("{\"type\":\"publish\",\"id\":\"q\",\"topic\":\"guarded:chat\",\"op\":\"delete\",\"key\":\"m\"}");
        JsonNode refused = client.nextMatching(f -> f.path("id").asText().equals("q"));
        assertEquals("forbidden", refused.path("code").asText());
        assertEquals("muted", refused.path("message").asText());
        client.close();
    }

    /**
     * While one connection's publish waits for a backend that has not answered, its next frames
     * wait with it, others are served, and the bound on calls under way (1 here) refuses a second
     * call at once instead of queueing it.
     */
    @Test
    void aSlowPublishHookHoldsUpOnlyItsOwnConnection() throws Exception {
        CompletableFuture<HttpResponse> release = new CompletableFuture<>();
        backend.answer("/publish", any -> release);
        WsClient waiting = connect();
        WsClient other = connect();
        waiting.send("{\"type\":\"publish\",\"id\":\"slow\",\"topic\":\"guarded:q\",\"op\":\"append\",\"data\":1}");
        waiting.send("{\"type\":\"ping\",\"id\":\"after\"}");
        backend.next("/publish");

        assertEquals("pong", send(other, "{\"type\":\"ping\"}").path("type").asText());
        JsonNode bounded = send(other, "{\"type\":\"publish\",\"id\":\"second\",\"topic\":\"guarded:q\",\"op\":\"append\",\"data\":2}");
        assertEquals("unavailable", bounded.path("code").asText(), bounded.toString());
        assertTrue(bounded.path("message").asText().contains("under way"), bounded.toString());

        JsonNode timedOut = waiting.next();
        assertEquals("slow", timedOut.path("id").asText());
        assertEquals("unavailable", timedOut.path("code").asText(), "the deadline passed: " + timedOut);
        assertEquals("after", waiting.next().path("id").asText(), "the ping waited for the publish before it");
        release.complete(HttpResponse.create().withStatus(200));
        waiting.close();
        other.close();
    }
}
