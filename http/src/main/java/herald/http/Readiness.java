package herald.http;

import herald.hub.Connections;
import java.util.function.BooleanSupplier;

/**
 * Whether Herald takes connections: once it is bound (and, in a cluster, once this node is an Up
 * member), and never again once shutdown has begun.
 */
public final class Readiness {
    private final Connections connections;
    private final BooleanSupplier member;
    private volatile boolean bound;

    Readiness(Connections connections, BooleanSupplier member) {
        this.connections = connections;
        this.member = member;
    }

    void bound() {
        bound = true;
    }

    boolean isReady() {
        return bound && member.getAsBoolean() && !connections.draining();
    }

    String state() {
        if (connections.draining()) {
            return "shutting down";
        }
        if (!bound) {
            return "starting";
        }
        return member.getAsBoolean() ? "ready" : "joining the cluster";
    }
}
