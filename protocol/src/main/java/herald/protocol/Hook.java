package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;
import java.util.Map;

/**
 * What Herald asks the application's backend (PROTOCOL.md 9.5, hooks) and what the backend answers.
 * Each call is a POST with one of the {@link Call} bodies; the answer is a {@link Answer} with 2xx.
 * docs/hooks.md shows them with examples.
 */
public final class Hook {
    private Hook() {
    }

    /** A request body; {@code hook} names which hook is asked, so one URL can serve all three. */
    public sealed interface Call {
        String hook();
    }

    /**
     * May this connection open? {@code token}: what the client presented (upgrade header, query
     * parameter or auth frame), absent when nothing; {@code headers}: those the configuration forwards.
     */
    @JsonPropertyOrder({"hook", "remote", "transport", "headers", "token"})
    public record Connect(String hook, String remote, String transport, Map<String, String> headers,
                          @Omissible String token) implements Call {
        public Connect(String remote, String transport, Map<String, String> headers, String token) {
            this("connect", remote, transport, headers, token);
        }
    }

    /** May this connection subscribe to {@code topic}? */
    @JsonPropertyOrder({"hook", "session", "user", "remote", "topic"})
    public record Subscribe(String hook, String session, String user, String remote, String topic) implements Call {
        public Subscribe(String session, String user, String remote, String topic) {
            this("subscribe", session, user, remote, topic);
        }
    }

    /** May this connection make this change? The answer may replace its {@code data}. */
    @JsonPropertyOrder({"hook", "session", "user", "remote", "topic", "op", "key", "event", "data"})
    public record Publish(String hook, String session, String user, String remote, String topic, Op op,
                         @Omissible String key, @Omissible String event,
                         @Omissible @JsonSerialize(using = RawJson.class) String data) implements Call {
        public Publish(String session, String user, String remote, Change change) {
            this("publish", session, user, remote, change.topic(), change.op(), change.key(), change.event(), change.data());
        }
    }

    /**
     * The backend's answer. {@code allow} is required. A refusal may carry a {@code message} for the
     * client, and at connect a {@code status} (401 or 403) for the upgrade's answer. An allowed
     * connect carries the {@code user}, its {@code subscribe} and {@code publish} patterns, the
     * presence {@code info} (raw JSON) and when it {@code expires} (epoch ms; absent: never). An
     * allowed publish may carry {@code data} (raw JSON) to publish instead of the client's.
     */
    @JsonPropertyOrder({"allow", "message", "status", "user", "subscribe", "publish", "info", "expires", "data"})
    public record Answer(boolean allow, @Omissible String message, @Omissible int status, @Omissible String user,
                         @Omissible List<String> subscribe, @Omissible List<String> publish,
                         @Omissible @JsonSerialize(using = RawJson.class) String info, @Omissible long expires,
                         @Omissible @JsonSerialize(using = RawJson.class) String data) {
    }

    /**
     * A webhook's body: {@code event} is {@code topic.occupied} or {@code topic.vacated}; {@code id}
     * is the same on every attempt, so a receiver can tell a retry from a new notice; {@code time}
     * is when it happened (epoch ms).
     */
    @JsonPropertyOrder({"id", "event", "topic", "time"})
    public record Webhook(String id, String event, String topic, long time) {
    }
}
