package herald.hub.session;

import herald.hub.HubMetrics;
import herald.protocol.CloseCode;
import java.time.Duration;
import org.slf4j.Logger;

/**
 * How a session's connection ends. A slow consumer's backlog is the problem, so it is discarded and
 * the 4008 goes out at once; any other close goes after what is queued, so that the error explaining
 * it arrives first. When the connection is over, one line says how it ended, at a level that tells an
 * operator whose fault it was.
 */
final class SessionClose {
    private final Session.Identity identity;
    private final Outbound outbound;
    private final HubMetrics metrics;
    private final long openedAt = System.nanoTime();
    private boolean closing;
    private boolean recorded;

    SessionClose(Session.Identity identity, Outbound outbound, HubMetrics metrics) {
        this.identity = identity;
        this.outbound = outbound;
        this.metrics = metrics;
    }

    /** Once closing, the session sends nothing more and takes no new work. */
    boolean closing() {
        return closing;
    }

    /** Has the close frame sent; false when the connection was closing already. */
    boolean close(CloseCode code, String reason) {
        if (closing) {
            return false;
        }
        closing = true;
        if (code == CloseCode.SLOW_CONSUMER) {
            outbound.close(code, reason);
        } else {
            outbound.closeAfterQueued(code, reason);
        }
        return true;
    }

    /** The client sent its close: answer with the normal close once what is queued has been written. */
    boolean clientClosed() {
        if (closing) {
            return false;
        }
        closing = true;
        outbound.complete();
        return true;
    }

    /** The buffer refused a frame because the connection's stream has ended. */
    void streamEnded() {
        closing = true;
    }

    /** Whether the connection's end was recorded; a session that stops without it has failed. */
    boolean recorded() {
        return recorded;
    }

    /** The one line, and the meters, for a connection that is over. */
    void record(Session.ConnectionEnded ended, String user, long rejectedFrames, Logger log) {
        recorded = true;
        closing = true;
        long nanosOpen = System.nanoTime() - openedAt;
        metrics.connectionClosed(ended.code(), nanosOpen);
        String line = "Connection closed: session [{}] user [{}] remote [{}] duration [{}ms] code [{}] reason [{}] by [{}]"
                + (rejectedFrames > 0 ? " rejected frames [" + rejectedFrames + "]" : "");
        Object[] args = {identity.sessionId(), user, identity.remoteAddress(), Duration.ofNanos(nanosOpen).toMillis(),
                ended.code(), ended.reason(), ended.byClient() ? "client" : "server"};
        if (ended.code() == CloseCode.INTERNAL_ERROR.code()) {
            log.error(line, args);
        } else if (isClientFault(ended.code()) && !ended.byClient()) {
            log.warn(line, args);
        } else {
            log.info(line, args);
        }
    }

    /** Closes that mean the client did something wrong or could not keep up: worth a warning. */
    private static boolean isClientFault(int code) {
        return code == CloseCode.UNSUPPORTED_DATA.code() || code == CloseCode.MESSAGE_TOO_BIG.code()
                || code == CloseCode.SLOW_CONSUMER.code();
    }
}
