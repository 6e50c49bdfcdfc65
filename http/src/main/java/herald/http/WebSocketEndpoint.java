package herald.http;

import herald.hub.Audit;
import herald.hub.Connections;
import herald.hub.Hub;
import herald.hub.OutboundFrame;
import herald.hub.Principal;
import herald.hub.Session;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * Turns an accepted WebSocket upgrade into a connection: a {@link Session} actor, its bounded
 * outbound buffer and the streams between them and the socket.
 */
final class WebSocketEndpoint {
    private final Hub hub;
    private final ActorSystem<?> system;
    private final WebSocketSettings pekkoSettings;
    private final LoggingAdapter log;

    WebSocketEndpoint(Hub hub, ActorSystem<?> system) {
        this.hub = hub;
        this.system = system;
        this.pekkoSettings = (WebSocketSettings) ServerSettings.create(system.classicSystem()).getWebsocketSettings();
        this.log = Logging.getLogger(system.classicSystem(), "herald.http.WebSocketFrames");
    }

    /** @param principal null when the client authenticates later with an auth frame */
    HttpResponse accept(WebSocketUpgrade upgrade, Principal principal, Connections.Slot slot, String remoteAddress) {
        Session.Identity identity = new Session.Identity(Sessions.newId(), remoteAddress, Session.Transport.WEBSOCKET);
        Audit.accepted(identity.sessionId(), principal == null ? null : principal.user(), remoteAddress, "WebSocket");
        CompletableFuture<ActorRef<Session.Command>> session = new CompletableFuture<>();
        return WebSocketFrames.handle(upgrade, materializer -> {
                    Sessions.Started connection = Sessions.start(identity, principal, slot, hub, system);
                    session.complete(connection.session());
                    return new WebSocketFrames.Wiring(inbound(connection.session(), materializer),
                            connection.outbound().source().map(OutboundFrame::utf8));
                }, pekkoSettings, hub.settings().websocket(), log,
                ended -> session.thenAccept(ref ->
                        ref.tell(new Session.ConnectionEnded(ended.code(), ended.reason(), ended.byClient()))));
    }

    /**
     * Client messages as text, one at a time, to the session. Binary messages never get here (the
     * frame layer closes with 1003) and no message is over max-frame, so reading one whole is bounded.
     */
    private Sink<Message, NotUsed> inbound(ActorRef<Session.Command> session, Materializer materializer) {
        long timeout = hub.settings().websocket().idleTimeout().toMillis();
        return Flow.<Message>create()
                .filter(Message::isText)
                .mapAsync(1, message -> strictText(message.asTextMessage(), timeout, materializer))
                .to(ActorSink.actorRefWithBackpressure(session,
                        (ActorRef<Session.Ack> ack, String text) -> new Session.Inbound(text, ack),
                        Session.InboundStarted::new,
                        Session.Ack.INSTANCE,
                        Session.InboundEnded.INSTANCE,
                        error -> Session.InboundEnded.INSTANCE));
    }

    private static CompletionStage<String> strictText(TextMessage message, long timeoutMillis,
                                                      Materializer materializer) {
        if (message.isStrict()) {
            return CompletableFuture.completedFuture(message.getStrictText());
        }
        return message.toStrict(timeoutMillis, materializer).thenApply(TextMessage::getStrictText);
    }
}
