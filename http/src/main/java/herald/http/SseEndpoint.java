package herald.http;

import herald.hub.Audit;
import herald.hub.Callbacks;
import herald.hub.Hub;
import herald.hub.auth.Principal;
import herald.hub.session.CloseConnection;
import herald.hub.session.Connections;
import herald.hub.session.Session;
import herald.protocol.CloseCode;
import herald.protocol.FrameCodec;
import herald.protocol.Position;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
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

    /** {@code lastEventId}: the Last-Event-ID of a reconnecting EventSource, or null; its positions resume the topics. */
    HttpResponse stream(List<String> topics, String lastEventId, Principal principal, Connections.Slot slot,
                        String remoteAddress) {
        Session.Identity identity = new Session.Identity(Sessions.newId(), remoteAddress, Session.Transport.SSE);
        Audit.accepted(identity.sessionId(), principal.user(), remoteAddress, "SSE");
        Source<ByteString, NotUsed> body = Source.<ByteString, NotUsed>fromMaterializer((materializer, attributes) -> {
            Sessions.Started started = Sessions.start(identity, principal, slot, hub, system);
            started.session().tell(new Session.StartSubscriptions(topics, EventIds.positions(topics, lastEventId)));
            AtomicReference<CloseConnection> closedBy = new AtomicReference<>();
            EventIds ids = new EventIds(topics, hub.codec());
            return Source.single(ByteString.fromString("retry: " + hub.settings().sse().retry().toMillis() + "\n\n"))
                    .concat(started.outbound().source().map(frame -> {
                        String text = frame.text();
                        return event(text, ids.after(text));
                    }))
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
                        done.whenCompleteAsync((ok, error) -> started.session().tell(ended(closedBy.get(), error)),
                                Callbacks.INLINE);
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

    /**
     * One SSE event; a line break inside {@code data} (the publisher's own JSON) continues it on a
     * new data line. {@code id}, when not null, is the stream's positions after this frame.
     */
    static ByteString event(String frame, String id) {
        StringBuilder event = new StringBuilder(frame.length() + 32 + (id == null ? 0 : id.length()))
                .append("event: ").append(FrameCodec.typeOf(frame)).append('\n');
        if (id != null) {
            event.append("id: ").append(id).append('\n');
        }
        for (String line : frame.split("\r\n|\r|\n", -1)) {
            event.append("data: ").append(line).append('\n');
        }
        return ByteString.fromString(event.append('\n').toString());
    }

    /**
     * The SSE event ids of one stream: the position (epoch:seq) of each of its topics, in the order
     * the stream names them, comma-separated, empty for a topic without a snapshot yet. An
     * EventSource sends the last one back as Last-Event-ID when it reconnects to the same URL, and
     * every topic resumes from its position. Names are left out to keep ids short (a 100-topic
     * stream's id is about 2.5 KB); an id of another stream resumes nothing, since its count or its
     * epochs do not match.
     */
    static final class EventIds {
        private final Map<String, Integer> index = new HashMap<>();
        private final Position[] positions;
        private final FrameCodec codec;

        EventIds(List<String> topics, FrameCodec codec) {
            this.codec = codec;
            this.positions = new Position[topics.size()];
            for (int i = 0; i < topics.size(); i++) {
                index.putIfAbsent(topics.get(i), i);
            }
        }

        /** The id to send with this frame: null for frames that move no position (errors, unsubscribed). */
        String after(String frame) {
            FrameCodec.FramePosition moved = codec.positionOf(frame);
            Integer i = moved == null ? null : index.get(moved.topic());
            if (i == null) {
                return null;
            }
            String epoch = moved.epoch() != null ? moved.epoch() : positions[i] == null ? null : positions[i].epoch();
            if (epoch == null) {
                return null;
            }
            positions[i] = new Position(epoch, moved.seq());
            StringBuilder id = new StringBuilder(positions.length * 24);
            for (int t = 0; t < positions.length; t++) {
                if (t > 0) {
                    id.append(',');
                }
                if (positions[t] != null) {
                    id.append(positions[t]);
                }
            }
            return id.toString();
        }

        /** The positions a Last-Event-ID names, by topic; empty when it is absent or not an id of this stream. */
        static Map<String, Position> positions(List<String> topics, String lastEventId) {
            if (lastEventId == null) {
                return Map.of();
            }
            String[] parts = lastEventId.split(",", -1);
            if (parts.length != topics.size()) {
                return Map.of();
            }
            Map<String, Position> since = new HashMap<>();
            for (int i = 0; i < parts.length; i++) {
                Position position = parts[i].isEmpty() ? null : Position.parse(parts[i]);
                if (position != null) {
                    since.putIfAbsent(topics.get(i), position);
                }
            }
            return since;
        }
    }
}
