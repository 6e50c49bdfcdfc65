package herald.hub.auth;

import herald.protocol.Hook;
import java.util.concurrent.CompletionStage;

/**
 * The application backend's say over connections, subscribes and publishes (PROTOCOL.md 9.5). The
 * HTTP module calls the backend; sessions and the door only see verdicts. A verdict always comes,
 * within the hook's deadline: a backend that fails, is slow or answers nonsense gives
 * {@link Unavailable}, never an allow.
 */
public interface Hooks {

    /** What the backend decided. */
    sealed interface Verdict {
    }

    /**
     * Let through. At connect {@code principal} is who the connection is; at publish {@code data},
     * when not null, is the JSON to publish instead of the client's.
     */
    record Allowed(Principal principal, String data) implements Verdict {
    }

    /** Refused by the backend; {@code status} (401 or 403) answers a refused upgrade. */
    record Refused(int status, String message) implements Verdict {
    }

    /** The backend could not decide: down, slow, 5xx, malformed, or too many calls under way. */
    record Unavailable(String message) implements Verdict {
    }

    /** A call's verdict as its caller takes it: a call that failed outright is one that could not decide. */
    static Verdict orUnavailable(Verdict verdict, Throwable failed) {
        return failed == null ? verdict : new Unavailable(String.valueOf(failed.getMessage()));
    }

    /** Whether connections are decided by the connect hook rather than by tokens. */
    boolean connects();

    CompletionStage<Verdict> connect(Hook.Connect call);

    /** Whether a subscribe to this topic is asked about. */
    boolean asksSubscribe(String topic);

    CompletionStage<Verdict> subscribe(Hook.Subscribe call);

    /** Whether a publish to this topic is asked about. */
    boolean asksPublish(String topic);

    CompletionStage<Verdict> publish(Hook.Publish call);

    /** No hooks: everything is decided by tokens and permissions, and no call is ever made. */
    Hooks NONE = new Hooks() {
        @Override
        public boolean connects() {
            return false;
        }

        @Override
        public boolean asksSubscribe(String topic) {
            return false;
        }

        @Override
        public boolean asksPublish(String topic) {
            return false;
        }

        @Override
        public CompletionStage<Verdict> connect(Hook.Connect call) {
            throw new IllegalStateException("no connect hook is configured");
        }

        @Override
        public CompletionStage<Verdict> subscribe(Hook.Subscribe call) {
            throw new IllegalStateException("no subscribe hook is configured");
        }

        @Override
        public CompletionStage<Verdict> publish(Hook.Publish call) {
            throw new IllegalStateException("no publish hook is configured");
        }
    };
}
