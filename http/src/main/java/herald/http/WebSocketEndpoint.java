package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Connections;
import herald.hub.Outbound;
import herald.hub.Session;
import herald.hub.Topics;
import herald.protocol.FrameCodec;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
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
 * {@link Outbound} and the streams between them and the socket.
 */
final class WebSocketEndpoint {
    private final HeraldSettings settings;
    private final Topics topics;
    private final Connections connections;
    private final FrameCodec codec;
    private final ActorSystem<?> system;
    private final WebSocketSettings pekkoSettings;
    private final LoggingAdapter log;

    WebSocketEndpoint(HeraldSettings settings, Topics topics, Connections connections, FrameCodec codec,
                      ActorSystem<?> system) {
        this.settings = settings;
        this.topics = topics;
        this.connections = connections;
        this.codec = codec;
        this.system = system;
        this.pekkoSettings = (WebSocketSettings) ServerSettings.create(system.classicSystem()).getWebsocketSettings();
        this.log = Logging.getLogger(system.classicSystem(), "herald.http.WebSocketFrames");
    }

    HttpResponse accept(WebSocketUpgrade upgrade, String user, String remoteAddress) {
        Session.Identity identity = new Session.Identity(newSessionId(), user, remoteAddress);
        CompletableFuture<ActorRef<Session.Command>> session = new CompletableFuture<>();
        return WebSocketFrames.handle(upgrade, connection(identity, session), pekkoSettings,
                settings.websocket(), log,
                ended -> session.thenAccept(ref ->
                        ref.tell(new Session.ConnectionEnded(ended.code(), ended.reason(), ended.byClient()))));
    }

    /** The session is started when the stream is, so an upgrade that never runs leaves nothing behind. */
    private Flow<Message, Message, NotUsed> connection(Session.Identity identity,
                                                        CompletableFuture<ActorRef<Session.Command>> started) {
        return Flow.<Message, Message, NotUsed>fromMaterializer((materializer, attributes) -> {
            HeraldSettings.WebSocket ws = settings.websocket();
            Outbound outbound = Outbound.create(ws.outboundFrames(), ws.outboundBytes(), materializer);
            ActorRef<Session.Command> session = system.systemActorOf(
                    Session.create(identity, settings, codec, topics, connections, outbound),
                    "session-" + identity.sessionId(), Props.empty());
            started.complete(session);
            return Flow.fromSinkAndSource(inbound(session, materializer),
                    outbound.source().map(WebSocketEndpoint::message));
        }).mapMaterializedValue(done -> NotUsed.getInstance());
    }

    /**
     * Client messages as text, one at a time, to the session. Binary messages never get here (the
     * frame layer closes with 1003) and no message is over max-frame, so reading one whole is bounded.
     */
    private Sink<Message, NotUsed> inbound(ActorRef<Session.Command> session, Materializer materializer) {
        long timeout = settings.websocket().idleTimeout().toMillis();
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

    /** Pekko's frame stack takes its own message class, which the Java factory does not create. */
    private static Message message(String text) {
        return org.apache.pekko.http.scaladsl.model.ws.TextMessage$.MODULE$.apply(text);
    }

    /** Not a secret, only unique: it names the connection in logs and in the welcome frame. */
    private static String newSessionId() {
        return Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
    }
}
