package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The operator API (PROTOCOL.md 9.5) on one node: list connections, end subscriptions, disconnect with 4003. */
class OperatorApiTest {
    private static final String ADMIN = "admin-key-for-tests";
    private static final String BACKEND = "backend-key-for-tests";
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.api-keys = [
                  { id = "ops", sha256 = "%s", admin = on },
                  { id = "backend", sha256 = "%s", publish = ["**"] }
                ]
                """.formatted(Tokens.SECRET, HexFormat.of().formatHex(ApiKeys.sha256(ADMIN)),
                HexFormat.of().formatHex(ApiKeys.sha256(BACKEND))));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static WsClient connect(String user, String... topics) throws Exception {
        WsClient client = WsClient.connect(URI.create(server.ws() + "?token="
                + Tokens.hs256(user, Duration.ofMinutes(5), List.of("**"), List.of())));
        client.next();
        if (topics.length > 0) {
            client.send("{\"type\":\"subscribe\",\"topics\":[\"" + String.join("\",\"", topics) + "\"]}");
            for (String ignored : topics) {
                client.next();
            }
        }
        return client;
    }

    private static JsonNode ok(HttpResponse<String> response) {
        assertEquals(200, response.statusCode(), response.body());
        return Json.parse(response.body());
    }

    @Test
    void listsConnectionsByUserAndTopic() throws Exception {
        WsClient a = connect("lister", "ops:x", "ops:y");
        WsClient b = connect("lister", "ops:y");
        WsClient other = connect("someone-else", "ops:x");
        JsonNode mine = ok(server.get("/api/connections?user=lister", ADMIN));
        assertEquals(2, mine.path("connections").size(), mine.toString());
        JsonNode first = mine.path("connections").get(0);
        assertEquals("lister", first.path("user").asText());
        assertEquals("127.0.0.1", first.path("remote").asText());
        assertEquals("websocket", first.path("transport").asText());
        assertTrue(first.path("since").asLong() > 0);
        assertEquals("[\"ops:x\",\"ops:y\"]", first.path("topics").toString(), "oldest first");
        assertTrue(first.path("queued").has("frames") && first.path("queued").has("bytes"));

        JsonNode onX = ok(server.get("/api/connections?topic=ops:x", ADMIN));
        List<String> users = new ArrayList<>();
        onX.path("connections").forEach(c -> users.add(c.path("user").asText()));
        assertEquals(List.of("lister", "someone-else"), users);
        assertEquals(1, ok(server.get("/api/connections?topic=ops:x&limit=1", ADMIN)).path("connections").size());
        a.close();
        b.close();
        other.close();
    }

    @Test
    void anOperatorEndsSubscriptionsAndDisconnectsAUsersConnections() throws Exception {
        WsClient a = connect("leaver", "ops:kept", "ops:ended");
        WsClient b = connect("leaver", "ops:ended");
        WsClient c = connect("leaver");
        WsClient bystander = connect("bystander", "ops:ended");
        String session = ok(server.get("/api/connections?user=leaver&topic=ops:kept", ADMIN))
                .path("connections").get(0).path("session").asText();

        JsonNode ended = ok(server.post("/api/unsubscribe", "{\"session\":\"" + session + "\",\"topics\":[\"ops:ended\"]}", ADMIN));
        assertEquals(1, ended.path("connections").asInt());
        JsonNode unasked = a.next();
        assertEquals("unsubscribed", unasked.path("type").asText());
        assertTrue(unasked.path("id").isMissingNode(), "unasked: no id");
        assertEquals("[\"ops:ended\"]", unasked.path("topics").toString());

        JsonNode disconnected = ok(server.post("/api/disconnect", "{\"user\":\"leaver\"}", ADMIN));
        assertEquals(3, disconnected.path("connections").asInt());
        for (WsClient client : List.of(a, b, c)) {
            assertEquals(4003, client.awaitClose().code());
        }
        assertEquals("pong", pong(bystander), "others stay");
        bystander.close();
    }

    private static String pong(WsClient client) throws Exception {
        client.send("{\"type\":\"ping\"}");
        return client.next().path("type").asText();
    }

    @Test
    void theOperatorApiNeedsAnAdminKeyAndAWellFormedBody() throws Exception {
        assertEquals(403, server.get("/api/connections", BACKEND).statusCode());
        assertEquals(403, server.post("/api/disconnect", "{\"user\":\"x\"}", BACKEND).statusCode());
        assertEquals(401, server.get("/api/connections").statusCode());
        for (String bad : new String[] {"{}", "{\"user\":\"a\",\"session\":\"b\"}", "{\"user\":7}", "not json", "[]"}) {
            HttpResponse<String> answer = server.post("/api/disconnect", bad, ADMIN);
            assertEquals(400, answer.statusCode(), bad + " -> " + answer.body());
        }
        assertEquals(400, server.post("/api/unsubscribe", "{\"user\":\"a\"}", ADMIN).statusCode(), "topics are required");
        assertEquals(400, server.post("/api/unsubscribe", "{\"user\":\"a\",\"topics\":[\"a b\"]}", ADMIN).statusCode());
        assertEquals(400, server.get("/api/connections?limit=0", ADMIN).statusCode());
        assertEquals(0, ok(server.post("/api/disconnect", "{\"session\":\"nobody\"}", ADMIN)).path("connections").asInt());
    }
}
