package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Batched delivery (PROTOCOL.md 9.1) over a real socket: a client that offers herald.v1.batch gets
 * it, and every message is a JSON array of frames in order, at most batch.max-bytes; one that offers
 * herald.v1, or nothing, gets one frame per message.
 */
@ExtendWith(LogCapturingExtension.class)
class BatchedDeliveryTest {

    private static String changes(String topic, int count, int dataBytes) {
        StringBuilder body = new StringBuilder("{\"changes\":[");
        for (int i = 0; i < count; i++) {
            body.append(i == 0 ? "" : ",").append("{\"topic\":\"").append(topic).append("\",\"op\":\"append\",\"data\":\"")
                    .append("x".repeat(dataBytes)).append("\"}");
        }
        return body.append("]}").toString();
    }

    /** Reads messages until `events` events of the topic came, checking each is an array; returns the messages. */
    private static List<JsonNode> readBatches(WsClient client, int events) throws Exception {
        List<JsonNode> messages = new ArrayList<>();
        long expectedSeq = 1;
        while (expectedSeq <= events) {
            JsonNode message = client.next();
            assertTrue(message.isArray(), "every message is an array: " + message);
            messages.add(message);
            for (JsonNode frame : message) {
                assertEquals("event", frame.path("type").asText(), frame.toString());
                assertEquals(expectedSeq++, frame.path("seq").asLong(), "frames keep their order across batches");
            }
        }
        return messages;
    }

    @Test
    void aClientThatAsksForBatchesGetsArraysOfFramesInOrder() throws Exception {
        try (TestServer server = TestServer.start("herald.websocket.batch.linger = 200ms");
             WsClient client = WsClient.connect(server.ws(), Map.of(), List.of(WebSocketFrames.BATCH, WebSocketFrames.PLAIN))) {
            assertEquals(WebSocketFrames.BATCH, client.socket().getSubprotocol());
            JsonNode first = client.next();
            assertTrue(first.isArray() && first.size() == 1, first.toString());
            assertEquals("welcome", first.get(0).path("type").asText());
            assertTrue(first.get(0).path("features").toString().contains("\"batch\""), first.toString());

            client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"batched\"]}");
            assertEquals("snapshot", client.next().get(0).path("type").asText());
            server.publish(changes("batched", 300, 10));
            List<JsonNode> messages = readBatches(client, 300);
            int largest = messages.stream().mapToInt(JsonNode::size).max().orElse(0);
            assertTrue(largest > 1, "frames queued together travel together: " + messages.size() + " messages");
            assertTrue(messages.size() < 300);
        }
    }

    @Test
    void aBatchHoldsAtMostMaxBytesAndALargerFrameGoesAlone() throws Exception {
        int maxBytes = 2048;
        try (TestServer server = TestServer.start("herald.websocket.batch { max-bytes = 2 KiB, linger = 100ms }");
             WsClient client = WsClient.connect(server.ws(), Map.of(), List.of(WebSocketFrames.BATCH))) {
            client.next();
            client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"sized\"]}");
            client.next();
            server.publish(changes("sized", 100, 100));
            for (JsonNode message : readBatches(client, 100)) {
                assertTrue(message.toString().length() <= maxBytes || message.size() == 1, message.size() + " frames in one message");
            }
            server.publish(changes("sized", 1, 4000));
            JsonNode alone = client.next();
            assertEquals(1, alone.size(), "a frame above max-bytes goes alone");
        }
    }

    @Test
    void aClientThatOffersThePlainProtocolOrNoneGetsOneFramePerMessage() throws Exception {
        try (TestServer server = TestServer.start();
             WsClient plain = WsClient.connect(server.ws(), Map.of(), List.of(WebSocketFrames.PLAIN));
             WsClient none = WsClient.connect(server.ws(), Map.of())) {
            assertEquals(WebSocketFrames.PLAIN, plain.socket().getSubprotocol());
            assertEquals("", none.socket().getSubprotocol());
            for (WsClient client : List.of(plain, none)) {
                assertEquals("welcome", client.next().path("type").asText());
                client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"single\"]}");
                assertTrue(client.next().isObject());
            }
            server.publish(changes("single", 5, 1));
            for (WsClient client : List.of(plain, none)) {
                for (int seq = 1; seq <= 5; seq++) {
                    JsonNode event = client.next();
                    assertTrue(event.isObject(), event.toString());
                    assertEquals(seq, event.path("seq").asLong());
                }
            }
        }
    }
}
