package herald.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.HdrHistogram.Histogram;

/** The scenarios. Each returns its summary as one JSON object. */
final class Scenarios {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Connections whose handshake may be under way at once. */
    private static final int IN_FLIGHT = 1000;

    private final Options options;
    private final Clients clients;
    private final Publisher publisher;
    private final ProcSampler server;

    Scenarios(Options options, Clients clients, Publisher publisher, ProcSampler server) {
        this.options = options;
        this.clients = clients;
        this.publisher = publisher;
        this.server = server;
    }

    ObjectNode run() throws Exception {
        return switch (options.scenario) {
            case "fanout" -> fanout();
            case "latency" -> latency();
            case "idle" -> idle();
            case "slow" -> slow();
            case "storm" -> storm();
            case "memory" -> memory();
            case "resume" -> resume();
            case "durable" -> durable();
            case "presence" -> presence();
            default -> throw new IllegalArgumentException("unknown scenario " + options.scenario);
        };
    }

    /** One topic, many subscribers, the publish rate stepped up until p99 or delivery fails. */
    private ObjectNode fanout() throws Exception {
        int n = options.integer("clients", 1000);
        double rate = options.number("rate", 20);
        double stepSeconds = options.number("step", 5);
        double factor = options.number("factor", 1.5);
        int maxSteps = Math.min(options.integer("max-steps", 12), Clients.MAX_STEPS - 2);
        double p99Limit = options.number("p99-limit-ms", 100);
        double minDelivery = options.number("min-delivery", 0.99);
        List<Clients.Conn> conns = connect(n, List.of("bench"));
        log("warm-up 2 s at %.0f msg/s", rate);
        measure(0, "bench", rate, 2, conns.size());
        ArrayNode steps = JSON.createArrayNode();
        ObjectNode best = null;
        for (int step = 1; step <= maxSteps; step++) {
            ObjectNode result = measure(step, "bench", rate, stepSeconds, conns.size());
            steps.add(result);
            boolean ok = result.path("p99Ms").asDouble() <= p99Limit && result.path("deliveryRatio").asDouble() >= minDelivery;
            result.put("ok", ok);
            log("step %d: %.0f msg/s -> %s", step, rate, result);
            if (!ok) {
                break;
            }
            best = result;
            rate *= factor;
        }
        ObjectNode out = summary(conns.size());
        out.set("maxSustained", best);
        out.set("steps", steps);
        return out;
    }

    /**
     * What presence costs a room's fan-out (PROTOCOL.md 9.4): a room of {@code clients} members
     * (1,000) published to at {@code rate} (100 msg/s) for {@code duration} s, first with nobody
     * coming or going, then while {@code churn} connections a second (100) join it and as many leave.
     * The members' delivery latency and the server's CPU of the two phases side by side are the
     * answer; the presence topic's seq says how many joins and leaves it numbered meanwhile. The
     * server must keep presence for the room (bench/herald-bench.conf: room:*).
     */
    private ObjectNode presence() throws Exception {
        int n = options.integer("clients", 1000);
        double rate = options.number("rate", 100);
        double churn = options.number("churn", 100);
        double seconds = options.number("duration", 20);
        String room = options.string("room", "room:bench-" + Long.toString(System.nanoTime(), 36));
        List<Clients.Conn> members = connect(n, List.of(room));
        log("warm-up 2 s at %.0f msg/s", rate);
        measure(0, room, rate, 2, members.size());
        ObjectNode quiet = measure(1, room, rate, seconds, members.size());
        log("quiet: %s", quiet);
        long seqBefore = topicSeq("$presence:" + room);
        ObjectNode churning;
        long joined;
        try (Clients churners = new Clients(options.url(), options.string("token", null), 1, 0, false)) {
            java.util.concurrent.ConcurrentLinkedDeque<Clients.Conn> present = new java.util.concurrent.ConcurrentLinkedDeque<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong joins = new java.util.concurrent.atomic.AtomicLong();
            Thread churner = new Thread(() -> {
                long interval = (long) (1e9 / Math.max(churn, 0.001));
                long due = System.nanoTime();
                while (!stop.get()) {
                    long now = System.nanoTime();
                    if (now < due) {
                        java.util.concurrent.locks.LockSupport.parkNanos(Math.min(due - now, 1_000_000));
                        continue;
                    }
                    due += interval;
                    churners.connect(List.of(room)).thenAccept(conn -> {
                        present.add(conn);
                        joins.incrementAndGet();
                    });
                    // Each churning connection stays about a second: as many leave a second as join.
                    if (present.size() > churn) {
                        Clients.Conn leaving = present.poll();
                        if (leaving != null && leaving.channel != null) {
                            leaving.channel.close();
                        }
                    }
                }
            }, "presence-churn");
            churner.start();
            churning = measure(2, room, rate, seconds, members.size());
            stop.set(true);
            churner.join();
            joined = joins.get();
            log("churning: %s", churning);
        }
        long presenceChanges = topicSeq("$presence:" + room) - seqBefore;
        ObjectNode out = summary(members.size());
        out.put("room", room).put("churnPerSec", churn);
        out.set("quiet", quiet);
        out.set("churning", churning);
        out.put("churnJoins", joined).put("presenceChanges", presenceChanges)
                .put("presenceChangesPerSec", Math.round(presenceChanges / seconds));
        out.put("p99RatioChurningToQuiet", round(churning.path("p99Ms").asDouble() / quiet.path("p99Ms").asDouble()));
        out.put("cpuRatioChurningToQuiet", round(churning.path("serverCpuPct").asDouble() / quiet.path("serverCpuPct").asDouble()));
        return out;
    }

