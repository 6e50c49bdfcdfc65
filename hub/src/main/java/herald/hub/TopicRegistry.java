package herald.hub;

import herald.config.HeraldSettings;
import herald.protocol.ApiBody;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.TreeMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * This node's topic directory: starts a topic on its first message, forwards every message to it,
 * and stops it when it turns idle. A topic whose owner lives elsewhere (every topic in a cluster,
 * a durable topic on one node: see {@link OwnerChoice}) is a relay of that owner here; a publish or
 * a state query goes straight to the owner instead, with no relay started for it.
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

    /** A page of the running topics in name order, starting after {@code after} (null: from the first). */
    public record ListTopics(String after, int limit, ActorRef<ApiBody.TopicList> replyTo) implements Command {
    }

    record Idle(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    record StillActive(String topic) implements Command {
    }

    private record TopicTerminated(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    /** Which owner a topic has: null when the topic actor here owns it (an in-memory topic on one node). */
    @FunctionalInterface
    public interface OwnerChoice {
        Owners ownersOf(String topic);

        OwnerChoice NONE = topic -> null;
    }

    public static Behavior<Command> create(HeraldSettings.Topics settings, int maxTopics, FrameCodec codec,
                                           HubMetrics metrics, OwnerChoice owners) {
        return Behaviors.setup(context -> new TopicRegistry(context, settings, maxTopics, codec, metrics, owners));
    }

    private record Running(ActorRef<Topic.Command> ref, TopicStats stats) {
    }

    private final HeraldSettings.Topics settings;
    private final int maxTopics;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final OwnerChoice owners;
    /** Sorted, so that listing pages by name costs a lookup, not a sort of every topic. */
    private final TreeMap<String, Running> topics = new TreeMap<>();
    /** Messages held for topics that were asked to stop, until they stop or say they are still active. */
    private final Map<String, List<Topic.Command>> held = new HashMap<>();
    /** Makes every incarnation's actor name unique, so a restart never waits for the old name. */
    private long incarnations;

    private TopicRegistry(ActorContext<Command> context, HeraldSettings.Topics settings, int maxTopics,
                          FrameCodec codec, HubMetrics metrics, OwnerChoice owners) {
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
                .onMessage(ListTopics.class, this::onListTopics)
                .onMessage(Idle.class, this::onIdle)
                .onMessage(StillActive.class, this::onStillActive)
                .onMessage(TopicTerminated.class, this::onTopicTerminated)
                .build();
    }

    private Behavior<Command> onForward(Forward forward) {
        Owners owner = owners.ownersOf(forward.topic());
        if (owner != null && forward.command() instanceof Topic.Publish publish) {
            owner.publish(forward.topic(), publish);
            return this;
        }
        if (owner != null && forward.command() instanceof Topic.GetState get) {
            owner.getState(forward.topic(), get);
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
     * Commands that need no topic actor when there is none (its state is empty), and the refusal of
     * a new topic when the hub holds the most it may: existing topics are unaffected.
     */
    private boolean answeredWithoutStarting(String topic, Topic.Command command) {
        if (command instanceof Topic.Unsubscribe) {
            return true;
        }
        if (command instanceof Topic.GetState get) {
            get.replyTo().tell(new ApiBody.TopicState(topic, Topic.newEpoch(), 0, null, List.of(), null, null));
            return true;
        }
        if (topics.size() < maxTopics) {
            return false;
        }
        String message = "the hub holds the most topics allowed (" + maxTopics + "); this one cannot start";
        if (command instanceof Topic.Subscribe subscribe) {
            subscribe.subscription().session.tell(new Topic.Refused(topic, subscribe.requestId(), true, ErrorCode.TOO_MANY_TOPICS, message));
        } else if (command instanceof Topic.Publish publish) {
            publish.replyTo().tell(new Topic.Refused(topic, publish.requestId(), false, ErrorCode.TOO_MANY_TOPICS, message));
        }
        return true;
    }

    private Running start(String name) {
        String actorName = "topic-" + (++incarnations) + "-" + URLEncoder.encode(name, StandardCharsets.UTF_8);
        TopicStats stats = new TopicStats();
        ActorRef<Topic.Command> ref = getContext().spawn(
                Topic.create(name, settings.limitsFor(name), codec, metrics, stats, getContext().getSelf(), owners.ownersOf(name)),
                actorName);
        getContext().watchWith(ref, new TopicTerminated(name, ref));
        metrics.topicStarted();
        return new Running(ref, stats);
    }

    private Behavior<Command> onListTopics(ListTopics list) {
        var tail = list.after() == null ? topics : topics.tailMap(list.after(), false);
        List<ApiBody.TopicList.TopicSummary> page = new ArrayList<>(Math.min(list.limit(), tail.size()));
        String next = null;
        for (var entry : tail.entrySet()) {
            if (page.size() == list.limit()) {
                next = page.get(page.size() - 1).topic();
                break;
            }
            TopicStats stats = entry.getValue().stats();
            page.add(new ApiBody.TopicList.TopicSummary(entry.getKey(), stats.seq, stats.entries, stats.subscribers));
        }
        list.replyTo().tell(new ApiBody.TopicList(page, next));
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
        metrics.topicStopped();
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
