package herald.http;

import herald.hub.Audit;
import herald.hub.CloseConnection;
import herald.hub.Connections;
import herald.hub.Hub;
import herald.hub.Principal;
import herald.hub.Session;
import herald.protocol.CloseCode;
import herald.protocol.FrameCodec;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.BackpressureTimeoutException;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * {@code GET /api/sse}: the same snapshots and events as the WebSocket, as Server-Sent Events, for
 * clients that cannot open a WebSocket. The connection is a {@link Session} with the same bounded
 * outbound buffer, so a reader that stops reading is dropped, never buffered without bound.
 */
final class SseEndpoint {
    private static final ByteString HEARTBEAT = ByteString.fromString(":\n\n");

    private final Hub hub;
    private final ActorSystem<?> system;

    SseEndpoint(Hub hub, ActorSystem<?> system) {
        this.hub = hub;
        this.system = system;
    }

    HttpResponse stream(List<String> topics, Principal principal, Connections.Slot slot, String remoteAddress) {
        Session.Identity identity = new Session.Identity(Sessions.newId(), remoteAddress, Session.Transport.SSE);
        Audit.accepted(identity.sessionId(), principal.user(), remoteAddress, "SSE");
        Source<ByteString, NotUsed> body = Source.<ByteString, NotUsed>fromMaterializer((materializer, attributes) -> {
            Sessions.Started started = Sessions.start(identity, principal, slot, hub, system);
            started.session().tell(new Session.StartSubscriptions(topics));
            AtomicReference<CloseConnection> closedBy = new AtomicReference<>();
            return Source.single(ByteString.fromString("retry: " + hub.settings().sse().retry().toMillis() + "\n\n"))
                    .concat(started.outbound().source().map(frame -> event(frame.text())))
                    // A close ends the stream cleanly after a comment saying why, instead of breaking it.
                    .recover(new PFBuilder<Throwable, ByteString>()
                            .match(CloseConnection.class, close -> {
                                closedBy.set(close);
                                return ByteString.fromString(": closed " + close.code().code() + " " + close.reason() + "\n\n");
                            })
                            .build())
                    .keepAlive(hub.settings().sse().heartbeat(), () -> HEARTBEAT)
                    // SSE has no close handshake: a reader that takes nothing for close-grace is dropped,
                    // so a stalled client holds no more than its socket buffers, as on the WebSocket.
                    .backpressureTimeout(hub.settings().websocket().closeGrace())
                    .watchTermination((notUsed, done) -> {
                        done.whenComplete((ok, error) -> started.session().tell(ended(closedBy.get(), error)));
                        return notUsed;
                    });
        }).mapMaterializedValue(done -> NotUsed.getInstance());
        return HttpResponse.create().withEntity(HttpEntities.createChunked(MediaTypes.TEXT_EVENT_STREAM.toContentType(), body));
    }

    private static Session.ConnectionEnded ended(CloseConnection close, Throwable error) {
        if (close != null) {
            return new Session.ConnectionEnded(close.code().code(), close.reason(), false);
        }
        if (error instanceof BackpressureTimeoutException) {
            return new Session.ConnectionEnded(CloseCode.SLOW_CONSUMER.code(), "stopped reading for close-grace", false);
        }
        return new Session.ConnectionEnded(CloseCode.NORMAL.code(), "client went away", true);
    }

    /** One SSE event; a line break inside {@code data} (the publisher's own JSON) continues it on a new data line. */
    static ByteString event(String frame) {
        StringBuilder event = new StringBuilder(frame.length() + 32)
                .append("event: ").append(FrameCodec.typeOf(frame)).append('\n');
        for (String line : frame.split("\r\n|\r|\n", -1)) {
            event.append("data: ").append(line).append('\n');
        }
        return ByteString.fromString(event.append('\n').toString());
    }
}