    /** A topic's seq from GET /api/topics/{topic}; -1 when it cannot be read. */
    private long topicSeq(String topic) {
        try {
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(options.publishUrl()
                            .resolve("/api/topics/" + topic.replace("$", "%24"))).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            return JSON.readTree(body).path("seq").asLong(-1);
        } catch (Exception e) {
            log("cannot read %s: %s", topic, e);
            return -1;
        }
    }

    /** Many subscribers, a low publish rate: how long does one message take to reach all of them. */
    private ObjectNode latency() throws Exception {
        int n = options.integer("clients", 10_000);
        List<Clients.Conn> conns = connect(n, List.of("latency"));
        measure(0, "latency", options.number("rate", 10), 2, conns.size());
        ObjectNode out = summary(conns.size());
        out.set("result", measure(1, "latency", options.number("rate", 10), options.number("duration", 10), conns.size()));
        return out;
    }

    /** As many idle subscribed connections as allowed: memory per connection. */
    private ObjectNode idle() throws Exception {
        int n = options.integer("clients", 19_000);
        double hold = options.number("hold", 20);
        long rssBefore = server.rssKiB();
        double heapBefore = heapUsed();
        List<Clients.Conn> conns = connect(n, List.of("idle"));
        long rssConnected = server.rssKiB();
        log("holding %d idle connections for %.0f s", conns.size(), hold);
        double cpuBefore = server.cpuSeconds();
        long holdStart = System.nanoTime();
        Thread.sleep((long) (hold * 1000));
        double idleCpu = ProcSampler.cpuPercent(cpuBefore, server.cpuSeconds(), System.nanoTime() - holdStart);
        long rssAfter = server.rssKiB();
        double heapAfter = heapUsed();
        ObjectNode probe = measure(1, "idle", 1, 1, conns.size());
        ObjectNode out = summary(conns.size());
        out.put("rssBeforeKiB", rssBefore).put("rssConnectedKiB", rssConnected).put("rssAfterHoldKiB", rssAfter);
        out.put("rssPerConnectionBytes", conns.isEmpty() ? 0 : (rssAfter - rssBefore) * 1024 / conns.size());
        out.put("heapBeforeBytes", heapBefore).put("heapAfterBytes", heapAfter);
        out.put("heapPerConnectionBytes", conns.isEmpty() ? 0 : Math.round((heapAfter - heapBefore) / conns.size()));
        out.put("probeDeliveryRatio", probe.path("deliveryRatio").asDouble());
        // What merely holding the connections costs: timers and heartbeats, with nothing published.
        out.put("serverCpuPctWhileIdle", round(idleCpu));
        return out;
    }

