package herald.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Publishes one change per HTTP request and measures until each is acknowledged, the figure that
 * matters for durable topics (the answer comes after the journal's write). Closed loop
 * ({@link #saturate}: a fixed number of requests in flight, as fast as the server answers) or open
 * loop ({@link #paced}: a fixed rate, latency counted from when each was due).
 */
final class Acknowledged {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI url;
    private final String apiKey;
    private final String data;
    private final Recorder latency = new Recorder(3);
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong keys = new AtomicLong();

    /** Changes per request: 1 measures a request per change; more measure what the topics take when asked in bulk. */
    private final int batch;

    Acknowledged(URI url, String apiKey, int size, int batch) {
        this.url = url;
        this.apiKey = apiKey;
        this.data = "\"" + "x".repeat(size) + "\"";
        this.batch = batch;
    }

    /** What a phase did: acknowledged changes per second and their latency, and the ones refused or failed. */
    record Result(double perSecond, long acknowledged, long failed, Histogram latencyMicros) {
    }

    /** {@code inFlight} requests at all times, spread over {@code topics} topics, for {@code seconds}. */
    Result saturate(String prefix, int topics, int inFlight, double seconds) throws Exception {
        reset();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long start = System.nanoTime();
        CompletableFuture<?>[] loops = new CompletableFuture<?>[inFlight];
        for (int i = 0; i < inFlight; i++) {
            loops[i] = loop(prefix, topics, end);
        }
        CompletableFuture.allOf(loops).join();
        return result(System.nanoTime() - start);
    }

    private CompletableFuture<Void> loop(String prefix, int topics, long end) {
        if (System.nanoTime() >= end) {
            return CompletableFuture.completedFuture(null);
        }
        return send(prefix, topics, System.nanoTime()).thenCompose(done -> loop(prefix, topics, end));
    }

    /** {@code rate} changes per second over {@code topics} topics for {@code seconds}, each timed from when it was due. */
    Result paced(String prefix, int topics, double rate, double seconds) throws Exception {
        reset();
        long start = System.nanoTime();
        long interval = (long) (1e9 * batch / rate);
        long count = (long) (rate * seconds / batch);
        CompletableFuture<?>[] sent = new CompletableFuture<?>[(int) count];
        for (long n = 0; n < count; n++) {
            long due = start + n * interval;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            sent[(int) n] = send(prefix, topics, due);
        }
        CompletableFuture.allOf(sent).join();
        return result(System.nanoTime() - start);
    }

    private CompletableFuture<Void> send(String prefix, int topics, long due) {
        String topic = prefix + ThreadLocalRandom.current().nextInt(topics);
        StringBuilder body = new StringBuilder("{\"changes\":[");
        for (int i = 0; i < batch; i++) {
            body.append(i == 0 ? "" : ",").append("{\"topic\":\"").append(topic).append("\",\"op\":\"set\",\"key\":\"k")
                    .append(keys.incrementAndGet() % 1000).append("\",\"data\":").append(data).append('}');
        }
        body.append("]}");
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding()).handle((response, error) -> {
            if (error == null && response.statusCode() == 200) {
                acknowledged.addAndGet(batch);
                latency.recordValue(Math.max(0, (System.nanoTime() - due) / 1000));
            } else {
                failed.addAndGet(batch);
            }
            return null;
        });
    }

    private void reset() {
        latency.reset();
        acknowledged.set(0);
        failed.set(0);
    }

    private Result result(long nanos) {
        return new Result(acknowledged.get() / (nanos / 1e9), acknowledged.get(), failed.get(), latency.getIntervalHistogram());
    }
}
