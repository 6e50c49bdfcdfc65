package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/** Bodies of the HTTP API's answers (PROTOCOL.md section 8). */
public sealed interface ApiBody {

    /** The answer of the health endpoints. */
    record Health(String status) implements ApiBody {
    }

    @JsonPropertyOrder({"code", "message"})
    record Error(ErrorCode code, String message) implements ApiBody {
    }

    record PublishResults(List<Result> results) implements ApiBody {
        @JsonPropertyOrder({"topic", "seq"})
        public record Result(String topic, long seq) {
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
    @JsonPropertyOrder({"topic", "epoch", "seq", "entries", "node"})
    record TopicState(String topic, String epoch, long seq, List<Entry> entries, @Omissible String node)
            implements ApiBody {
    }
}