    /**
     * Live heap per idle subscribed connection, class by class: the server's class histogram (jcmd
     * GC.class_histogram, which runs a full GC first) at two connection counts, the difference divided
     * by the connections added. Fixed costs (classes, caches, the topic) cancel out.
     */
    private ObjectNode memory() throws Exception {
        int low = options.integer("low", 1000);
        int high = options.integer("clients", 5000);
        int top = options.integer("top", 15);
        int pid = options.integer("server-pid", -1);
        if (pid <= 0) {
            throw new IllegalArgumentException("memory needs --server-pid");
        }
        List<Clients.Conn> first = connect(low, List.of("memory"));
        java.util.Map<String, long[]> before = histogram(pid);
        long rssBefore = server.rssKiB();
        List<Clients.Conn> more = connect(high - first.size(), List.of("memory"));
        java.util.Map<String, long[]> after = histogram(pid);
        long rssAfter = server.rssKiB();
        int added = more.size();
        List<java.util.Map.Entry<String, long[]>> growth = new ArrayList<>();
        long totalBytes = 0;
        for (java.util.Map.Entry<String, long[]> entry : after.entrySet()) {
            long[] was = before.getOrDefault(entry.getKey(), new long[2]);
            long[] delta = {entry.getValue()[0] - was[0], entry.getValue()[1] - was[1]};
            totalBytes += delta[1];
            growth.add(java.util.Map.entry(entry.getKey(), delta));
        }
        growth.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        ObjectNode out = summary(first.size() + added);
        out.put("lowClients", first.size()).put("highClients", first.size() + added);
        out.put("heapPerConnectionBytes", added == 0 ? 0 : totalBytes / added);
        out.put("rssPerConnectionBytes", added == 0 ? 0 : (rssAfter - rssBefore) * 1024 / added);
        ArrayNode classes = out.putArray("topClasses");
        for (java.util.Map.Entry<String, long[]> entry : growth.subList(0, Math.min(top, growth.size()))) {
            classes.addObject().put("class", entry.getKey())
                    .put("bytesPerConnection", round(entry.getValue()[1] / (double) Math.max(1, added)))
                    .put("instancesPerConnection", round(entry.getValue()[0] / (double) Math.max(1, added)));
        }
        return out;
    }

