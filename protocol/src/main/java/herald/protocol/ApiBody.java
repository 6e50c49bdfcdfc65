package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/** Bodies of the HTTP API's answers (PROTOCOL.md section 8). */
public sealed interface ApiBody {

    /** The answer of the health endpoints. */
    record Health(String status) implements ApiBody {
    }

    /** A {@code conflict} (HTTP 409) also names the topic, the key and its current version. */
    @JsonPropertyOrder({"code", "message", "topic", "key", "version"})
    record Error(ErrorCode code, String message, @Omissible String topic, @Omissible String key,
                 @Omissible Long version) implements ApiBody {
        public Error(ErrorCode code, String message) {
            this(code, message, null, null, null);
        }
    }

    record PublishResults(List<Result> results) implements ApiBody {
        /**
         * An applied change: {@code topic}, {@code seq} and {@code duplicate} when its idem had been
         * applied already. A conflict: {@code topic}, {@code key}, {@code code} and {@code version}.
         */
        @JsonPropertyOrder({"topic", "seq", "duplicate", "key", "code", "version"})
        public record Result(String topic, @Omissible Long seq, @Omissible Boolean duplicate, @Omissible String key,
                             @Omissible ErrorCode code, @Omissible Long version) {
            public static Result applied(String topic, long seq, boolean duplicate) {
                return new Result(topic, seq, duplicate ? Boolean.TRUE : null, null, null, null);
            }

            public static Result conflict(String topic, String key, long version) {
                return new Result(topic, null, null, key, ErrorCode.CONFLICT, version);
            }
        }
    }

    /** One page of the running topics; {@code next} is where the following page starts, absent on the last. */
    @JsonPropertyOrder({"topics", "next"})
    record TopicList(List<TopicSummary> topics, @Omissible String next) implements ApiBody {
        @JsonPropertyOrder({"topic", "seq", "entries", "subscribers"})
        public record TopicSummary(String topic, long seq, int entries, int subscribers) {
        }
    }

    /** A topic's state; in a cluster, {@code node} is the address of the node that owns the topic. */
    /** In the delta form ({@code ?since=}), {@code since} and {@code deleted} as in a delta snapshot. */
    @JsonPropertyOrder({"topic", "epoch", "seq", "since", "entries", "deleted", "node"})
    record TopicState(String topic, String epoch, long seq, @Omissible Long since, List<Entry> entries,
                      @Omissible List<String> deleted, @Omissible String node) implements ApiBody {
    }

    /**
     * GET /api/connections (PROTOCOL.md 9.5): the connections that matched, on every node that
     * answered; {@code unanswered} counts the nodes that did not answer in time (absent when none).
     */
    @JsonPropertyOrder({"connections", "unanswered"})
    record Connections(List<Connection> connections, @Omissible Integer unanswered) implements ApiBody {
        /** One connection: {@code since} epoch ms; {@code queued} what waits in its outbound buffer. */
        @JsonPropertyOrder({"session", "user", "remote", "transport", "since", "topics", "queued"})
        public record Connection(String session, String user, String remote, String transport, long since,
                                 List<String> topics, Queued queued) {
        }

        public record Queued(int frames, long bytes) {
        }
    }

    /** POST /api/disconnect and /api/unsubscribe: how many connections it reached, on the nodes that answered. */
    @JsonPropertyOrder({"connections", "unanswered"})
    record Affected(int connections, @Omissible Integer unanswered) implements ApiBody {
    }
}
