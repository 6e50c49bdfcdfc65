package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A topic writes its events into a subscriber's buffer from its own thread while the session ends
 * the subscription and answers {@code unsubscribed} from another. Many connections unsubscribe and
 * subscribe again while the topic is published as fast as the API takes it: no event of the topic
 * may arrive between its {@code unsubscribed} and the next {@code snapshot}.
 */
@ExtendWith(LogCapturingExtension.class)
class UnsubscribeRaceTest {
    private static final int CLIENTS = 16;
    private static final int ROUNDS = 150;

    @Test
    void noEventOfATopicFollowsItsUnsubscribed() throws Exception {
        ExecutorService threads = Executors.newCachedThreadPool();
        AtomicBoolean publishing = new AtomicBoolean(true);
        try (TestServer server = TestServer.start("""
                herald.rate-limit { frames-per-second = 100000, burst = 100000 }
                herald.websocket.outbound-buffer.frames = 100000
                herald.websocket.outbound-buffer.bytes = 64 MiB
                """)) {
            StringBuilder batch = new StringBuilder("{\"changes\":[");
            for (int i = 0; i < 50; i++) {
                batch.append(i == 0 ? "" : ",").append("{\"topic\":\"race\",\"op\":\"set\",\"key\":\"k").append(i).append("\",\"data\":1}");
            }
            String changes = batch.append("]}").toString();
            AtomicLong published = new AtomicLong();
            List<CompletableFuture<Void>> publishers = new ArrayList<>();
            for (int p = 0; p < 2; p++) {
                publishers.add(CompletableFuture.runAsync(() -> {
                    while (publishing.get()) {
                        try {
                            server.publish(changes);
                            published.addAndGet(50);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }, threads));
            }
            List<CompletableFuture<Integer>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                clients.add(CompletableFuture.supplyAsync(() -> {
                    try (WsClient client = WsClient.connectWelcomed(server.ws())) {
                        return churn(client);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, threads));
            }
            int eventsSeen = 0;
            for (CompletableFuture<Integer> client : clients) {
                eventsSeen += client.get(3, TimeUnit.MINUTES);
            }
            publishing.set(false);
            for (CompletableFuture<Void> publisher : publishers) {
                publisher.get(1, TimeUnit.MINUTES);
            }
            System.out.printf("unsubscribe race: %d clients x %d rounds, %d events received while %d were published%n",
                    CLIENTS, ROUNDS, eventsSeen, published.get());
            assertTrue(eventsSeen > CLIENTS * ROUNDS, "the topic was busy while the clients came and went");
        } finally {
            publishing.set(false);
            threads.shutdownNow();
        }
    }

    /** Subscribes and unsubscribes ROUNDS times, failing on an event between unsubscribed and snapshot; returns events seen. */
    private static int churn(WsClient client) throws Exception {
        int events = 0;
        for (int round = 0; round < ROUNDS; round++) {
            client.send("{\"type\":\"subscribe\",\"id\":\"s" + round + "\",\"topics\":[\"race\"]}");
            JsonNode snapshot = client.next();
            assertEquals("snapshot", snapshot.path("type").asText(),
                    "round " + round + ": after unsubscribed, nothing of the topic before its snapshot: " + snapshot);
            // Let some events through while subscribed.
            JsonNode event = client.next();
            assertEquals("event", event.path("type").asText(), event.toString());
            events++;
            client.send("{\"type\":\"unsubscribe\",\"id\":\"u" + round + "\",\"topics\":[\"race\"]}");
            while (true) {
                JsonNode frame = client.next();
                if (frame.path("type").asText().equals("unsubscribed")) {
                    break;
                }
                assertEquals("event", frame.path("type").asText(), frame.toString());
                events++;
            }
            // Until the next subscribe is answered, nothing of the topic may come.
            JsonNode quiet = client.poll(java.time.Duration.ofMillis(round % 10 == 0 ? 20 : 0));
            if (quiet != null) {
                throw new AssertionError("round " + round + ": a frame after unsubscribed: " + quiet);
            }
        }
        return events;
    }
}