    /** Instances and bytes by class name, from jcmd's class histogram of the live heap. */
    private static java.util.Map<String, long[]> histogram(int pid) throws Exception {
        Process jcmd = new ProcessBuilder("jcmd", String.valueOf(pid), "GC.class_histogram").redirectErrorStream(true).start();
        String text = new String(jcmd.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!jcmd.waitFor(120, TimeUnit.SECONDS) || jcmd.exitValue() != 0) {
            throw new IllegalStateException("jcmd failed: " + text);
        }
        java.util.Map<String, long[]> classes = new java.util.HashMap<>();
        for (String line : text.split("\n")) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length >= 4 && parts[0].endsWith(":")) {
                classes.put(parts[3], new long[] {Long.parseLong(parts[1]), Long.parseLong(parts[2])});
            }
        }
        return classes;
    }

    /** Some clients stop reading: the healthy ones' p99 with and without them, and what happens to the stalled ones. */
    private ObjectNode slow() throws Exception {
        int n = options.integer("clients", 1000);
        int stalledCount = options.integer("stalled", 10);
        double rate = options.number("rate", 50);
        double seconds = options.number("duration", 10);
        double stallSeconds = options.number("stall", 40);
        List<Clients.Conn> conns = connect(n, List.of("slow"));
        measure(0, "slow", rate, 2, conns.size());
        ObjectNode baseline = measure(1, "slow", rate, seconds, conns.size());
        List<Clients.Conn> stalled = new ArrayList<>();
        for (int i = 0; i < stalledCount; i++) {
            stalled.add(conns.get(i * conns.size() / stalledCount));
        }
        stalled.forEach(c -> c.reading(false));
        long rssAtStall = server.rssKiB();
        long[] rssMax = {rssAtStall};
        long stallStart = System.nanoTime();
        double[] closedAfter = {-1};
        Thread watcher = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                rssMax[0] = Math.max(rssMax[0], server.rssKiB());
                if (closedAfter[0] < 0 && slowClosesOnServer() >= stalledCount) {
                    closedAfter[0] = (System.nanoTime() - stallStart) / 1e9;
                }
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        double closesBefore = slowClosesOnServer();
        watcher.start();
        ObjectNode withStalled = measure(2, "slow", rate, stallSeconds, conns.size() - stalled.size());
        watcher.interrupt();
        watcher.join();
        stalled.forEach(c -> c.reading(true));
        // Resumed, a stalled client reads what was buffered and then its close; one deadline for all.
        CompletableFuture.allOf(stalled.stream().map(c -> c.closed).toArray(CompletableFuture[]::new))
                .completeOnTimeout(null, 10, TimeUnit.SECONDS).join();
        int with4008 = 0;
        for (Clients.Conn c : stalled) {
            with4008 += c.closed.getNow(-1) == 4008 ? 1 : 0;
        }
        ObjectNode out = summary(conns.size());
        out.set("baseline", baseline);
        out.set("withStalled", withStalled);
        out.put("healthyP99Ratio", round(withStalled.path("p99Ms").asDouble() / Math.max(0.001, baseline.path("p99Ms").asDouble())));
        out.put("stalled", stalled.size()).put("stalledClosedWith4008", with4008);
        out.put("serverSlowConsumerCloses", slowClosesOnServer() - closesBefore);
        out.put("allStalledClosedAfterS", closedAfter[0]);
        out.put("serverRssGrowthKiB", rssMax[0] - rssAtStall);
        return out;
    }

    /** Every client dropped at once, all reconnecting and resubscribing: time until all hold fresh snapshots. */
    private ObjectNode storm() throws Exception {
        int n = options.integer("clients", 10_000);
        int topicCount = options.integer("topics", 5);
        List<String> topics = new ArrayList<>();
        for (int i = 0; i < topicCount; i++) {
            topics.add("storm:" + i);
            publisher.once("storm:" + i);
        }
        List<Clients.Conn> conns = connect(n, topics);
        long before = clients.snapshots.get();
        ProcSampler self = new ProcSampler((int) ProcessHandle.current().pid());
        double serverCpuBefore = server.cpuSeconds();
        double selfCpuBefore = self.cpuSeconds();
        long start = System.nanoTime();
        conns.forEach(Clients.Conn::drop);
        List<Clients.Conn> back = connect(n, topics);
        double seconds = (System.nanoTime() - start) / 1e9;
        ObjectNode out = summary(back.size());
        out.put("topicsPerClient", topicCount);
        out.put("reconnected", back.size()).put("freshSnapshots", clients.snapshots.get() - before);
        out.put("secondsUntilAllFresh", round(seconds));
        // Which side the storm waits on: both share this machine's cores.
        out.put("serverCpuSeconds", round(server.cpuSeconds() - serverCpuBefore));
        out.put("loadGeneratorCpuSeconds", round(self.cpuSeconds() - selfCpuBefore));
        return out;
    }

    /**
     * A reconnect storm twice over, for topics of {@code --entries} entries of which {@code --changed}
     * change while the clients are away: once with every client asking for full snapshots, once with
     * each resuming from the position it held. Reports the time until all are back and the snapshot
     * bytes they received, for both.
     */
    private ObjectNode resume() throws Exception {
        int n = options.integer("clients", 10_000);
        int topicCount = options.integer("topics", 1);
        int entries = options.integer("entries", 1000);
        double changedShare = options.number("changed", 0.01);
        String padding = "x".repeat(options.integer("size", 128));
        List<String> topics = new ArrayList<>();
        for (int t = 0; t < topicCount; t++) {
            String topic = "resume:" + t;
            topics.add(topic);
            for (int from = 0; from < entries; from += 1000) {
                publisher.batch(topic, from, Math.min(entries, from + 1000), padding);
            }
        }
        List<Clients.Conn> conns = connect(n, topics);
        ObjectNode out = summary(conns.size());
        out.put("topicsPerClient", topicCount).put("entries", entries);
        int changed = (int) Math.max(1, Math.round(entries * changedShare));
        out.put("changedWhileAway", changed);
        conns = reconnectStorm(out.putObject("full"), conns, topics, changed, padding, false);
        conns = reconnectStorm(out.putObject("resume"), conns, topics, changed, padding, true);
        double fullBytes = out.path("full").path("snapshotBytes").asDouble();
        out.put("bytesRatio", fullBytes == 0 ? 0 : round(out.path("resume").path("snapshotBytes").asDouble() / fullBytes));
        return out;
    }

    /**
     * Acknowledged changes per second and their latency, one change per HTTP request: as fast as
     * the server answers with {@code --in-flight} requests outstanding, once for one hot topic and
     * once for {@code --topics} topics, then at {@code --rate} changes per second. {@code --prefix}
     * picks the topics: ones Herald keeps durable (started with herald.durable.topics) or not.
     */
    private ObjectNode durable() throws Exception {
        String prefix = options.string("prefix", "durable:");
        int topics = options.integer("topics", 100);
        int inFlight = options.integer("in-flight", 64);
        double seconds = options.number("duration", 10);
        double rate = options.number("rate", 1000);
        Acknowledged publisher = new Acknowledged(options.publishUrl(), options.string("api-key", null),
                options.integer("size", 128), options.integer("per-request", 1));
        ObjectNode out = summary(0);
        out.put("prefix", prefix).put("changesPerRequest", options.integer("per-request", 1));
        List<String> phases = List.of(options.string("phases", "one,topics,paced").split(","));
        log("warm-up 2 s");
        publisher.saturate(prefix, topics, inFlight, 2);
        if (phases.contains("one")) {
            report(out.putObject("oneTopic"), publisher.saturate(prefix, 1, inFlight, seconds));
        }
        if (phases.contains("topics")) {
            report(out.putObject("topics" + topics), publisher.saturate(prefix, topics, inFlight, seconds));
        }
        if (phases.contains("paced")) {
            Map<Double, Double> before = latencyBuckets();
            ObjectNode paced = out.putObject("paced" + Math.round(rate));
            report(paced, publisher.paced(prefix, topics, rate, seconds));
            // What Herald itself took, from a change's arrival to its answer: the load generator's
            // HTTP client shares the machine and adds its own delays to the figures above.
            paced.put("serverP50Ms", serverPercentile(before, latencyBuckets(), 0.50))
                    .put("serverP99Ms", serverPercentile(before, latencyBuckets(), 0.99));
        }
        return out;
    }

    /** Herald's publish latency histogram: cumulative counts by upper bound in seconds. */
    private Map<Double, Double> latencyBuckets() {
        Map<Double, Double> buckets = new TreeMap<>();
        for (String line : metricsText().split("\n")) {
            if (line.startsWith("herald_publish_latency_seconds_bucket{")) {
                int le = line.indexOf("le=\"") + 4;
                String bound = line.substring(le, line.indexOf('"', le));
                buckets.put(bound.equals("+Inf") ? Double.MAX_VALUE : Double.parseDouble(bound),
                        Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return buckets;
    }

    /** The upper bound (ms) of the bucket holding the given quantile of what was recorded between two readings. */
    private static double serverPercentile(Map<Double, Double> before, Map<Double, Double> after, double quantile) {
        double total = after.getOrDefault(Double.MAX_VALUE, 0.0) - before.getOrDefault(Double.MAX_VALUE, 0.0);
        for (Map.Entry<Double, Double> bucket : after.entrySet()) {
            if (bucket.getValue() - before.getOrDefault(bucket.getKey(), 0.0) >= quantile * total) {
                return round(bucket.getKey() * 1000);
            }
        }
        return -1;
    }

    private static void report(ObjectNode out, Acknowledged.Result result) {
        out.put("acknowledgedPerSec", Math.round(result.perSecond())).put("acknowledged", result.acknowledged())
                .put("failed", result.failed());
        Histogram h = result.latencyMicros();
        out.put("p50Ms", ms(h, 50)).put("p99Ms", ms(h, 99)).put("maxMs", round(h.getMaxValue() / 1000.0));
        log("%s", out);
    }

    /** Drops every connection, changes {@code changed} entries of each topic, and brings every client back. */
    private List<Clients.Conn> reconnectStorm(ObjectNode out, List<Clients.Conn> conns, List<String> topics, int changed,
                                              String padding, boolean resume) throws Exception {
        conns.forEach(Clients.Conn::drop);
        for (String topic : topics) {
            publisher.batch(topic, 0, changed, padding + "-changed");
        }
        long snapshotsBefore = clients.snapshots.get();
        long deltasBefore = clients.deltaSnapshots.get();
        long bytesBefore = clients.snapshotBytes.get();
        double cpuBefore = server.cpuSeconds();
        long start = System.nanoTime();
        List<Clients.Conn> back = connect(conns.size(), topics, resume ? conns : null);
        out.put("reconnected", back.size());
        out.put("secondsUntilAllBack", round((System.nanoTime() - start) / 1e9));
        out.put("serverCpuSeconds", round(server.cpuSeconds() - cpuBefore));
        out.put("snapshots", clients.snapshots.get() - snapshotsBefore);
        out.put("deltaSnapshots", clients.deltaSnapshots.get() - deltasBefore);
        out.put("snapshotBytes", clients.snapshotBytes.get() - bytesBefore);
        return back;
    }

    /** Publishes for a while as step {@code step} and reports delivery and latency of that step's messages. */
    private ObjectNode measure(int step, String topic, double rate, double seconds, int receivers) throws Exception {
        clients.currentStep = step;
        clients.latency.reset();
        long publishedBefore = publisher.published.get();
        double cpuBefore = server.cpuSeconds();
        long start = System.nanoTime();
        publisher.run(topic, rate, seconds, step);
        long publishEnd = System.nanoTime();
        long published = publisher.published.get() - publishedBefore;
        long expected = published * receivers;
        waitFor(Duration.ofSeconds(3), () -> clients.receivedByStep.get(step) >= expected);
        double cpu = ProcSampler.cpuPercent(cpuBefore, server.cpuSeconds(), System.nanoTime() - start);
        Histogram h = clients.latency.getIntervalHistogram();
        long received = clients.receivedByStep.get(step);
        ObjectNode r = JSON.createObjectNode();
        r.put("rate", round(rate)).put("published", published).put("expected", expected).put("received", received);
        r.put("deliveryRatio", expected == 0 ? 0 : round(received / (double) expected));
        r.put("deliveredPerSec", Math.round(received / ((publishEnd - start) / 1e9)));
        r.put("p50Ms", ms(h, 50)).put("p99Ms", ms(h, 99)).put("p999Ms", ms(h, 99.9)).put("maxMs", round(h.getMaxValue() / 1000.0));
        r.put("serverCpuPct", cpu).put("serverRssKiB", server.rssKiB());
        return r;
    }

    private List<Clients.Conn> connect(int n, List<String> topics) throws Exception {
        return connect(n, topics, null);
    }

    /** Connects {@code n} clients; with {@code resumeFrom}, client i resumes from the positions connection i held. */
    private List<Clients.Conn> connect(int n, List<String> topics, List<Clients.Conn> resumeFrom) throws Exception {
        log("connecting %d clients to %s%s", n, topics, resumeFrom == null ? "" : ", resuming");
        long start = System.nanoTime();
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        List<CompletableFuture<Clients.Conn>> pending = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            inFlight.acquire();
            CompletableFuture<Clients.Conn> f = resumeFrom == null ? clients.connect(topics)
                    : clients.connect(topics, Map.copyOf(resumeFrom.get(i).positions));
            f.whenComplete((c, e) -> inFlight.release());
            pending.add(f);
        }
        List<Clients.Conn> conns = new ArrayList<>(n);
        int failed = 0;
        for (CompletableFuture<Clients.Conn> f : pending) {
            try {
                conns.add(f.get(120, TimeUnit.SECONDS));
            } catch (Exception e) {
                failed++;
            }
        }
        log("%d subscribed, %d failed, in %.2f s", conns.size(), failed, (System.nanoTime() - start) / 1e9);
        connectFailures += failed;
        return conns;
    }

    private int connectFailures;

    private ObjectNode summary(int connected) {
        ObjectNode out = JSON.createObjectNode();
        out.put("scenario", options.scenario).put("clients", connected).put("connectFailures", connectFailures);
        out.put("seqGaps", clients.gaps.get()).put("errors", clients.errors.get());
        ObjectNode codes = out.putObject("closeCodes");
        clients.closeCodes.forEach((code, count) -> codes.put(String.valueOf(code), count.get()));
        return out;
    }

    private double heapUsed() {
        return metric("jvm_memory_used_bytes{area=\"heap\"");
    }

    private double slowClosesOnServer() {
        return metric("herald_slow_consumer_closes_total");
    }

    /** The sum of a Prometheus series family from Herald's /metrics; 0 when it cannot be read. */
    private double metric(String prefix) {
        double sum = 0;
        for (String line : metricsText().split("\n")) {
            if (line.startsWith(prefix)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** Herald's /metrics page; empty when it cannot be read. */
    private String metricsText() {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(options.publishUrl().resolve("/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    private static void waitFor(Duration limit, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? -1 : round(h.getValueAtPercentile(percentile) / 1000.0);
    }

    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }

    static void log(String format, Object... args) {
        System.err.printf("[bench] " + format + "%n", args);
    }
}
