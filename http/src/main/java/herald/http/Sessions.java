package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Hub;
import herald.hub.auth.Principal;
import herald.hub.session.Connections;
import herald.hub.session.Outbound;
import herald.hub.session.Session;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;

/** Starts the session actor and the bounded outbound buffer of one connection, WebSocket or SSE. */
final class Sessions {
    private Sessions() {
    }

    record Started(ActorRef<Session.Command> session, Outbound outbound) {
    }

    /**
     * Called when the connection's stream is materialized, so a request that never runs leaves no
     * actor behind. Sessions are spawned synchronously as system actors because the stream needs the
     * reference at once.
     */
    static Started start(Session.Identity identity, Principal principal, Connections.Slot slot, Hub hub,
                         ActorSystem<?> system) {
        HeraldSettings.WebSocket ws = hub.settings().websocket();
        Outbound outbound = Outbound.create(ws.outboundFrames(), ws.outboundBytes(), hub.metrics());
        ActorRef<Session.Command> session = system.systemActorOf(Session.create(identity, principal, hub, outbound, slot),
                "session-" + identity.sessionId(), Props.empty());
        return new Started(session, outbound);
    }

    /** Not a secret, only unique: it names the connection in logs and in the welcome frame. */
    static String newId() {
        return Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
    }
}
