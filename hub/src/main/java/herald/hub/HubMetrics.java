package herald.hub;

import herald.hub.topic.Topic;
import herald.protocol.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Herald's own meters, created once. Everything updated per frame or per delivery is a meter held
 * in a field (a lock-free adder inside), so counting costs no lookup, no lock and no allocation.
 * What is counted per connection or per close may look its meter up.
 */
public final class HubMetrics {
    private final MeterRegistry registry;
    private final AtomicInteger connectionsOpen = new AtomicInteger();
    private final AtomicInteger topicsAlive = new AtomicInteger();
    private final AtomicLong subscriptions = new AtomicLong();
    private final Counter connectionsOpened;
    private final Map<Integer, Counter> connectionsClosed = new ConcurrentHashMap<>();
    private final Timer connectionDuration;
    public final Counter framesIn;
    public final Counter bytesIn;
    public final Counter framesOut;
    public final Counter bytesOut;
    private final Counter publishesHttp;
    public final Counter publishesSocket;
    public final Timer publishLatency;
    public final Counter slowConsumerCloses;
    private final Map<ErrorCode, Counter> rejected = new EnumMap<>(ErrorCode.class);
    private final DistributionSummary outboundDepth;
    private final Counter resumedDelta;
    private final Counter resumedFull;
    private final Counter conflicts;
    private final Counter duplicates;
    /** Durable topics: from a change's events handed to the journal to the write confirmed. */
    public final Timer journalWrite;
    public final Counter journalFailures;

    public HubMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("herald.connections.open", connectionsOpen, AtomicInteger::get)
                .description("WebSocket and SSE connections open now").register(registry);
        Gauge.builder("herald.topics.alive", topicsAlive, AtomicInteger::get)
                .description("Topic actors running (with entries or subscribers)").register(registry);
        Gauge.builder("herald.subscriptions", subscriptions, AtomicLong::get)
                .description("Subscriptions held by all topics").register(registry);
        connectionsOpened = Counter.builder("herald.connections.opened")
                .description("Connections accepted").register(registry);
        connectionDuration = Timer.builder("herald.connection.duration")
                .description("How long connections stayed open")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(10))
                .maximumExpectedValue(Duration.ofDays(1)).register(registry);
        framesIn = Counter.builder("herald.frames.in").description("Client messages received").register(registry);
        bytesIn = Counter.builder("herald.frames.in.bytes").baseUnit("bytes").description("Client message bytes received")
                .register(registry);
        framesOut = Counter.builder("herald.frames.out").description("Frames handed to client sockets").register(registry);
        bytesOut = Counter.builder("herald.frames.out.bytes").baseUnit("bytes").description("Frame bytes handed to client sockets")
                .register(registry);
        publishesHttp = publishes("http");
        publishesSocket = publishes("socket");
        publishLatency = latency("herald.publish.latency",
                "From a change entering Herald to its acknowledgement: numbered by the topic's owner and sent to every relay "
                        + "(journaled first, for a durable topic)", Duration.ofNanos(10_000));
        slowConsumerCloses = Counter.builder("herald.slow.consumer.closes")
                .description("Connections closed with 4008 because their outbound buffer overflowed").register(registry);
        for (ErrorCode code : ErrorCode.values()) {
            rejected.put(code, Counter.builder("herald.frames.rejected").tag("code", code.wireName())
                    .description("Client frames answered with an error, by error code").register(registry));
        }
        outboundDepth = DistributionSummary.builder("herald.outbound.queue.depth").baseUnit("frames")
                .description("Frames waiting in connections' outbound buffers, sampled per connection")
                .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(65536.0)
                .register(registry);
        journalWrite = latency("herald.journal.write",
                "Durable topics: from a batch of changes handed to the journal to its write confirmed", Duration.ofNanos(50_000));
        journalFailures = Counter.builder("herald.journal.failures")
                .description("Durable topics: journal writes or recoveries that failed").register(registry);
        resumedDelta = resumes("delta");
        resumedFull = resumes("full");
        conflicts = Counter.builder("herald.publish.conflicts")
                .description("Conditional changes refused because the key's version had moved on").register(registry);
        duplicates = Counter.builder("herald.publish.duplicates")
                .description("Changes not applied because their idem key had been applied already").register(registry);
    }

    /** A latency histogram from {@code least} to 10 s. */
    private Timer latency(String name, String description, Duration least) {
        return Timer.builder(name).description(description).publishPercentileHistogram().minimumExpectedValue(least)
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
    }

    private Counter resumes(String snapshot) {
        return Counter.builder("herald.resumes").tag("snapshot", snapshot)
                .description("Subscribes that asked to resume from a position, by the snapshot they got").register(registry);
    }

    /** Meters that count into nothing anyone reads, for actors tested on their own. */
    public static HubMetrics unregistered() {
        return new HubMetrics(new SimpleMeterRegistry());
    }

    private Counter publishes(String source) {
        return Counter.builder("herald.publishes").tag("source", source)
                .description("Changes published, by where they came from").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void connectionOpened() {
        connectionsOpened.increment();
        connectionsOpen.incrementAndGet();
    }

    public void connectionClosed(int code, long nanosOpen) {
        connectionsOpen.decrementAndGet();
        connectionDuration.record(nanosOpen, TimeUnit.NANOSECONDS);
        connectionsClosed.computeIfAbsent(code, c -> Counter.builder("herald.connections.closed")
                .tag("code", Integer.toString(c)).description("Connections closed, by close code")
                .register(registry)).increment();
    }

    public void publishedOverHttp(int changes) {
        publishesHttp.increment(changes);
    }

    public void rejected(ErrorCode code) {
        rejected.get(code).increment();
    }

    public void topicStarted() {
        topicsAlive.incrementAndGet();
    }

    public void topicStopped() {
        topicsAlive.decrementAndGet();
    }

    public void subscribed() {
        subscriptions.incrementAndGet();
    }

    public void unsubscribed() {
        subscriptions.decrementAndGet();
    }

    public void resumed(boolean delta) {
        (delta ? resumedDelta : resumedFull).increment();
    }

    /** Counts an answered publish: a conflict, a repeat of its idem key, or its latency when it was applied. */
    public void outcome(Topic.PublishOutcome outcome) {
        if (outcome instanceof Topic.Conflicted) {
            conflicts.increment();
        } else if (outcome instanceof Topic.Published published) {
            if (published.duplicate()) {
                duplicates.increment();
            } else {
                publishLatency.record(System.nanoTime() - published.receivedNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    /** A backend hook's verdict: {@code outcome} is allowed, refused or unavailable. */
    public void hookCall(String hook, String outcome) {
        Counter.builder("herald.hook.calls").tag("hook", hook).tag("outcome", outcome)
                .description("Calls to the backend's hooks, by hook and verdict").register(registry).increment();
    }

    /** A webhook attempt or notice: {@code outcome} is delivered, failed (one attempt) or dropped. */
    public void webhook(String outcome) {
        Counter.builder("herald.webhooks").tag("outcome", outcome)
                .description("Webhook notices delivered and dropped, and attempts that failed").register(registry).increment();
    }

    public void sampleOutboundDepth(int frames) {
        outboundDepth.record(frames);
    }
}
