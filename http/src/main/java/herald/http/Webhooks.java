package herald.http;

import herald.config.HeraldSettings;
import herald.hub.HubMetrics;
import herald.hub.topic.Occupancy;
import herald.protocol.FrameCodec;
import herald.protocol.Hook;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The webhooks ({@code herald.webhooks}): {@code topic.occupied} and {@code topic.vacated}, POSTed
 * in the order the topic's owner saw them. Each topic has its own queue with one notice under way
 * at a time, so a topic's notices arrive in order while topics do not wait for each other. A
 * failed notice (no 2xx within the deadline) is sent again after a backoff that doubles up to
 * max-backoff, with the same id, at most max-attempts times; then it is dropped with a warning and
 * the topic's next one goes. At most max-queued notices wait on a node; more are dropped, with a warning.
 */
final class Webhooks extends AbstractBehavior<Webhooks.Command> {

    sealed interface Command {
    }

    private record Notice(String topic, String event) implements Command {
    }

    private record Delivered(String topic) implements Command {
    }

    private record Failed(String topic, String why) implements Command {
    }

    private record Retry(String topic) implements Command {
    }

    /** A notice waiting or under way: its body is fixed at the first attempt. */
    private static final class Pending {
        final String id;
        final String body;
        int attempts;

        Pending(String id, String body) {
            this.id = id;
            this.body = body;
        }
    }

    /** {@link Occupancy#NONE} when no webhook URL is configured. */
    static Occupancy start(ActorContext<?> parent, HeraldSettings.Webhooks settings, FrameCodec codec, HubMetrics metrics) {
        if (!settings.enabled()) {
            return Occupancy.NONE;
        }
        ActorRef<Command> webhooks = parent.spawn(Behaviors.setup(context -> Behaviors.<Command>withTimers(timers ->
                new Webhooks(context, timers, settings, codec, metrics))), "webhooks");
        return new Occupancy() {
            @Override
            public void occupied(String topic) {
                if (settings.appliesTo(topic)) {
                    webhooks.tell(new Notice(topic, "topic.occupied"));
                }
            }

            @Override
            public void vacated(String topic) {
                if (settings.appliesTo(topic)) {
                    webhooks.tell(new Notice(topic, "topic.vacated"));
                }
            }
        };
    }

    private final TimerScheduler<Command> timers;
    private final HeraldSettings.Webhooks settings;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final BackendCall call;
    private final SecretKeySpec key;
    private final Map<String, ArrayDeque<Pending>> queues = new HashMap<>();
    private int queued;
    private long dropped;

    private Webhooks(ActorContext<Command> context, TimerScheduler<Command> timers, HeraldSettings.Webhooks settings,
                     FrameCodec codec, HubMetrics metrics) {
        super(context);
        this.metrics = metrics;
        this.timers = timers;
        this.settings = settings;
        this.codec = codec;
        this.call = new BackendCall("webhook receiver", settings.url(), settings.deadline(), 64, context.getSystem());
        this.key = new SecretKeySpec(settings.secret().getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Notice.class, this::onNotice)
                .onMessage(Delivered.class, delivered -> {
                    metrics.webhook("delivered");
                    return next(delivered.topic());
                })
                .onMessage(Failed.class, this::onFailed)
                .onMessage(Retry.class, retry -> {
                    send(retry.topic());
                    return this;
                })
                .build();
    }

    private Behavior<Command> onNotice(Notice notice) {
        if (queued >= settings.maxQueued()) {
            metrics.webhook("dropped");
            if (dropped++ % 1000 == 0) {
                getContext().getLog().warn("Webhook {} for topic [{}] dropped: {} notices wait already (herald.webhooks.max-queued); "
                        + "{} dropped so far", notice.event(), notice.topic(), queued, dropped);
            }
            return this;
        }
        String id = UUID.randomUUID().toString();
        Pending pending = new Pending(id, codec.encode(new Hook.Webhook(id, notice.event(), notice.topic(), System.currentTimeMillis())));
        ArrayDeque<Pending> queue = queues.computeIfAbsent(notice.topic(), topic -> new ArrayDeque<>());
        queue.add(pending);
        queued++;
        if (queue.size() == 1) {
            send(notice.topic());
        }
        return this;
    }

    private void send(String topic) {
        Pending head = queues.get(topic).peek();
        head.attempts++;
        List<HttpHeader> headers = List.of(RawHeader.create("X-Herald-Signature", "sha256=" + sign(head.body)),
                RawHeader.create("X-Herald-Delivery", head.id));
        getContext().pipeToSelf(call.post(head.body, headers), (response, failure) -> {
            if (failure != null) {
                return new Failed(topic, BackendCall.why(failure));
            }
            return response.status() >= 200 && response.status() <= 299
                    ? new Delivered(topic) : new Failed(topic, "the receiver answered HTTP " + response.status());
        });
    }

    private Behavior<Command> onFailed(Failed failed) {
        metrics.webhook("failed");
        Pending head = queues.get(failed.topic()).peek();
        if (head.attempts >= settings.maxAttempts()) {
            metrics.webhook("dropped");
            getContext().getLog().warn("Webhook for topic [{}] dropped after {} attempts: {}", failed.topic(), head.attempts,
                    failed.why());
            return next(failed.topic());
        }
        long backoff = Math.min(settings.maxBackoff().toMillis(), settings.minBackoff().toMillis() << Math.min(20, head.attempts - 1));
        getContext().getLog().debug("Webhook for topic [{}] failed ({}); attempt {} in {} ms", failed.topic(), failed.why(),
                head.attempts + 1, backoff);
        timers.startSingleTimer(new Retry(failed.topic()), Duration.ofMillis(backoff));
        return this;
    }

    /** The topic's head is done with (delivered or given up): its next notice goes. */
    private Behavior<Command> next(String topic) {
        ArrayDeque<Pending> queue = queues.get(topic);
        queue.poll();
        queued--;
        if (queue.isEmpty()) {
            queues.remove(topic);
        } else {
            send(topic);
        }
        return this;
    }

    private String sign(String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JVM has HmacSHA256", e);
        }
    }
}
