package herald.hub.auth;

/** A token Herald does not accept; the message says why and is safe to show the client (it never quotes the token). */
public final class AuthenticationException extends Exception {
    public AuthenticationException(String message) {
        super(message, null, false, false);
    }
}
