package herald.http;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client sending frames as fast as it can does not raise another client's latency far beyond what
 * it is without the flood, measured first in the same test: its frames over the rate limit are
 * refused cheaply and it is served one frame at a time like everyone else. The figures are printed
 * for the record; the bound is relative, so a slower machine moves both sides of it.
 */
@ExtendWith(LogCapturingExtension.class)
class FloodTest {
    /** How many times its quiet p99 a neighbour's ping p99 may become while another client floods. */
    static final double P99_RATIO_BOUND = 10;
    /** Below this a quiet p99 is timer noise, not a baseline to multiply. */
    static final double BASELINE_FLOOR_MS = 2;
    private static final int PINGS = 200;

    @Test
    void aFloodingClientDoesNotSlowItsNeighbour() throws Exception {
        try (TestServer server = TestServer.start("herald.rate-limit.close-after = 1000000000");
             WsClient victim = WsClient.connectWelcomed(server.ws());
             WsClient flooder = WsClient.connectWelcomed(server.ws())) {
            double[] baseline = pingTimes(victim);

            AtomicBoolean flooding = new AtomicBoolean(true);
            CompletableFuture<Integer> flood = CompletableFuture.supplyAsync(() -> {
                int sent = 0;
                while (flooding.get()) {
                    flooder.send("{\"type\":\"ping\",\"id\":\"f" + sent++ + "\"}");
                }
                return sent;
            });
            Eventually.await("the flood is refused by the rate limit", java.time.Duration.ofSeconds(10),
                    () -> flooder.nextMatching(r -> r.path("code").asText().equals("rate_limited")) != null);
            double[] during = pingTimes(victim);
            flooding.set(false);
            int sent = flood.get(30, TimeUnit.SECONDS);

            String figures = String.format("flood: neighbour ping p50 %.2f ms, p99 %.2f ms, max %.2f ms before;"
                            + " p50 %.2f ms, p99 %.2f ms, max %.2f ms while another client sent %d frames",
                    percentile(baseline, 50), percentile(baseline, 99), percentile(baseline, 100),
                    percentile(during, 50), percentile(during, 99), percentile(during, 100), sent);
            System.out.println(figures);
            double bound = P99_RATIO_BOUND * Math.max(percentile(baseline, 99), BASELINE_FLOOR_MS);
            assertTrue(percentile(during, 99) < bound, figures + "; bound " + bound + " ms");
            assertTrue(!victim.isClosed(), "the neighbour is never closed");
        }
    }

    private static double[] pingTimes(WsClient client) throws Exception {
        double[] millis = new double[PINGS];
        for (int i = 0; i < PINGS; i++) {
            String id = "v" + i;
            long start = System.nanoTime();
            client.send("{\"type\":\"ping\",\"id\":\"" + id + "\"}");
            client.nextMatching(r -> r.path("id").asText().equals(id));
            millis[i] = (System.nanoTime() - start) / 1e6;
        }
        return millis;
    }

    private static double percentile(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
