package herald.config;

/** A configuration value Herald cannot start with; the message names the key and what it expects. */
public final class SettingsException extends RuntimeException {
    public SettingsException(String message) {
        super(message);
    }

    public SettingsException(String message, Throwable cause) {
        super(message, cause);
    }
}
