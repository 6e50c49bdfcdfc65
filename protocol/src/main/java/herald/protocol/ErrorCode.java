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
    INTERNAL;

    @JsonValue
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
