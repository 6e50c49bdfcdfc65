package herald.http;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: who connected or was refused, and who published what, under the logger name
 * {@code herald.audit} so that operators can route it to its own appender.
 */
final class Audit {
    private static final Logger log = LoggerFactory.getLogger("herald.audit");

    private Audit() {
    }

    static void accepted(String sessionId, String user, String remote, String transport) {
        log.info("accepted session [{}] user [{}] remote [{}] via [{}]", sessionId, user, remote, transport);
    }

    static void refused(String remote, String path, int status, String reason) {
        log.warn("refused remote [{}] path [{}] status [{}] reason [{}]", remote, path, status, reason);
    }

    static void published(String remote, int changes, String firstTopic) {
        log.info("published over http remote [{}] changes [{}] first topic [{}]", remote, changes, firstTopic);
    }
}
