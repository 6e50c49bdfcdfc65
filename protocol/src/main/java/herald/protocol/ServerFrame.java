package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;

/** A frame Herald sends; {@link FrameCodec#encode} turns it into the text of one WebSocket message. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ServerFrame.Welcome.class, name = "welcome"),
        @JsonSubTypes.Type(value = ServerFrame.Snapshot.class, name = "snapshot"),
        @JsonSubTypes.Type(value = ServerFrame.Event.class, name = "event"),
        @JsonSubTypes.Type(value = ServerFrame.Refreshed.class, name = "refreshed"),
        @JsonSubTypes.Type(value = ServerFrame.Unsubscribed.class, name = "unsubscribed"),
        @JsonSubTypes.Type(value = ServerFrame.Published.class, name = "published"),
        @JsonSubTypes.Type(value = ServerFrame.Pong.class, name = "pong"),
        @JsonSubTypes.Type(value = ServerFrame.Error.class, name = "error")
})
public sealed interface ServerFrame {

    /**
     * The first frame of every authenticated connection. {@code user} is written even when null;
     * {@code features} lists what of protocol 1.1 the server offers (PROTOCOL.md section 9).
     */
    @JsonPropertyOrder({"session", "user", "heartbeat", "protocol", "features"})
    record Welcome(
            String session,
            @Nullable String user,
            long heartbeat,
            int protocol,
            List<String> features) implements ServerFrame {
    }

    /**
     * A topic's state; {@code id} is null when the hub sends it unasked. A delta snapshot (9.2) has
     * {@code since}, the position it starts from, and {@code deleted}, the keys removed after it;
     * its {@code entries} are only those changed after {@code since}.
     */
    @JsonPropertyOrder({"id", "topic", "epoch", "seq", "since", "entries", "deleted"})
    record Snapshot(@Omissible String id, String topic, String epoch, long seq, @Omissible Long since,
                    List<Entry> entries, @Omissible List<String> deleted) implements ServerFrame {
        public Snapshot(String id, String topic, String epoch, long seq, List<Entry> entries) {
            this(id, topic, epoch, seq, null, entries, null);
        }
    }

    /** One change of a topic; {@code data} is raw JSON text, null for delete and clear. */
    @JsonPropertyOrder({"topic", "seq", "op", "key", "event", "data"})
    record Event(
            String topic,
            long seq,
            Op op,
            @Omissible String key,
            @Omissible String event,
            @Omissible @JsonSerialize(using = RawJson.class) String data)
            implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "expires"})
    record Refreshed(@Omissible String id, long expires) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topics"})
    record Unsubscribed(@Omissible String id, List<String> topics) implements ServerFrame {
    }

    /** {@code duplicate} is true (else absent) when the change's {@code idem} had been applied already, at {@code seq}. */
    @JsonPropertyOrder({"id", "topic", "seq", "duplicate"})
    record Published(@Omissible String id, String topic, long seq, @Omissible Boolean duplicate) implements ServerFrame {
        public Published(String id, String topic, long seq) {
            this(id, topic, seq, null);
        }
    }

    @JsonPropertyOrder({"id", "time"})
    record Pong(@Omissible String id, long time) implements ServerFrame {
    }

    /** A {@code conflict} also names the {@code key} and its current {@code version} (its seq, 0 when absent). */
    @JsonPropertyOrder({"id", "topic", "key", "code", "message", "version"})
    record Error(@Omissible String id, @Omissible String topic, @Omissible String key, ErrorCode code, String message,
                 @Omissible Long version) implements ServerFrame {
        public Error(String id, String topic, ErrorCode code, String message) {
            this(id, topic, null, code, message, null);
        }
    }
}
