package herald.hub.session;

import herald.config.HeraldSettings;
import herald.hub.HubMetrics;
import herald.protocol.CloseCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The connections open right now: counted against the connection limits (in all, per address, per
 * user) from the upgrade on, and known by session so that shutdown can close each with 1001 and
 * wait until they are gone.
 *
 * <p>A place is a {@link Slot}, taken at the door and claimed by the connection's session when the
 * connection starts; the session gives it back when it stops. A connection can die between the two
 * (a client that resets before the 101): whoever took the slot abandons it after a deadline, and an
 * abandoned slot that no session claimed is given back then.
 */
public final class Connections {
    private record Open(ActorRef<Session.Command> session, Outbound outbound, Slot slot) {
    }

    /** What the door gets for a new connection: a place, or the reason there is none. */
    public sealed interface Admission permits Slot, Refusal {
    }

    /** Why a new connection is refused: the HTTP status (503 or 429) and a message for the client. */
    public record Refusal(int status, String reason) implements Admission {
    }

    private static final int RESERVED = 0;
    private static final int CLAIMED = 1;
    private static final int RELEASED = 2;

    /** One connection's place, counted from the door until its session stops. */
    public final class Slot implements Admission {
        private final String address;
        /** Null until known; changed under the lock of the {@link Connections}, read without it by operator calls. */
        private volatile String user;
        private final AtomicInteger state = new AtomicInteger(RESERVED);

        private Slot(String address, String user) {
            this.address = address;
            this.user = user;
        }

        /** Gives the place back unless a session has claimed it: for a connection that never started one. */
        public void abandon() {
            if (state.compareAndSet(RESERVED, RELEASED)) {
                release(this);
            }
        }

        private boolean claim() {
            return state.compareAndSet(RESERVED, CLAIMED);
        }

        private void releaseClaimed() {
            if (state.compareAndSet(CLAIMED, RELEASED)) {
                release(this);
            }
        }
    }

    private final HeraldSettings.Limits limits;
    private final ConcurrentHashMap<String, Open> open = new ConcurrentHashMap<>();
    /** Places taken, in all, by remote address and by user; changed under this object's lock. */
    private final Map<String, Integer> perAddress = new HashMap<>();
    private final Map<String, Integer> perUser = new HashMap<>();
    private int taken;
    private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
    private volatile boolean draining;

    public Connections(HeraldSettings.Limits limits) {
        this.limits = limits;
    }

    /** Takes a place for a new connection from {@code address} (and {@code user}, when known at the upgrade). */
    public synchronized Admission reserve(String address, String user) {
        if (taken >= limits.maxConnections()) {
            return new Refusal(503, "the server holds the most connections allowed (" + limits.maxConnections() + ")");
        }
        if (perAddress.getOrDefault(address, 0) >= limits.maxConnectionsPerAddress()) {
            return new Refusal(429, "too many connections from this address (" + limits.maxConnectionsPerAddress() + ")");
        }
        if (user != null && perUser.getOrDefault(user, 0) >= limits.maxConnectionsPerUser()) {
            return new Refusal(429, "too many connections for this user (" + limits.maxConnectionsPerUser() + ")");
        }
        taken++;
        perAddress.merge(address, 1, Integer::sum);
        if (user != null) {
            perUser.merge(user, 1, Integer::sum);
        }
        return new Slot(address, user);
    }

    /** Counts a user who authenticated after the upgrade (an auth frame); false when over the per-user limit. */
    synchronized boolean authenticated(Slot slot, String user) {
        if (perUser.getOrDefault(user, 0) >= limits.maxConnectionsPerUser()) {
            return false;
        }
        perUser.merge(user, 1, Integer::sum);
        slot.user = user;
        return true;
    }

    /** A session starts with the slot it was given; false when the slot was abandoned before (a very late start). */
    boolean add(String sessionId, ActorRef<Session.Command> session, Outbound outbound, Slot slot) {
        if (!slot.claim()) {
            return false;
        }
        open.put(sessionId, new Open(session, outbound, slot));
        return true;
    }

    void remove(String sessionId) {
        Open gone = open.remove(sessionId);
        if (gone != null) {
            gone.slot().releaseClaimed();
        }
        if (draining && open.isEmpty()) {
            allClosed.complete(null);
        }
    }

    private synchronized void release(Slot slot) {
        taken--;
        perAddress.computeIfPresent(slot.address, (a, n) -> n == 1 ? null : n - 1);
        if (slot.user != null) {
            perUser.computeIfPresent(slot.user, (u, n) -> n == 1 ? null : n - 1);
        }
    }

    public int count() {
        return open.size();
    }

    /** Places taken: open connections and those admitted but not started yet. */
    public synchronized int slots() {
        return taken;
    }

    /** Whether shutdown has begun: new connections are then refused. */
    public boolean draining() {
        return draining;
    }

    /**
     * The sessions open now, those of {@code user} or the one {@code session} when given (null:
     * every one), in the order they opened.
     */
    List<ActorRef<Session.Command>> matching(String user, String session) {
        if (session != null) {
            Open one = open.get(session);
            return one == null || (user != null && !user.equals(one.slot().user)) ? List.of() : List.of(one.session());
        }
        List<ActorRef<Session.Command>> found = new ArrayList<>();
        open.values().forEach(o -> {
            if (user == null || user.equals(o.slot().user)) {
                found.add(o.session());
            }
        });
        return found;
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
