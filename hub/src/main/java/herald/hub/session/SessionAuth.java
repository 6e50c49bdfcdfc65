package herald.hub.session;

import herald.config.HeraldSettings;
import herald.hub.auth.AuthenticationException;
import herald.hub.auth.Authenticator;
import herald.hub.auth.Principal;
import herald.protocol.ClientFrame;
import java.time.Duration;

/**
 * Who a session's client is: the principal settled at the upgrade or by a first {@code auth} frame,
 * its refreshes, and when its token runs out. It decides; the session answers and closes.
 */
final class SessionAuth {

    /** What became of an {@code auth} frame. */
    sealed interface Outcome {
    }

    record Accepted(Principal principal) implements Outcome {
    }

    record Failed(String reason) implements Outcome {
    }

    private final Authenticator authenticator;
    /** Whether the connect hook decides who clients are, rather than the authenticator. */
    private final boolean hooks;
    private final Connections connections;
    private final Connections.Slot slot;
    private final HeraldSettings settings;
    /** Null until the client has authenticated. */
    private Principal principal;

    SessionAuth(Principal principal, Authenticator authenticator, boolean hooks, Connections connections,
                Connections.Slot slot, HeraldSettings settings) {
        this.principal = principal;
        this.hooks = hooks;
        this.authenticator = authenticator;
        this.connections = connections;
        this.slot = slot;
        this.settings = settings;
    }

    /** Null until the client has authenticated. */
    Principal principal() {
        return principal;
    }

    String user() {
        return principal == null ? null : principal.user();
    }

    /**
     * Whether tokens are in use at all (verified here, or shown to the connect hook); with
     * authentication off and no connect hook an {@code auth} frame is a mistake.
     */
    boolean required() {
        return authenticator.required() || hooks;
    }

    /** The first auth frame of a connection that opened without a token; counts the user against its limit. */
    Outcome authenticate(ClientFrame.Auth auth) {
        Outcome verified = verify(auth);
        return verified instanceof Accepted accepted ? admit(accepted.principal()) : verified;
    }

    /** Who the first auth frame says the client is (its token verified here, or by the connect hook). */
    Outcome admit(Principal verified) {
        if (!connections.authenticated(slot, verified.user())) {
            return new Failed("too many connections for this user (" + settings.limits().maxConnectionsPerUser() + ")");
        }
        principal = verified;
        return new Accepted(verified);
    }

    /** A new token on an authenticated connection: the same user, a new expiry and new permissions. */
    Outcome refresh(ClientFrame.Auth auth) {
        Outcome verified = verify(auth);
        return verified instanceof Accepted accepted ? replace(accepted.principal()) : verified;
    }

    /** Who a refreshed token says the client is: it must be the same user. */
    Outcome replace(Principal verified) {
        if (!verified.user().equals(principal.user())) {
            return new Failed("a refreshed token must be for the same user");
        }
        principal = verified;
        return new Accepted(verified);
    }

    private Outcome verify(ClientFrame.Auth auth) {
        try {
            return new Accepted(authenticator.verify(auth.token()));
        } catch (AuthenticationException e) {
            return new Failed(e.getMessage());
        }
    }

    /**
     * How long until the token counts as expired, with the clock skew that verification allows, so
     * that a token just accepted is not closed at once; null when nothing expires.
     */
    Duration untilExpiry(long nowMillis) {
        if (principal == null || principal.expiresAt() <= 0) {
            return null;
        }
        long millis = principal.expiresAt() + settings.auth().jwt().clockSkew().toMillis() - nowMillis;
        return Duration.ofMillis(Math.max(0, millis));
    }
}
