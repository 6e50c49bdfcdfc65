package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Many subscribers of one topic all get every change, in order, with no gap. */
@ExtendWith(LogCapturingExtension.class)
class FanOutTest {

    @Test
    void hundredClientsEachGetAThousandChangesInOrder() throws Exception {
        int clients = 100;
        int changes = 1000;
        try (TestServer server = TestServer.start()) {
            List<WsClient> subscribers = new ArrayList<>();
            try {
                for (int i = 0; i < clients; i++) {
                    WsClient client = WsClient.connectWelcomed(server.ws());
                    client.send("{\"type\":\"subscribe\",\"topics\":[\"fan:1\"]}");
                    subscribers.add(client);
                }
                for (WsClient client : subscribers) {
                    assertEquals(0, client.next().path("seq").asLong(), "snapshot first");
                }
                for (int batch = 0; batch < changes / 100; batch++) {
                    server.post("/api/publish", WebSocketProtocolTest.appendBatch("fan:1", 100));
                }
                for (int c = 0; c < clients; c++) {
                    WsClient client = subscribers.get(c);
                    for (long seq = 1; seq <= changes; seq++) {
                        JsonNode event = client.next();
                        assertEquals(seq, event.path("seq").asLong(), "client " + c + " gap or reorder at " + seq);
                        assertEquals(String.valueOf(seq), event.path("key").asText());
                    }
                }
            } finally {
                subscribers.forEach(WsClient::close);
            }
        }
    }
}
