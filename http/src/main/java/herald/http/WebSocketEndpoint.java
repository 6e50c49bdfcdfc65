package herald.http;

import herald.hub.Audit;
import herald.hub.Hub;
import herald.hub.auth.Principal;
import herald.hub.session.Connections;
import herald.hub.session.Session;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;

/**
 * Turns an accepted WebSocket upgrade into a connection: a {@link Session} actor, its bounded
 * outbound buffer and the streams between them and the socket.
 */
final class WebSocketEndpoint {
    private final Hub hub;
    private final ActorSystem<?> system;
    private final WebSocketFrames frames;

    WebSocketEndpoint(Hub hub, ActorSystem<?> system) {
        this.hub = hub;
        this.system = system;
        this.frames = new WebSocketFrames(
                (WebSocketSettings) ServerSettings.create(system.classicSystem()).getWebsocketSettings(),
                hub.settings().websocket(), Logging.getLogger(system.classicSystem(), "herald.http.WebSocketFrames"));
    }

    /** @param principal null when the client authenticates later with an auth frame */
    HttpResponse accept(WebSocketUpgrade upgrade, Principal principal, Connections.Slot slot, String remoteAddress) {
        Session.Identity identity = new Session.Identity(Sessions.newId(), remoteAddress, Session.Transport.WEBSOCKET);
        Audit.accepted(identity.sessionId(), principal == null ? null : principal.user(), remoteAddress, "WebSocket");
        CompletableFuture<ActorRef<Session.Command>> session = new CompletableFuture<>();
        return frames.handle(upgrade, materializer -> {
                    Sessions.Started connection = Sessions.start(identity, principal, slot, hub, system);
                    session.complete(connection.session());
                    return new WebSocketFrames.Wiring(connection.session(), connection.outbound());
                },
                ended -> session.thenAccept(ref ->
                        ref.tell(new Session.ConnectionEnded(ended.code(), ended.reason(), ended.byClient()))));
    }
}
