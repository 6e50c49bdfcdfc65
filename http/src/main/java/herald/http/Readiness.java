package herald.http;

import herald.hub.session.Connections;
import java.util.function.BooleanSupplier;

/**
 * Whether Herald takes connections: once it is bound (and, in a cluster, once this node is an Up
 * member, and with durable topics, while their database answers), and never again once shutdown
 * has begun.
 */
public final class Readiness {
    private final Connections connections;
    private final BooleanSupplier member;
    private final BooleanSupplier storage;
    private volatile boolean bound;

    Readiness(Connections connections, BooleanSupplier member, BooleanSupplier storage) {
        this.connections = connections;
        this.member = member;
        this.storage = storage;
    }

    void bound() {
        bound = true;
    }

    boolean isReady() {
        return bound && member.getAsBoolean() && storage.getAsBoolean() && !connections.draining();
    }

    String state() {
        if (connections.draining()) {
            return "shutting down";
        }
        if (!bound) {
            return "starting";
        }
        if (!member.getAsBoolean()) {
            return "joining the cluster";
        }
        return storage.getAsBoolean() ? "ready" : "durable topics' database unreachable";
    }
}
