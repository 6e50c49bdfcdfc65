package herald.hub.persistence;

import herald.config.HeraldSettings;
import herald.config.HeraldSettings.TopicLimits;
import herald.hub.HubMetrics;
import herald.hub.topic.Occupancy;
import herald.hub.topic.Topic;
import herald.hub.topic.TopicOwner;
import herald.hub.topic.TopicStats;
import herald.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.PostStop;
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
 * most for the write before it. A write starts once the mailbox holds no more changes that came with
 * the first (never on a timer). Everything else goes straight to the journal.
 *
 * <p>Changes go to the journal only while it is ready. After a failed write or recovery (the
 * database is away) they are refused with {@code unavailable} at once, until the journal has
 * recovered again, rather than held where a publisher's timeout would leave it unsure whether its
 * change was applied.
 */
public final class DurableTopicOwner extends AbstractBehavior<TopicOwner.Command> {

    /** The most changes in one write; more wait for the next. */
    static final int MAX_BATCH = 1000;

    /**
     * The journal stops itself when nobody listens ({@code passivation.idle}); changes are not deferred
     * as {@link TopicOwner}'s are, since this owner writes what it holds before it stops.
     */
    public static Behavior<TopicOwner.Command> create(String name, TopicLimits limits, HeraldSettings.Durable durable,
                                                      HubMetrics metrics, TopicStats stats, TopicOwner.Passivation passivation,
                                                      Occupancy occupancy) {
        return Behaviors.setup(context -> new DurableTopicOwner(context, name, limits, durable, metrics, stats, passivation,
                occupancy));
    }

    private final String name;
    private final HubMetrics metrics;
    private final ActorRef<TopicOwner.Command> journal;
    /** Why the journal cannot be read, once it cannot: the topic is then refused until Herald restarts. */
    private String unreadable;
    private List<TopicOwner.Changes> waiting = new ArrayList<>();
    /** The changes in {@link #waiting}, at most {@code maxWaiting}. */
    private int waitingChanges;
    private final int maxWaiting;
    /** The batch the journal is writing, empty when none is. */
    private List<TopicOwner.Changes> writing = List.of();
    /** A {@link TopicOwner.WriteWaiting} is on its way to this owner. */
    private boolean writeAsked;
    /** Asked to stop: it does once the changes it holds are written, so that none is lost with it. */
    private boolean stopping;
    /** Starting: changes wait for the recovery. Failed: changes are refused until the journal is ready again. */
    private enum Journal { STARTING, READY, FAILED }

    private Journal journalState = Journal.STARTING;

    private DurableTopicOwner(ActorContext<TopicOwner.Command> context, String name, TopicLimits limits,
                              HeraldSettings.Durable durable, HubMetrics metrics, TopicStats stats,
                              TopicOwner.Passivation passivation, Occupancy occupancy) {
        super(context);
        this.name = name;
        this.metrics = metrics;
        this.maxWaiting = durable.maxWaiting();
        ActorRef<TopicOwner.Command> self = context.getSelf();
        journal = context.spawn(TopicJournal.create(name, limits, durable.snapshotEvery(), metrics, stats,
                () -> passivation.idle(self), self, occupancy), "journal");
        context.watch(journal);
        metrics.topicStarted();
    }

