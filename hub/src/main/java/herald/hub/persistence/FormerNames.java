package herald.hub.persistence;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads journals written when the journal's classes were in {@code herald.hub} (before the hub was
 * grouped by concept): their events and snapshots are named {@code herald.hub.TopicJournal$...}.
 * The documents themselves did not change. Registered for those names in {@code herald-pekko.conf}.
 */
public final class FormerNames extends JacksonMigration {
    static final String FORMER_PREFIX = "herald.hub.TopicJournal$";

    @Override
    public int currentVersion() {
        return 2;
    }

    @Override
    public String transformClassName(int fromVersion, String className) {
        return className.startsWith(FORMER_PREFIX)
                ? TopicJournal.class.getName() + "$" + className.substring(FORMER_PREFIX.length())
                : className;
    }

    @Override
    public JsonNode transform(int fromVersion, JsonNode json) {
        return json;
    }
}
