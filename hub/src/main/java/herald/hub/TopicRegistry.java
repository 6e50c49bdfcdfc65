package herald.hub;

import herald.config.HeraldSettings;
import herald.protocol.FrameCodec;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The single node's topic directory: starts a topic on its first message, forwards every message
 * to it, and stops it when it turns idle.
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

    record Idle(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    record StillActive(String topic) implements Command {
    }

    private record TopicTerminated(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    public static Behavior<Command> create(HeraldSettings.Topics settings, FrameCodec codec) {
        return Behaviors.setup(context -> new TopicRegistry(context, settings, codec));
    }

    private final HeraldSettings.Topics settings;
    private final FrameCodec codec;
    private final Map<String, ActorRef<Topic.Command>> topics = new HashMap<>();
    /** Messages held for topics that were asked to stop, until they stop or say they are still active. */
    private final Map<String, List<Topic.Command>> held = new HashMap<>();
    /** Makes every incarnation's actor name unique, so a restart never waits for the old name. */
    private long incarnations;

    private TopicRegistry(ActorContext<Command> context, HeraldSettings.Topics settings, FrameCodec codec) {
        super(context);
        this.settings = settings;
        this.codec = codec;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Forward.class, this::onForward)
                .onMessage(Idle.class, this::onIdle)
                .onMessage(StillActive.class, this::onStillActive)
                .onMessage(TopicTerminated.class, this::onTopicTerminated)
                .build();
    }

    private Behavior<Command> onForward(Forward forward) {
        List<Topic.Command> waiting = held.get(forward.topic());
        if (waiting != null) {
            waiting.add(forward.command());
        } else {
            topics.computeIfAbsent(forward.topic(), this::start).tell(forward.command());
        }
        return this;
    }

    private ActorRef<Topic.Command> start(String name) {
        String actorName = "topic-" + (++incarnations) + "-" + URLEncoder.encode(name, StandardCharsets.UTF_8);
        ActorRef<Topic.Command> ref = getContext().spawn(
                Topic.create(name, settings.maxEntriesFor(name), codec, getContext().getSelf()), actorName);
        getContext().watchWith(ref, new TopicTerminated(name, ref));
        return ref;
    }

    private Behavior<Command> onIdle(Idle idle) {
        if (idle.ref().equals(topics.get(idle.topic())) && !held.containsKey(idle.topic())) {
            held.put(idle.topic(), new ArrayList<>());
            idle.ref().tell(Topic.Stop.INSTANCE);
        }
        return this;
    }

    private Behavior<Command> onStillActive(StillActive still) {
        List<Topic.Command> waiting = held.remove(still.topic());
        ActorRef<Topic.Command> ref = topics.get(still.topic());
        if (waiting != null && ref != null) {
            waiting.forEach(ref::tell);
        }
        return this;
    }

    private Behavior<Command> onTopicTerminated(TopicTerminated terminated) {
        if (!terminated.ref().equals(topics.get(terminated.topic()))) {
            return this;
        }
        topics.remove(terminated.topic());
        List<Topic.Command> waiting = held.remove(terminated.topic());
        if (waiting != null && !waiting.isEmpty()) {
            ActorRef<Topic.Command> fresh = start(terminated.topic());
            topics.put(terminated.topic(), fresh);
            waiting.forEach(fresh::tell);
        }
        return this;
    }
}
