package herald.hub.session;

import herald.protocol.CloseCode;

/**
 * Ends a connection's outbound stream with a WebSocket close code. The WebSocket layer turns it
 * into a real close frame instead of the 1011 Pekko would send for a failed stream.
 */
public final class CloseConnection extends RuntimeException {
    private final CloseCode code;

    public CloseConnection(CloseCode code, String reason) {
        super(reason, null, false, false);
        this.code = code;
    }

    public CloseCode code() {
        return code;
    }

    public String reason() {
        return getMessage();
    }
}
