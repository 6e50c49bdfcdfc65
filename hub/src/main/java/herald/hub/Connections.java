package herald.hub;

import herald.config.HeraldSettings;
import herald.protocol.CloseCode;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The connections open right now: counted against the connection limits (in all, per address, per
 * user) from the upgrade on, and known by session so that shutdown can close each with 1001 and
 * wait until they are gone. Sessions add and remove themselves.
 */
public final class Connections {
    private record Open(ActorRef<Session.Command> session, Outbound outbound, String address) {
    }

    /** Why a new connection is refused: the HTTP status (503 or 429) and a message for the client. */
    public record Refusal(int status, String reason) {
    }

    private final HeraldSettings.Limits limits;
    private final ConcurrentHashMap<String, Open> open = new ConcurrentHashMap<>();
    /** Reserved or open connections by remote address and by user; changed under this object's lock. */
    private final Map<String, Integer> perAddress = new HashMap<>();
    private final Map<String, Integer> perUser = new HashMap<>();
    private final Map<String, String> userOfSession = new ConcurrentHashMap<>();
    private int reserved;
    private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
    private volatile boolean draining;

    public Connections(HeraldSettings.Limits limits) {
        this.limits = limits;
    }

    /**
     * Takes a place for a new connection from {@code address} (and {@code user}, when known at the
     * upgrade), or says why there is none. A place taken must become a session, which gives it back
     * when it stops.
     */
    public synchronized Refusal reserve(String address, String user) {
        if (reserved >= limits.maxConnections()) {
            return new Refusal(503, "the server holds the most connections allowed (" + limits.maxConnections() + ")");
        }
        if (perAddress.getOrDefault(address, 0) >= limits.maxConnectionsPerAddress()) {
            return new Refusal(429, "too many connections from this address (" + limits.maxConnectionsPerAddress() + ")");
        }
        if (user != null && perUser.getOrDefault(user, 0) >= limits.maxConnectionsPerUser()) {
            return new Refusal(429, "too many connections for this user (" + limits.maxConnectionsPerUser() + ")");
        }
        reserved++;
        perAddress.merge(address, 1, Integer::sum);
        if (user != null) {
            perUser.merge(user, 1, Integer::sum);
        }
        return null;
    }

    /** Counts a user who authenticated after the upgrade (an auth frame); false when over the per-user limit. */
    synchronized boolean authenticated(String sessionId, String user) {
        if (perUser.getOrDefault(user, 0) >= limits.maxConnectionsPerUser()) {
            return false;
        }
        perUser.merge(user, 1, Integer::sum);
        userOfSession.put(sessionId, user);
        return true;
    }

    void add(String sessionId, ActorRef<Session.Command> session, Outbound outbound, String address, String user) {
        open.put(sessionId, new Open(session, outbound, address));
        if (user != null) {
            userOfSession.put(sessionId, user);
        }
    }

    void remove(String sessionId) {
        Open gone = open.remove(sessionId);
        if (gone != null) {
            release(gone.address(), userOfSession.remove(sessionId));
        }
        if (draining && open.isEmpty()) {
            allClosed.complete(null);
        }
    }

    private synchronized void release(String address, String user) {
        reserved--;
        perAddress.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
        if (user != null) {
            perUser.computeIfPresent(user, (u, n) -> n == 1 ? null : n - 1);
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
