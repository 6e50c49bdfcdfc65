package herald.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Publishes bench messages over Herald's HTTP API at a set rate, open loop: each message carries
 * the time it was scheduled for, so a server that falls behind shows it as latency (no coordinated
 * omission). Messages due in the same millisecond go in one batch request. Keys cycle through a
 * small set, so the topic's state stays small and no eviction adds events.
 */
final class Publisher {
    private static final int KEYS = 64;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI url;
    private final String apiKey;
    private final String padding;
    /** Messages sent (counted when sent, so a step knows what it published without waiting for answers). */
    final AtomicLong published = new AtomicLong();
    /** Messages whose request was not answered 200. */
    final AtomicLong failed = new AtomicLong();
    private long next;

    Publisher(URI url, String apiKey, int size) {
        this.url = url;
        this.apiKey = apiKey;
        this.padding = "x".repeat(size);
    }

    /** Publishes to {@code topic} at {@code rate} per second for {@code seconds}, tagging messages with {@code step}. */
    void run(String topic, double rate, double seconds, int step) {
        long start = System.nanoTime();
        long interval = (long) (1e9 / rate);
        long end = start + (long) (seconds * 1e9);
        long due = start;
        CompletableFuture<?> last = CompletableFuture.completedFuture(null);
        while (due < end) {
            long now = System.nanoTime();
            if (now < due) {
                LockSupport.parkNanos(Math.min(due - now, 1_000_000));
                continue;
            }
            StringBuilder batch = new StringBuilder("{\"changes\":[");
            int count = 0;
            while (due <= now && due < end && count < 1000) {
                long n = next++;
                batch.append(count++ == 0 ? "" : ",")
                        .append("{\"topic\":\"").append(topic).append("\",\"op\":\"set\",\"key\":\"k").append(n % KEYS)
                        .append("\",\"data\":{\"t\":").append(due).append(",\"s\":").append(step)
                        .append(",\"p\":\"").append(padding).append("\"}}");
                due += interval;
            }
            int sent = count;
            published.addAndGet(sent);
            last = post(batch.append("]}").toString()).thenAccept(ok -> {
                if (!ok) {
                    failed.addAndGet(sent);
                }
            });
        }
        last.join();
    }

    /** Sets the entries k{from} to k{to - 1} of a topic in one batch (at most 1000), each with this data string. */
    void batch(String topic, int from, int to, String data) {
        StringBuilder body = new StringBuilder("{\"changes\":[");
        for (int i = from; i < to; i++) {
            body.append(i == from ? "" : ",").append("{\"topic\":\"").append(topic).append("\",\"op\":\"set\",\"key\":\"k")
                    .append(i).append("\",\"data\":\"").append(data).append("\"}");
        }
        if (!post(body.append("]}").toString()).join()) {
            throw new IllegalStateException("Herald refused a batch for " + topic);
        }
    }

    /** Publishes one message to each topic, for giving topics some state or probing delivery. */
    void once(String topic) {
        post("{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"probe\",\"data\":{\"t\":" + System.nanoTime()
                + ",\"s\":-1,\"p\":\"\"}}").join();
    }

    private CompletableFuture<Boolean> post(String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding())
                .thenApply(response -> response.statusCode() == 200)
                .exceptionally(error -> false);
    }
}
