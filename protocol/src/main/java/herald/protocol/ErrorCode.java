package herald.protocol;

import com.fasterxml.jackson.annotation.JsonValue;

/** The `code` of an `error` frame and of an HTTP API error body. */
public enum ErrorCode {
    BAD_REQUEST,
    UNKNOWN_TYPE,
    INVALID_TOPIC,
    FORBIDDEN,
    UNAUTHENTICATED,
    AUTH_FAILED,
    RATE_LIMITED,
    TOO_MANY_TOPICS,
    PAYLOAD_TOO_LARGE,
    NOT_FOUND,
    INTERNAL,
    /** A conditional change whose {@code ifVersion} is not the key's current seq (9.3). */
    CONFLICT,
    /** The hub cannot take the change now (a durable topic's storage is down); try again later. */
    UNAVAILABLE;

    @JsonValue
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
