package herald.hub.session;

import herald.hub.Callbacks;
import herald.hub.ClusterMessage;
import herald.protocol.ApiBody;
import herald.protocol.CloseCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * One node's connections as the operator API sees them (PROTOCOL.md 9.5): lists them, closes them
 * with 4003, ends their subscriptions. Every node registers one with the receptionist, so that a
 * call to any node reaches the connections of all of them ({@link Operator}).
 */
public final class NodeConnections {

    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "herald-connections");

    public sealed interface Command extends ClusterMessage {
    }

    /** The connections of {@code user} and / or {@code session} (null: any) subscribed to {@code topic} (null: any), at most {@code limit}. */
    public record ListConnections(String user, String session, String topic, int limit, ActorRef<Listed> replyTo)
            implements Command {
    }

    public record Listed(List<ApiBody.Connections.Connection> connections) implements ClusterMessage {
    }

    /** Closes the matching connections with 4003. */
    public record Disconnect(String user, String session, ActorRef<Affected> replyTo) implements Command {
    }

    /** Ends the matching connections' subscriptions to {@code topics}; each is told with an unasked unsubscribed. */
    public record Unsubscribe(String user, String session, List<String> topics, ActorRef<Affected> replyTo)
            implements Command {
    }

    public record Affected(int connections) implements ClusterMessage {
    }

    /** Registers this node's with the receptionist, under {@link #KEY}. */
    public static Behavior<Command> create(Connections connections, Duration askTimeout) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
            Scheduler scheduler = context.getSystem().scheduler();
            return Behaviors.receive(Command.class)
                    .onMessage(ListConnections.class, list -> {
                        describe(connections.matching(list.user(), list.session()), list, askTimeout, scheduler);
                        return Behaviors.same();
                    })
                    .onMessage(Disconnect.class, disconnect -> {
                        List<ActorRef<Session.Command>> matching = connections.matching(disconnect.user(), disconnect.session());
                        matching.forEach(session -> session.tell(new Session.Close(CloseCode.DISCONNECTED, "disconnected by an operator")));
                        if (!matching.isEmpty()) {
                            context.getLog().info("Operator disconnect: user [{}] session [{}]: {} connections closed with 4003",
                                    disconnect.user(), disconnect.session(), matching.size());
                        }
                        disconnect.replyTo().tell(new Affected(matching.size()));
                        return Behaviors.same();
                    })
                    .onMessage(Unsubscribe.class, unsubscribe -> {
                        List<ActorRef<Session.Command>> matching = connections.matching(unsubscribe.user(), unsubscribe.session());
                        matching.forEach(session -> session.tell(new Session.EndSubscriptions(unsubscribe.topics())));
                        unsubscribe.replyTo().tell(new Affected(matching.size()));
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    /** At most {@code limit} of the connections, the oldest first (ties by session id): a node's answer and the hub's alike. */
    static List<ApiBody.Connections.Connection> oldestFirst(List<ApiBody.Connections.Connection> found, int limit) {
        found.sort(Comparator.comparingLong(ApiBody.Connections.Connection::since)
                .thenComparing(ApiBody.Connections.Connection::session));
        return found.size() > limit ? List.copyOf(found.subList(0, limit)) : found;
    }

    /**
     * Asks each matching session to describe itself, and answers with those subscribed to the
     * topic asked about, oldest first. A session that closes meanwhile is left out, not waited for.
     */
    private static void describe(List<ActorRef<Session.Command>> sessions, ListConnections list, Duration timeout,
                                 Scheduler scheduler) {
        List<CompletableFuture<Session.Described>> asked = new ArrayList<>(sessions.size());
        for (ActorRef<Session.Command> session : sessions) {
            asked.add(AskPattern.<Session.Command, Session.Described>ask(session, Session.Describe::new, timeout, scheduler)
                    .toCompletableFuture()
                    .exceptionally(gone -> null));
        }
        CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new)).thenRunAsync(() -> {
            List<ApiBody.Connections.Connection> found = new ArrayList<>();
            for (CompletableFuture<Session.Described> answer : asked) {
                Session.Described described = answer.join();
                if (described != null && (list.topic() == null || described.connection().topics().contains(list.topic()))) {
                    found.add(described.connection());
                }
            }
            list.replyTo().tell(new Listed(oldestFirst(found, list.limit())));
        }, Callbacks.INLINE);
    }
}
