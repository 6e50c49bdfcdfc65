package herald.hub;

import herald.protocol.Change;
import herald.protocol.Op;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The one owner of a topic in a cluster: a Cluster Sharding entity, so exactly one node runs it.
 * It numbers every change, keeps the entries, and sends each change once to every node's relay
 * ({@link Topic} in relay mode), which fans it out to that node's subscribers.
 *
 * <p>Its state lives in memory only. When its node is lost, sharding starts it on another node on
 * the next message, empty and with a new epoch; the relays rejoin it and push that state to their
 * subscribers as an unasked snapshot, so no client goes on believing the lost state.
 */
public final class TopicOwner extends AbstractBehavior<TopicOwner.Command> {

    public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "herald-topic");

    public sealed interface Command extends ClusterMessage {
    }

    /** A node's relay asks for the state and every change after it. */
    public record Join(ActorRef<Topic.Command> relay) implements Command {
    }

    public record Leave(ActorRef<Topic.Command> relay) implements Command {
    }

    /** One change to number and apply; {@code replyTo} gets {@link Topic.Published}. */
    public record Apply(Op op, String key, String event, String data, String requestId,
                        ActorRef<Topic.PublishOutcome> replyTo) implements Command {
    }

    public record GetState(ActorRef<State> replyTo) implements Command {
    }

    /** The answer to {@link GetState}; {@code node} is the owner's address. */
    public record State(String node, String epoch, long seq, List<TopicData.Item> entries) implements ClusterMessage {
    }

    private record RelayTerminated(ActorRef<Topic.Command> relay) implements Command {
    }

    /** Sharding's stop message when it hands the entity off or after passivation. */
    enum Stop implements Command {
        INSTANCE
    }

    static Behavior<Command> create(EntityContext<Command> entity, int maxEntries) {
        return Behaviors.setup(context -> new TopicOwner(context, entity, maxEntries));
    }

    private final String name;
    private final int maxEntries;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final TopicData data = new TopicData(Topic.newEpoch());
    private final Set<ActorRef<Topic.Command>> relays = new HashSet<>();
    private boolean passivating;

    private TopicOwner(ActorContext<Command> context, EntityContext<Command> entity, int maxEntries) {
        super(context);
        this.name = entity.getEntityId();
        this.shard = entity.getShard();
        this.maxEntries = maxEntries;
        context.getLog().debug("Topic [{}] owned here from now on, epoch [{}]", name, data.epoch);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Join.class, this::onJoin)
                .onMessage(Leave.class, leave -> forget(leave.relay()))
                .onMessage(RelayTerminated.class, terminated -> forget(terminated.relay()))
                .onMessage(Apply.class, this::onApply)
                .onMessage(GetState.class, this::onGetState)
                .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
                .build();
    }

    private Behavior<Command> onJoin(Join join) {
        if (relays.add(join.relay())) {
            getContext().watchWith(join.relay(), new RelayTerminated(join.relay()));
        }
        passivating = false;
        join.relay().tell(new Topic.Synced(getContext().getSelf(), data.epoch, data.seq(), data.items()));
        return this;
    }

    private Behavior<Command> onApply(Apply apply) {
        List<TopicData.Step> steps = data.apply(new Change(name, apply.op(), apply.key(), apply.event(), apply.data()), maxEntries);
        Topic.Replicated replicated = new Topic.Replicated(data.epoch, steps);
        relays.forEach(relay -> relay.tell(replicated));
        apply.replyTo().tell(new Topic.Published(name, steps.get(0).seq(), apply.requestId()));
        return passivateIfIdle();
    }

    private Behavior<Command> onGetState(GetState get) {
        get.replyTo().tell(new State(getContext().getSystem().address().toString(), data.epoch, data.seq(), data.items()));
        return passivateIfIdle();
    }

    private Behavior<Command> forget(ActorRef<Topic.Command> relay) {
        if (relays.remove(relay)) {
            getContext().unwatch(relay);
        }
        return passivateIfIdle();
    }

    /** Nothing to keep and nobody listening: stop, as a topic on one node does (the next start is a new epoch). */
    private Behavior<Command> passivateIfIdle() {
        if (relays.isEmpty() && data.isEmpty() && !passivating) {
            passivating = true;
            shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
        }
        return this;
    }
}
