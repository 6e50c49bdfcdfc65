package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.JWTClaimsSet;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Presence (PROTOCOL.md 9.4) through a real Herald: who is subscribed to a room, kept by the hub in
 * the read-only topic {@code $presence:ROOM} as connections subscribe, unsubscribe, close, are cut
 * off as slow consumers or lose their TCP connection.
 */
class PresenceTest {
    private static final String KEY = "presence-test-key";
    private static TestServer server;
    private static int rooms;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.api-keys = [{ id = "backend", sha256 = "%s", publish = ["**"] }]
                herald.presence.topics = ["room:*"]
                herald.websocket.outbound-buffer { frames = 64, bytes = 256 KiB }
                herald.websocket.close-grace = 2s
                """.formatted(Tokens.SECRET, HexFormat.of().formatHex(ApiKeys.sha256(KEY))));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String room() {
        return "room:r" + (++rooms);
    }

    /** A connection of {@code user}, allowed every room, with {@code info} as its token's presence claim; its welcome read. */
    private static Member member(String user, Map<String, Object> info) throws Exception {
        JWTClaimsSet.Builder claims = Tokens.claims(user, Duration.ofMinutes(5), List.of("room:*"), List.of("room:*"));
        if (info != null) {
            claims.claim("presence", info);
        }
        WsClient client = WsClient.connect(URI.create(server.ws() + "?token=" + Tokens.hs256(claims.build())));
        JsonNode welcome = client.next();
        assertEquals("welcome", welcome.path("type").asText());
        return new Member(client, welcome.path("session").asText(), welcome);
    }

    private record Member(WsClient client, String session, JsonNode welcome) {
        JsonNode subscribe(String topic) throws Exception {
            client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"" + topic + "\"]}");
            return client.next();
        }
    }

    /** The next presence event the watcher gets, of the given op and key. */
    private static JsonNode expect(Member watcher, String op, String key) throws Exception {
        JsonNode event = watcher.client().next();
        assertEquals("event", event.path("type").asText(), event.toString());
        assertEquals(op, event.path("op").asText(), event.toString());
        assertEquals(key, event.path("key").asText(), event.toString());
        return event;
    }

    @Test
    void membersComeWithTheirSubscriptionsAndGoHoweverTheyLeave() throws Exception {
        String room = room();
        Member watcher = member("watcher", null);
        JsonNode snapshot = watcher.subscribe("$presence:" + room);
        assertEquals("snapshot", snapshot.path("type").asText(), snapshot.toString());
        assertEquals(0, snapshot.path("entries").size());
        assertTrue(watcher.welcome().path("features").toString().contains("presence"));

        Member ann = member("ann", Map.of("name", "Ann", "color", "teal"));
        assertEquals("snapshot", ann.subscribe(room).path("type").asText());
        JsonNode joined = expect(watcher, "set", ann.session());
        assertEquals("joined", joined.path("event").asText());
        assertEquals("ann", joined.path("data").path("user").asText());
        assertEquals("Ann", joined.path("data").path("info").path("name").asText());
        assertTrue(joined.path("data").path("since").asLong() > 0);
        assertEquals(snapshot.path("seq").asLong() + 1, joined.path("seq").asLong(), "numbered like any topic");

        ann.client().send("{\"type\":\"unsubscribe\",\"topics\":[\"" + room + "\"]}");
        assertEquals("left", expect(watcher, "delete", ann.session()).path("event").asText());

        Member bob = member("bob", null);
        bob.subscribe(room);
        assertTrue(expect(watcher, "set", bob.session()).path("data").path("info").isMissingNode(), "no presence claim, no info");
        bob.client().close();
        expect(watcher, "delete", bob.session());

        Member cut = member("cut", null);
        cut.subscribe(room);
        expect(watcher, "set", cut.session());
        cut.client().socket().abort();
        expect(watcher, "delete", cut.session());
        watcher.client().close();
        ann.client().close();
    }

    @Test
    void aSlowConsumerLeavesThePresenceTopicWhenItIsCutOff() throws Exception {
        String room = room();
        Member watcher = member("watcher", null);
        watcher.subscribe("$presence:" + room);
        Member slow = member("slow", null);
        slow.subscribe(room);
        expect(watcher, "set", slow.session());
        slow.client().pause();
        String pad = "x".repeat(32 * 1024);
        JsonNode left = null;
        for (int i = 0; i < 400 && left == null; i++) {
            server.publish("{\"topic\":\"" + room + "\",\"op\":\"set\",\"key\":\"k\",\"data\":\"" + pad + "\"}", KEY);
            left = watcher.client().poll(Duration.ofMillis(1));
        }
        if (left == null) {
            left = watcher.client().next();
        }
        assertEquals("delete", left.path("op").asText(), left.toString());
        assertEquals(slow.session(), left.path("key").asText());
        slow.client().socket().abort();
        watcher.client().close();
    }

    @Test
    void aPresenceViewResumesFromWhereItWas() throws Exception {
        String room = room();
        List<Member> stayers = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            stayers.add(member("stayer" + i, Map.of("note", "here all along")));
            stayers.get(i).subscribe(room);
        }
        Member ann = member("ann", null);
        ann.subscribe(room);
        Member watcher = member("watcher", null);
        JsonNode first = watcher.subscribe("$presence:" + room);
        assertEquals(6, first.path("entries").size());
        watcher.client().close();

        Member bob = member("bob", null);
        bob.subscribe(room);
        ann.client().close();

        Member back = member("watcher", null);
        back.client().send("{\"type\":\"subscribe\",\"id\":\"r\",\"topics\":[\"$presence:" + room + "\"],\"since\":{\"$presence:"
                + room + "\":{\"epoch\":\"" + first.path("epoch").asText() + "\",\"seq\":" + first.path("seq").asLong() + "}}}");
        JsonNode delta = back.client().next();
        assertEquals(first.path("seq").asLong(), delta.path("since").asLong(), "a delta snapshot: " + delta);
        assertEquals(bob.session(), delta.path("entries").get(0).path("key").asText());
        assertEquals(List.of(ann.session()), List.of(delta.path("deleted").get(0).asText()));
        assertEquals(1, delta.path("entries").size(), "only what changed: " + delta);
        back.client().close();
        bob.client().close();
        stayers.forEach(stayer -> stayer.client().close());
    }

    @Test
    void aPresenceTopicIsReadOnlyAndFollowsItsTopicsPermissions() throws Exception {
        String room = room();
        Member ann = member("ann", null);
        ann.client().send("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"$presence:" + room + "\",\"op\":\"set\",\"key\":\"x\",\"data\":1}");
        JsonNode refused = ann.client().next();
        assertEquals("forbidden", refused.path("code").asText(), refused.toString());
        assertEquals("p", refused.path("id").asText());

        HttpResponse<String> http = server.post("/api/publish",
                "{\"topic\":\"$presence:" + room + "\",\"op\":\"delete\",\"key\":\"x\"}", KEY);
        assertEquals(403, http.statusCode(), http.body());
        assertTrue(http.body().contains("\"code\":\"forbidden\""), http.body());

        ann.subscribe(room);
        HttpResponse<String> state = server.get("/api/topics/%24presence:" + room, KEY);
        assertEquals(200, state.statusCode(), state.body());
        assertEquals(ann.session(), Json.parse(state.body()).path("entries").get(0).path("key").asText(),
                "an operator reads who is there over HTTP");

        JsonNode noPresence = ann.subscribe("$presence:lobby");
        assertEquals("invalid_topic", noPresence.path("code").asText(), noPresence.toString());

        WsClient stranger = WsClient.connect(URI.create(server.ws() + "?token="
                + Tokens.hs256("stranger", Duration.ofMinutes(5), List.of("other:*"), List.of())));
        stranger.next();
        stranger.send("{\"type\":\"subscribe\",\"topics\":[\"$presence:" + room + "\"]}");
        assertEquals("forbidden", stranger.next().path("code").asText());
        stranger.close();
        ann.client().close();
    }
}
