package herald.protocol;

import com.fasterxml.jackson.annotation.JsonValue;

/** The kinds of change a topic applies. */
public enum Op {
    SET,
    APPEND,
    DELETE,
    CLEAR;

    @JsonValue
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The op with this wire name, or null when there is none. */
    public static Op fromWire(String name) {
        return switch (name) {
            case "set" -> SET;
            case "append" -> APPEND;
            case "delete" -> DELETE;
            case "clear" -> CLEAR;
            default -> null;
        };
    }

    /** Whether a change of this kind names the entry it touches. */
    public boolean takesKey() {
        return this == SET || this == DELETE;
    }

    /** Whether a change of this kind carries data. */
    public boolean takesData() {
        return this == SET || this == APPEND;
    }
}
