package herald.hub.session;

import herald.hub.Callbacks;
import herald.protocol.ApiBody;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * The operator API's calls (PROTOCOL.md 9.5), answered for the whole hub: each goes to the
 * {@link NodeConnections} of every node the receptionist knows (only this one outside a cluster),
 * and the answers are added up. A node that does not answer within the ask timeout is counted in
 * {@code unanswered} rather than failing the call: what the other nodes did stands.
 */
public final class Operator {
    private final ActorSystem<?> system;
    private final Duration timeout;

    public Operator(ActorSystem<?> system, Duration timeout) {
        this.system = system;
        this.timeout = timeout;
    }

    public CompletionStage<ApiBody.Connections> list(String user, String session, String topic, int limit) {
        return this.<NodeConnections.Listed>everyNode(replyTo -> new NodeConnections.ListConnections(user, session, topic, limit, replyTo))
                .thenApplyAsync(answers -> {
                    List<ApiBody.Connections.Connection> all = new ArrayList<>();
                    answers.answered().forEach(listed -> all.addAll(listed.connections()));
                    return new ApiBody.Connections(NodeConnections.oldestFirst(all, limit), answers.unanswered());
                }, Callbacks.INLINE);
    }

    public CompletionStage<ApiBody.Affected> disconnect(String user, String session) {
        return affected(this.<NodeConnections.Affected>everyNode(replyTo -> new NodeConnections.Disconnect(user, session, replyTo)));
    }

    public CompletionStage<ApiBody.Affected> unsubscribe(String user, String session, List<String> topics) {
        return affected(this.<NodeConnections.Affected>everyNode(replyTo -> new NodeConnections.Unsubscribe(user, session, topics, replyTo)));
    }

    private static CompletionStage<ApiBody.Affected> affected(CompletionStage<Answers<NodeConnections.Affected>> answers) {
        return answers.thenApplyAsync(a -> new ApiBody.Affected(
                a.answered().stream().mapToInt(NodeConnections.Affected::connections).sum(), a.unanswered()), Callbacks.INLINE);
    }

    /** The answers of the nodes that answered in time; {@code unanswered} null when every node did. */
    private record Answers<R>(List<R> answered, Integer unanswered) {
    }

    private <R> CompletionStage<Answers<R>> everyNode(Function<ActorRef<R>, NodeConnections.Command> command) {
        return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
                        replyTo -> Receptionist.find(NodeConnections.KEY, replyTo), timeout, system.scheduler())
                .thenComposeAsync(listing -> {
                    List<CompletableFuture<R>> asked = new ArrayList<>();
                    for (ActorRef<NodeConnections.Command> node : listing.getServiceInstances(NodeConnections.KEY)) {
                        asked.add(AskPattern.ask(node, command::apply, timeout, system.scheduler())
                                .toCompletableFuture()
                                .exceptionally(noAnswer -> null));
                    }
                    return CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new)).thenApply(all -> {
                        List<R> answered = new ArrayList<>();
                        asked.forEach(a -> {
                            if (a.join() != null) {
                                answered.add(a.join());
                            }
                        });
                        int missing = asked.size() - answered.size();
                        return new Answers<>(answered, missing == 0 ? null : missing);
                    });
                }, Callbacks.INLINE);
    }
}
