package herald.protocol;

/** Topic-name rules: 1 to 200 characters of {@code A-Z a-z 0-9 _ . : @ / -}. */
public final class TopicNames {
    public static final int MAX_NAME_LENGTH = 200;

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

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '.' || c == ':' || c == '@' || c == '/' || c == '-';
    }
}
