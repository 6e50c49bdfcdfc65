package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/** Bodies of the HTTP API's answers (PROTOCOL.md section 8). */
public sealed interface ApiBody {

    @JsonPropertyOrder({"code", "message"})
    record Error(ErrorCode code, String message) implements ApiBody {
    }

    record PublishResults(List<Result> results) implements ApiBody {
        @JsonPropertyOrder({"topic", "seq"})
        public record Result(String topic, long seq) {
        }
    }

    @JsonPropertyOrder({"topic", "epoch", "seq", "entries"})
    record TopicState(String topic, String epoch, long seq, List<Entry> entries) implements ApiBody {
    }
}
