package herald.protocol;

/** The WebSocket close codes Herald sends, as PROTOCOL.md section 6 lists them. */
public enum CloseCode {
    NORMAL(1000),
    GOING_AWAY(1001),
    UNSUPPORTED_DATA(1003),
    MESSAGE_TOO_BIG(1009),
    INTERNAL_ERROR(1011),
    IDLE(4000),
    UNAUTHENTICATED(4001),
    TOKEN_EXPIRED(4002),
    DISCONNECTED(4003),
    SLOW_CONSUMER(4008),
    RATE_LIMITED(4029);

    private final int code;

    CloseCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
