package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Malformed frames and bodies get their documented error and lose nothing; abuse gets its close code. */
@ExtendWith(LogCapturingExtension.class)
class BadInputTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.websocket.max-frame = 1 KiB
                herald.api.max-body = 4 KiB
                herald.rate-limit.burst = 10000
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** Each malformed-input class of PROTOCOL.md section 4: the frame, the code, and the id echoed (or null). */
    static Stream<Arguments> malformedFrames() {
        String hundredAndOne = "[" + String.join(",", java.util.Collections.nCopies(101, "\"t\"")) + "]";
        return Stream.of(
                Arguments.of("not json at all", "bad_request", null),
                Arguments.of("{\"type\":\"ping\"", "bad_request", null),
                Arguments.of("[\"type\",\"ping\"]", "bad_request", null),
                Arguments.of("\"ping\"", "bad_request", null),
                Arguments.of("{\"type\":\"ping\"} {}", "bad_request", null),
                Arguments.of("{\"id\":\"a\"}", "bad_request", "a"),
                Arguments.of("{\"type\":null,\"id\":\"a\"}", "bad_request", "a"),
                Arguments.of("{\"type\":42,\"id\":\"a\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"ping\",\"id\":7}", "bad_request", null),
                Arguments.of("{\"type\":\"ping\",\"id\":\"" + "x".repeat(65) + "\"}", "bad_request", null),
                Arguments.of("{\"type\":\"dance\",\"id\":\"a\"}", "unknown_type", "a"),
                Arguments.of("{\"type\":\"subscribe\",\"id\":\"a\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"subscribe\",\"id\":\"a\",\"topics\":[]}", "bad_request", "a"),
                Arguments.of("{\"type\":\"subscribe\",\"id\":\"a\",\"topics\":\"t\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"subscribe\",\"id\":\"a\",\"topics\":[\"t\",3]}", "bad_request", "a"),
                Arguments.of("{\"type\":\"subscribe\",\"id\":\"a\",\"topics\":" + hundredAndOne + "}", "too_many_topics", "a"),
                Arguments.of("{\"type\":\"unsubscribe\",\"id\":\"a\",\"topics\":[]}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"op\":\"set\",\"key\":\"k\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":5,\"op\":\"set\",\"key\":\"k\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":\"upsert\",\"key\":\"k\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":1,\"key\":\"k\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"key\":\"k\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":\"set\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":\"delete\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":\"set\",\"key\":9}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":\"append\",\"key\":\"k\"}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"t\",\"op\":\"set\",\"key\":\"k\",\"event\":[]}", "bad_request", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"bad topic\",\"op\":\"clear\"}", "invalid_topic", "a"),
                Arguments.of("{\"type\":\"publish\",\"id\":\"a\",\"topic\":\"" + "t".repeat(201) + "\",\"op\":\"clear\"}", "invalid_topic", "a"),
                Arguments.of("{\"type\":\"auth\",\"id\":\"a\"}", "bad_request", "a"),
                Arguments.of("{\"a\":" + "[".repeat(300) + "]".repeat(300) + ",\"type\":\"ping\"}", "bad_request", null));
    }

    @ParameterizedTest
    @MethodSource("malformedFrames")
    void malformedFrameGetsItsErrorAndTheConnectionStillAnswers(String frame, String code, String id) throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(frame);
            JsonNode error = client.next();
            assertEquals("error", error.path("type").asText(), error.toString());
            assertEquals(code, error.path("code").asText(), error.toString());
            assertFalse(error.path("message").asText().isEmpty());
            if (id == null) {
                assertFalse(error.has("id"), error.toString());
            } else {
                assertEquals(id, error.path("id").asText());
            }
            client.send("{\"type\":\"ping\",\"id\":\"still-here\"}");
            assertEquals("still-here", client.next().path("id").asText());
        }
    }

    @Test
    void unknownFieldsAndNullOptionalsAreAccepted() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"lenient:1\",\"op\":\"set\",\"key\":\"k\","
                    + "\"event\":null,\"data\":{\"nested\":[1,{\"a\":null}]},\"future\":{\"x\":1}}");
            JsonNode published = client.next();
            assertEquals("published", published.path("type").asText(), published.toString());
            JsonNode entries = Json.parse(server.get("/api/topics/lenient:1").body()).path("entries");
            assertEquals(Json.parse("[{\"key\":\"k\",\"seq\":1,\"data\":{\"nested\":[1,{\"a\":null}]}}]"), entries);
        }
    }

    @Test
    void aBinaryFrameClosesWith1003() throws Exception {
        WsClient client = WsClient.connectWelcomed(server.ws());
        client.socket().sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).join();
        assertEquals(1003, client.awaitClose().code());
    }

    @Test
    void aMessageOverMaxFrameClosesWith1009() throws Exception {
        WsClient client = WsClient.connectWelcomed(server.ws());
        client.send("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(2000) + "\"}");
        assertEquals(1009, client.awaitClose().code());
    }

    @Test
    void aFragmentedMessageOverMaxFrameClosesWith1009WithoutWaitingForItsEnd() throws Exception {
        WsClient client = WsClient.connectWelcomed(server.ws());
        try {
            for (int i = 0; i < 3; i++) {
                client.socket().sendText("x".repeat(600), false).join();
            }
        } catch (java.util.concurrent.CompletionException closedMidway) {
            // The server may close after the second fragment, before the third is written.
        }
        assertEquals(1009, client.awaitClose().code());
    }

    @Test
    void aMessageJustUnderMaxFrameIsFine() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            String frame = "{\"type\":\"ping\",\"id\":\"edge\",\"pad\":\"";
            frame += "x".repeat(1024 - frame.length() - 2) + "\"}";
            assertEquals(1024, frame.length());
            client.socket().sendText(frame.substring(0, 500), false).join();
            client.socket().sendText(frame.substring(500), true).join();
            assertEquals("edge", client.next().path("id").asText());
        }
    }

    @Test
    void aFloodOfBadFramesIsAnsweredOneByOneAndLosesNothing() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            for (int i = 0; i < 500; i++) {
                client.send(i % 2 == 0 ? "{broken" : "{\"type\":\"ping\",\"id\":\"" + i + "\"}");
            }
            for (int i = 0; i < 500; i++) {
                JsonNode frame = client.next();
                if (i % 2 == 0) {
                    assertEquals("bad_request", frame.path("code").asText());
                } else {
                    assertEquals(String.valueOf(i), frame.path("id").asText(), "replies keep the frames' order");
                }
            }
        }
    }

    @Test
    void malformedHttpBodiesGet400WithCodeAndMessage() throws Exception {
        for (String body : new String[] {"", "nope", "[]", "{\"topic\":\"t\"}", "{\"topic\":\"t\",\"op\":\"set\"}",
                "{\"changes\":[]}", "{\"changes\":{}}", "{\"changes\":[1]}", "{\"topic\":\"no space\",\"op\":\"clear\"}"}) {
            HttpResponse<String> response = server.post("/api/publish", body);
            assertEquals(400, response.statusCode(), body);
            JsonNode error = Json.parse(response.body());
            assertTrue(error.path("code").asText().equals("bad_request") || error.path("code").asText().equals("invalid_topic"),
                    response.body());
            assertFalse(error.path("message").asText().isEmpty());
        }
    }

    @Test
    void invalidUtf8InAnHttpBodyIs400() throws Exception {
        byte[] body = "{\"topic\":\"t\",\"op\":\"set\",\"key\":\"k\",\"data\":\"\u00e9\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] broken = java.util.Arrays.copyOf(body, body.length);
        broken[broken.length - 4] = (byte) 0xC3;
        broken[broken.length - 3] = (byte) 0x28;
        HttpResponse<String> response = server.post("/api/publish", broken);
        assertEquals(400, response.statusCode());
        assertEquals("bad_request", Json.parse(response.body()).path("code").asText());
    }

    @Test
    void anHttpBodyOverMaxBodyIs413() throws Exception {
        HttpResponse<String> response = server.post("/api/publish",
                "{\"topic\":\"big:1\",\"op\":\"append\",\"data\":\"" + "x".repeat(5000) + "\"}");
        assertEquals(413, response.statusCode());
        assertEquals("payload_too_large", Json.parse(response.body()).path("code").asText());
    }

    /** Whatever size a body announces, above Pekko's own parsing limit too, and sent or not: 413 at once. */
    @ParameterizedTest(name = "Content-Length {0}")
    @org.junit.jupiter.params.provider.ValueSource(longs = {5_000, 60L << 20, 70L << 20, 1L << 40})
    void anAnnouncedBodyOverMaxBodyIs413WhateverItsSize(long length) throws Exception {
        try (java.net.Socket socket = RawHttp.open(server.herald.port())) {
            RawHttp.send(socket, "POST /api/publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + length + "\r\n\r\n{\"topic\":");
            RawHttp.Response response = RawHttp.read(socket);
            assertEquals(413, response.status(), response.body());
            assertEquals("payload_too_large", Json.parse(response.body()).path("code").asText(), response.body());
        }
    }

    @Test
    void aChunkedBodyThatGrowsOverMaxBodyIs413() throws Exception {
        try (java.net.Socket socket = RawHttp.open(server.herald.port())) {
            StringBuilder request = new StringBuilder("POST /api/publish HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 10; i++) {
                request.append("400\r\n").append("x".repeat(1024)).append("\r\n");
            }
            RawHttp.send(socket, request.toString());
            RawHttp.Response response = RawHttp.read(socket);
            assertEquals(413, response.status(), response.body());
            assertEquals("payload_too_large", Json.parse(response.body()).path("code").asText());
        }
    }

    @Test
    void anInvalidTopicNameOverHttpIs400() throws Exception {
        HttpResponse<String> response = server.get("/api/topics/bad%20name");
        assertEquals(400, response.statusCode());
        assertEquals("invalid_topic", Json.parse(response.body()).path("code").asText());
    }

    @Test
    void aPlainHttpRequestToTheWebSocketPathIs400() throws Exception {
        HttpResponse<String> response = server.get("/ws");
        assertEquals(400, response.statusCode());
        assertEquals("bad_request", Json.parse(response.body()).path("code").asText());
    }

    @Test
    void theServerIsStillHealthyAfterAllOfIt() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"healthy:1\"]}");
            client.next();
            server.publish("{\"topic\":\"healthy:1\",\"op\":\"append\",\"data\":1}");
            assertEquals(1, client.next().path("seq").asLong());
            assertTrue(client.poll(Duration.ofMillis(20)) == null);
        }
    }
}
