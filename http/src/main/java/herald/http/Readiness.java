package herald.http;

import herald.hub.Connections;

/** Whether Herald takes connections: only once it is bound, and never again once shutdown has begun. */
public final class Readiness {
    private final Connections connections;
    private volatile boolean bound;

    Readiness(Connections connections) {
        this.connections = connections;
    }

    void bound() {
        bound = true;
    }

    boolean isReady() {
        return bound && !connections.draining();
    }

    String state() {
        return connections.draining() ? "shutting down" : bound ? "ready" : "starting";
    }
}
