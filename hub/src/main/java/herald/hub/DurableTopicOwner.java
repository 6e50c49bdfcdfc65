package herald.hub;

import herald.config.HeraldSettings.TopicLimits;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The owner of a durable topic: what relays and publishers talk to, the same commands as
 * {@link TopicOwner}. It batches changes in front of its {@link TopicJournal}: while one write is
 * under way, the changes that arrive wait here and go to the journal together as the next write, so
 * a hot topic costs one database round trip per batch rather than per change, and a change waits at
 * most for the write before it. Everything else goes straight to the journal.
 */
final class DurableTopicOwner extends AbstractBehavior<TopicOwner.Command> {

    /** Who lets the owner stop when nobody listens: the local registry of durable owners, or the shard in a cluster. */
    interface Passivation {
        void idle(ActorRef<TopicOwner.Command> owner);
    }

    /** The most changes in one write; more wait for the next. */
    static final int MAX_BATCH = 1000;

    static Behavior<TopicOwner.Command> create(String name, TopicLimits limits, int snapshotEvery, HubMetrics metrics,
                                               Passivation passivation) {
        return Behaviors.setup(context -> new DurableTopicOwner(context, name, limits, snapshotEvery, metrics, passivation));
    }

    private final ActorRef<TopicOwner.Command> journal;
    private List<TopicOwner.Apply> waiting = new ArrayList<>();
    private boolean writing;
    /** Asked to stop: it does once the changes it holds are written, so that none is lost with it. */
    private boolean stopping;

    private DurableTopicOwner(ActorContext<TopicOwner.Command> context, String name, TopicLimits limits, int snapshotEvery,
                              HubMetrics metrics, Passivation passivation) {
        super(context);
        ActorRef<TopicOwner.Command> self = context.getSelf();
        journal = context.spawn(TopicJournal.create(name, limits, snapshotEvery, metrics, () -> passivation.idle(self), self),
                "journal");
        context.watch(journal);
    }

    @Override
    public Receive<TopicOwner.Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(TopicOwner.Apply.class, apply -> {
                    waiting.add(apply);
                    writeNext();
                    return this;
                })
                .onMessageEquals(TopicOwner.BatchWritten.INSTANCE, () -> {
                    writing = false;
                    writeNext();
                    stopWhenWritten();
                    return this;
                })
                .onMessageEquals(TopicOwner.Stop.INSTANCE, () -> {
                    stopping = true;
                    stopWhenWritten();
                    return this;
                })
                .onMessage(TopicOwner.Command.class, command -> {
                    journal.tell(command);
                    return this;
                })
                .onSignal(Terminated.class, terminated -> Behaviors.stopped())
                .build();
    }

    private void stopWhenWritten() {
        if (stopping && !writing && waiting.isEmpty()) {
            journal.tell(TopicOwner.Stop.INSTANCE);
        }
    }

    private void writeNext() {
        if (writing || waiting.isEmpty()) {
            return;
        }
        List<TopicOwner.Apply> batch;
        if (waiting.size() <= MAX_BATCH) {
            batch = waiting;
            waiting = new ArrayList<>();
        } else {
            batch = new ArrayList<>(waiting.subList(0, MAX_BATCH));
            waiting.subList(0, MAX_BATCH).clear();
        }
        writing = true;
        journal.tell(new TopicOwner.WriteBatch(batch));
    }
}
