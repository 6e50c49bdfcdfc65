package herald.hub;

import herald.protocol.CloseCode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The sessions that are open right now, so that shutdown can close each of them with 1001 and
 * wait until they are gone. Sessions add and remove themselves.
 */
public final class Connections {
    private record Open(ActorRef<Session.Command> session, Outbound outbound) {
    }

    private final ConcurrentHashMap<String, Open> open = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
    private volatile boolean draining;

    void add(String sessionId, ActorRef<Session.Command> session, Outbound outbound) {
        open.put(sessionId, new Open(session, outbound));
    }

    void remove(String sessionId) {
        open.remove(sessionId);
        if (draining && open.isEmpty()) {
            allClosed.complete(null);
        }
    }

    public int count() {
        return open.size();
    }

    /** Whether shutdown has begun: new connections are then refused. */
    public boolean draining() {
        return draining;
    }

    /** Records how full every connection's outbound buffer is now, for the depth distribution. */
    public void sampleOutboundDepths(HubMetrics metrics) {
        open.values().forEach(o -> metrics.sampleOutboundDepth(o.outbound().queuedFrames()));
    }

    /** Asks every open session to close with the given code; completes when all of them are gone. */
    public CompletionStage<Void> closeAll(CloseCode code, String reason) {
        draining = true;
        open.values().forEach(o -> o.session().tell(new Session.Close(code, reason)));
        if (open.isEmpty()) {
            allClosed.complete(null);
        }
        return allClosed;
    }
}
