package herald.hub;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: who connected or was refused, who published what, and every refusal of a
 * connection's request, under the logger name {@code herald.audit} so that operators can route it
 * to its own appender. Tokens and keys are never logged.
 */
public final class Audit {
    private static final Logger log = LoggerFactory.getLogger("herald.audit");

    private Audit() {
    }

    public static void accepted(String sessionId, String user, String remote, String transport) {
        log.info("accepted session [{}] user [{}] remote [{}] via [{}]", sessionId, user, remote, transport);
    }

    public static void refused(String remote, String path, int status, String reason) {
        log.warn("refused remote [{}] path [{}] status [{}] reason [{}]", remote, path, status, reason);
    }

    public static void published(String remote, String keyId, int changes, String firstTopic) {
        log.info("published over http remote [{}] key [{}] changes [{}] first topic [{}]", remote, keyId, changes,
                firstTopic);
    }

    /** A backend hook that did not decide: its call is refused as unavailable. */
    public static void hookFailed(String hook, String reason) {
        log.warn("hook failed hook [{}] reason [{}]; refused as unavailable", hook, reason);
    }

    /** An operator's disconnect or unsubscribe, before it is carried out. */
    public static void operator(String remote, String path, String user, String session, java.util.List<String> topics) {
        log.warn("operator call remote [{}] path [{}] user [{}] session [{}] topics {}", remote, path, user, session,
                topics == null ? "[]" : topics);
    }

    /** A request of an open connection refused: failed auth, a forbidden topic, a rate-limit close. */
    public static void denied(String sessionId, String user, String remote, String reason) {
        log.warn("denied session [{}] user [{}] remote [{}] reason [{}]", sessionId, user, remote, reason);
    }
}
