package herald.protocol;

/**
 * Topic-name rules: 1 to 200 characters of {@code A-Z a-z 0-9 _ . : @ / -}. A presence topic
 * (PROTOCOL.md 9.4) is {@code $presence:} and an ordinary name; {@code $} is no name character, so
 * the two never collide.
 */
public final class TopicNames {
    public static final int MAX_NAME_LENGTH = 200;
    public static final String PRESENCE_PREFIX = "$presence:";

    private TopicNames() {
    }

    public static boolean isValid(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            if (!isNameChar(name.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code $presence:} followed by a valid ordinary name. */
    public static boolean isPresence(String name) {
        return name != null && name.startsWith(PRESENCE_PREFIX) && isValid(name.substring(PRESENCE_PREFIX.length()));
    }

    /** The presence topic of an ordinary topic. */
    public static String presenceOf(String topic) {
        return PRESENCE_PREFIX + topic;
    }

    /** The ordinary topic a presence topic lists the members of. */
    public static String underlying(String presenceTopic) {
        return presenceTopic.substring(PRESENCE_PREFIX.length());
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '.' || c == ':' || c == '@' || c == '/' || c == '-';
    }
}