    @Override
    public Receive<TopicOwner.Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(TopicOwner.Changes.class, changes -> {
                    if (waitingChanges + changes.applies().size() > maxWaiting) {
                        changes.refuse(name, ErrorCode.UNAVAILABLE, "the durable topic " + name + " has " + waitingChanges
                                + " changes waiting for its journal (its database is slow); this one was not applied");
                        return this;
                    }
                    waiting.add(changes);
                    waitingChanges += changes.applies().size();
                    if (unreadable != null || journalState == Journal.FAILED) {
                        refuseWaiting();
                    } else if (writing.isEmpty() && !writeAsked) {
                        // The changes already in the mailbox (the rest of an HTTP batch, other
                        // publishers') join this one's write rather than wait for the next.
                        writeAsked = true;
                        getContext().getSelf().tell(TopicOwner.WriteWaiting.INSTANCE);
                    }
                    return this;
                })
                .onMessageEquals(TopicOwner.WriteWaiting.INSTANCE, () -> {
                    writeAsked = false;
                    writeNext();
                    return this;
                })
                .onMessageEquals(TopicOwner.JournalReady.INSTANCE, () -> {
                    journalState = Journal.READY;
                    writeNext();
                    return this;
                })
                .onMessageEquals(TopicOwner.JournalFailed.INSTANCE, () -> {
                    journalState = Journal.FAILED;
                    refuseWaiting();
                    stopWhenWritten();
                    return this;
                })
                .onMessage(TopicOwner.JournalUnreadable.class, failed -> {
                    unreadable(failed.reason());
                    getContext().stop(journal);
                    return this;
                })
                .onMessage(TopicOwner.Join.class, join -> {
                    if (unreadable != null) {
                        join.relay().tell(new Topic.OwnerUnavailable(ErrorCode.UNAVAILABLE, refusal()));
                    } else {
                        journal.tell(join);
                    }
                    return this;
                })
                .onMessageEquals(TopicOwner.BatchWritten.INSTANCE, () -> {
                    writing = List.of();
                    writeNext();
                    stopWhenWritten();
                    return this;
                })
                .onMessageEquals(TopicOwner.Stop.INSTANCE, () -> {
                    stopping = true;
                    if (unreadable != null) {
                        return Behaviors.stopped();
                    }
                    stopWhenWritten();
                    return this;
                })
                .onMessage(TopicOwner.Command.class, command -> {
                    if (unreadable == null) {
                        journal.tell(command);
                    }
                    return this;
                })
                .onSignal(ChildFailed.class, failed -> {
                    unreadable(TopicJournal.rootCause(failed.getCause()).toString());
                    return this;
                })
                .onSignal(Terminated.class, terminated -> unreadable == null || stopping ? Behaviors.stopped() : this)
                .onSignal(PostStop.class, stop -> {
                    metrics.topicStopped();
                    return this;
                })
                .build();
    }

    /**
     * The journal holds what this Herald cannot read (a corrupted or foreign row, events of another
     * version). Trying again would not mend it, so the topic is refused, said once in the log, and
     * other topics go on.
     */
    private void unreadable(String reason) {
        if (unreadable == null) {
            unreadable = reason;
            getContext().getLog().error("Durable topic [{}] cannot be read from its journal and is refused until an operator "
                    + "repairs it and Herald restarts: {}", name, reason);
        }
        // The batch being written is lost with the journal's stash: its publishers are told too.
        waiting.addAll(0, writing);
        writing = List.of();
        refuseWaiting();
    }

    private String refusal() {
        return unreadable != null
                ? "the durable topic " + name + " cannot be read from its journal; see the server's log"
                : "the durable topic " + name + " cannot be written now (its database is away); it was not applied";
    }

    private void refuseWaiting() {
        for (TopicOwner.Changes changes : waiting) {
            changes.refuse(name, ErrorCode.UNAVAILABLE, refusal());
        }
        waiting.clear();
        waitingChanges = 0;
    }

    private void stopWhenWritten() {
        if (stopping && writing.isEmpty() && waiting.isEmpty()) {
            journal.tell(TopicOwner.Stop.INSTANCE);
        }
    }

    private void writeNext() {
        if (!writing.isEmpty() || waiting.isEmpty() || journalState != Journal.READY) {
            return;
        }
        // Whole requests only, up to MAX_BATCH changes (one request may hold that many alone).
        int units = 0;
        int count = 0;
        while (units < waiting.size() && (units == 0 || count + waiting.get(units).applies().size() <= MAX_BATCH)) {
            count += waiting.get(units).applies().size();
            units++;
        }
        List<TopicOwner.Changes> batch = new ArrayList<>(waiting.subList(0, units));
        waiting.subList(0, units).clear();
        waitingChanges -= count;
        writing = batch;
        journal.tell(new TopicOwner.WriteBatch(batch));
    }
}
