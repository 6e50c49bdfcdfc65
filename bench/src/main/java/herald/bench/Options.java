package herald.bench;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;

/** Command-line flags, {@code --name value}; every one has a default suited to its scenario. */
final class Options {
    static final String USAGE = """
            usage: java -jar herald-bench.jar SCENARIO --url ws://127.0.0.1:PORT/ws [flags]
              SCENARIO: fanout | latency | idle | slow | storm | memory
              --url URL            Herald's WebSocket endpoint (its HTTP API is on the same host and port)
              --publish-url URL    publish through another node's endpoint (a cluster), instead of --url's
              --server-pid PID     Herald's process, for CPU and RSS from /proc
              --api-key KEY        Authorization for /api/publish, when Herald runs with authentication
              --token JWT          token for the WebSocket upgrade, when Herald runs with authentication
              --clients N          subscribed clients (fanout 1000, latency 10000, idle 19000, slow 1000, storm 10000)
              --rate R             messages published per second (fanout: the first step, 20; latency 10; slow 50)
              --duration S         measured seconds (latency 10; slow: the baseline, 10)
              --size BYTES         bytes of padding in each message (128; slow 4096)
              --threads T          client event loops (2)
              --rcvbuf BYTES       clients' socket receive buffer, 0 for the system's (slow: 65536, so a stall fills it soon)
              --batch on|off       ask for batched delivery, the subprotocol herald.v1.batch (off)
              fanout: --step S (5) --factor F (1.5) --max-steps M (12) --p99-limit-ms L (100) --min-delivery X (0.99)
              idle:   --hold S (20)
              slow:   --stalled K (10) --stall S (40: seconds the stalled clients read nothing, while --rate goes on)
              storm:  --topics T (5)
              durable: --prefix P (durable:) --topics T (100) --in-flight N (64) --duration S (10) --rate R (1000) --per-request B (1):
                      acknowledged changes/s and latency for one topic, for T topics, and at R/s; start Herald
                      with herald.durable.topics = ["durable:*"] to measure durable topics, --prefix memory: for the same in memory;
                      --per-request B sends B changes of one topic per request (the figures count changes);
                      --phases one,topics,paced picks the phases; the paced one adds Herald's own p50/p99 (from /metrics)
              resume: --clients N (10000) --topics T (1) --entries E (1000) --changed F (0.01): a reconnect storm with
                      full snapshots, then one resuming; F of each topic's entries change while the clients are away
              memory: --low N (1000) --clients N (5000) --top K (15): live heap per connection between the two counts,
                      by class (jcmd GC.class_histogram of --server-pid)
            """;

    final String scenario;
    private final Map<String, String> values = new HashMap<>();

    Options(String[] args) {
        if (args.length == 0 || args[0].startsWith("-")) {
            throw new IllegalArgumentException("name a scenario");
        }
        scenario = args[0];
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + arg);
            }
            int eq = arg.indexOf('=');
            if (eq > 0) {
                values.put(arg.substring(2, eq), arg.substring(eq + 1));
            } else if (i + 1 < args.length) {
                values.put(arg.substring(2), args[++i]);
            } else {
                throw new IllegalArgumentException(arg + " needs a value");
            }
        }
    }

    URI url() {
        String url = values.get("url");
        if (url == null) {
            throw new IllegalArgumentException("--url is required");
        }
        return loopback(url);
    }

    private static URI loopback(String url) {
        URI uri = URI.create(url);
        if (!uri.getHost().equals("127.0.0.1") && !uri.getHost().equals("localhost") && !uri.getHost().equals("::1")) {
            throw new IllegalArgumentException("the load generator only targets loopback, not " + uri.getHost());
        }
        return uri;
    }

    /** The HTTP API the publisher posts to: that of --publish-url (another node of a cluster), else of --url. */
    URI publishUrl() {
        URI ws = values.containsKey("publish-url") ? loopback(values.get("publish-url")) : url();
        return URI.create((ws.getScheme().equals("wss") ? "https" : "http") + "://" + ws.getHost() + ":" + ws.getPort()
                + "/api/publish");
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int integer(String name, int fallback) {
        return values.containsKey(name) ? Integer.parseInt(values.get(name)) : fallback;
    }

    double number(String name, double fallback) {
        return values.containsKey(name) ? Double.parseDouble(values.get(name)) : fallback;
    }
}
