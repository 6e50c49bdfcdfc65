package herald.client;

/**
 * Herald refused something, or could not be reached: {@code code} is the protocol's error code
 * ({@code forbidden}, {@code conflict}, {@code unavailable}, ...) or one of the client's own
 * ({@code connection_lost}, {@code queue_full}, {@code client_closed}, {@code http}).
 */
public final class HeraldException extends RuntimeException {
    private final String code;

    public HeraldException(String code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
