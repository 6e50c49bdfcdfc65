package herald.hub.topic;

import herald.config.HeraldSettings;
import herald.hub.HubMetrics;
import herald.protocol.ApiBody;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * This node's directory of topic relays: starts a topic's {@link Topic} relay on its first
 * subscribe, forwards the topic's messages to it, and stops it when it has no subscribers. A publish
 * or a state query goes straight to the topic's owner ({@link Owners}) instead, with no relay
 * started for it.
 *
 * <p>Stopping is a handshake so that no message is lost to a topic that is on its way out: the
 * topic reports {@link Idle}; the registry sends it {@link Topic.Stop} and holds that topic's
 * further messages; the topic either stops (the held messages then start a new one) or answers
 * {@link StillActive} because something arrived meanwhile (the held messages go to it).
 */
public final class TopicRegistry extends AbstractBehavior<TopicRegistry.Command> {

    public sealed interface Command {
    }

    public record Forward(String topic, Topic.Command command) implements Command {
    }

    /** A page of the relays in name order, starting after {@code after} (null: from the first). */
    public record ListTopics(String after, int limit, ActorRef<ApiBody.TopicList> replyTo) implements Command {
    }

    /** The page with each topic's subscribers on this node filled in. */
    public record CountSubscribers(ApiBody.TopicList page, ActorRef<ApiBody.TopicList> replyTo) implements Command {
    }

    record Idle(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    record StillActive(String topic) implements Command {
    }

    private record TopicTerminated(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    public static Behavior<Command> create(HeraldSettings.Topics settings, int maxTopics, FrameCodec codec,
                                           HubMetrics metrics, Owners owners) {
        return Behaviors.setup(context -> new TopicRegistry(context, settings, maxTopics, codec, metrics, owners));
    }

    private record Running(ActorRef<Topic.Command> ref, TopicStats stats) {
    }

    private final HeraldSettings.Topics settings;
    private final int maxTopics;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final Owners owners;
    /** Sorted, so that listing pages by name costs a lookup, not a sort of every topic. */
    private final TreeMap<String, Running> topics = new TreeMap<>();
    /** Messages held for topics that were asked to stop, until they stop or say they are still active. */
    private final Map<String, List<Topic.Command>> held = new HashMap<>();
    /** Makes every incarnation's actor name unique, so a restart never waits for the old name. */
    private long incarnations;

    private TopicRegistry(ActorContext<Command> context, HeraldSettings.Topics settings, int maxTopics,
                          FrameCodec codec, HubMetrics metrics, Owners owners) {
        super(context);
        this.settings = settings;
        this.maxTopics = maxTopics;
        this.codec = codec;
        this.metrics = metrics;
        this.owners = owners;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Forward.class, this::onForward)
                .onMessage(ListTopics.class, list -> {
                    list.replyTo().tell(TopicStats.page(topics, Running::stats, list.after(), list.limit()));
                    return this;
                })
                .onMessage(CountSubscribers.class, this::onCountSubscribers)
                .onMessage(Idle.class, this::onIdle)
                .onMessage(StillActive.class, this::onStillActive)
                .onMessage(TopicTerminated.class, this::onTopicTerminated)
                .build();
    }

    private Behavior<Command> onForward(Forward forward) {
        if (forward.command() instanceof Topic.Publish publish) {
            owners.publish(forward.topic(), publish);
            return this;
        }
        if (forward.command() instanceof Topic.PublishAll publish) {
            owners.publishAll(forward.topic(), publish);
            return this;
        }
        if (forward.command() instanceof Topic.GetState get) {
            owners.getState(forward.topic(), get);
            return this;
        }
        List<Topic.Command> waiting = held.get(forward.topic());
        if (waiting != null) {
            waiting.add(forward.command());
            return this;
        }
        Running running = topics.get(forward.topic());
        if (running == null) {
            if (answeredWithoutStarting(forward.topic(), forward.command())) {
                return this;
            }
            running = start(forward.topic());
            topics.put(forward.topic(), running);
        }
        running.ref().tell(forward.command());
        return this;
    }

    /**
     * An unsubscribe needs no relay when there is none, and no relay starts when this node holds the
     * most topics it may: existing topics are unaffected.
     */
    private boolean answeredWithoutStarting(String topic, Topic.Command command) {
        if (command instanceof Topic.Unsubscribe) {
            return true;
        }
        if (topics.size() < maxTopics) {
            return false;
        }
        if (command instanceof Topic.Subscribe subscribe) {
            subscribe.subscription().session.tell(new Topic.Refused(topic, subscribe.requestId(), true, ErrorCode.TOO_MANY_TOPICS,
                    "the hub holds the most topics allowed (" + maxTopics + "); this one cannot start"));
        }
        return true;
    }

    private Running start(String name) {
        String actorName = "topic-" + (++incarnations) + "-" + URLEncoder.encode(name, StandardCharsets.UTF_8);
        TopicStats stats = new TopicStats();
        ActorRef<Topic.Command> ref = getContext().spawn(
                Topic.create(name, settings.limitsFor(name), codec, metrics, stats, getContext().getSelf(), owners),
                actorName);
        getContext().watchWith(ref, new TopicTerminated(name, ref));
        return new Running(ref, stats);
    }

    private Behavior<Command> onCountSubscribers(CountSubscribers count) {
        List<ApiBody.TopicList.TopicSummary> counted = new ArrayList<>(count.page().topics().size());
        for (ApiBody.TopicList.TopicSummary summary : count.page().topics()) {
            Running running = topics.get(summary.topic());
            counted.add(running == null ? summary : new ApiBody.TopicList.TopicSummary(summary.topic(), summary.seq(),
                    summary.entries(), running.stats().subscribers));
        }
        count.replyTo().tell(new ApiBody.TopicList(counted, count.page().next()));
        return this;
    }

    private Behavior<Command> onIdle(Idle idle) {
        if (idle.ref().equals(refOf(idle.topic())) && !held.containsKey(idle.topic())) {
            held.put(idle.topic(), new ArrayList<>());
            idle.ref().tell(Topic.Stop.INSTANCE);
        }
        return this;
    }

    private Behavior<Command> onStillActive(StillActive still) {
        List<Topic.Command> waiting = held.remove(still.topic());
        ActorRef<Topic.Command> ref = refOf(still.topic());
        if (waiting != null && ref != null) {
            waiting.forEach(ref::tell);
        }
        return this;
    }

    private Behavior<Command> onTopicTerminated(TopicTerminated terminated) {
        if (!terminated.ref().equals(refOf(terminated.topic()))) {
            return this;
        }
        topics.remove(terminated.topic());
        List<Topic.Command> waiting = held.remove(terminated.topic());
        if (waiting != null && !waiting.isEmpty()) {
            Running fresh = start(terminated.topic());
            topics.put(terminated.topic(), fresh);
            waiting.forEach(fresh.ref()::tell);
        }
        return this;
    }

    private ActorRef<Topic.Command> refOf(String topic) {
        Running running = topics.get(topic);
        return running == null ? null : running.ref();
    }
}
