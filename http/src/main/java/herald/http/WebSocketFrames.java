package herald.http;

import herald.config.HeraldSettings;
import herald.hub.CloseConnection;
import herald.protocol.CloseCode;
import herald.protocol.FrameCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.FrameLogger$;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.impl.engine.ws.WebSocket$;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.GraphDSL;
import org.apache.pekko.stream.javadsl.MergePreferred;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * Everything in Herald that reaches into Pekko HTTP internals, kept in this one class.
 *
 * <p>Why it exists: Pekko HTTP's public WebSocket API can only close with 1000 (handler completed)
 * or 1011 (handler failed); PROTOCOL.md needs real close codes (4008, 4000, 1003, 1009, ...) that a
 * browser reads as {@code CloseEvent.code}. The request's upgrade attribute is, at run time, an
 * {@link UpgradeToWebSocketLowLevel} whose {@code handleFrames} takes a frame-level flow. This class
 * rebuilds Pekko's own server stack from its internal layers (masking, frame logging, frame handling,
 * keep-alive, message API), so unmasking, ping/pong, fragments, UTF-8 checks and the close handshake
 * all stay Pekko's. Outbound frames, UTF-8 already, are merged in below the message API, so a frame
 * shared by many subscribers is never encoded per subscriber. It inserts two small layers of its own:
 * <ul>
 *   <li>below frame handling, a tap that notes the time of every inbound frame (pongs included) for
 *       the idle timeout;</li>
 *   <li>between keep-alive and the message API, {@link CloseCodes}: it closes with 1009 for a message
 *       over {@code max-frame} (counting parts, never buffering the message), 1003 for binary data,
 *       4000 when idle, turns a handler failing with {@link CloseConnection} into a close frame with
 *       that code, drops the TCP connection when a close handshake outlasts {@code close-grace}, and
 *       reports how the connection ended.</li>
 * </ul>
 *
 * <p>Checked against Pekko HTTP 1.3.0 (the internal names used here are unchanged since 1.0.0). If an
 * upgrade breaks them, the upgrade attribute is not the low-level type and {@link #handle} falls back
 * to the public API, where every close is 1000 or 1011; the wire tests for 4008, 1003, 1009 and 4000
 * then fail loudly.
 */
final class WebSocketFrames {

    /** How a connection ended: the close code on the wire and who sent the first close frame. */
    record Ended(int code, String reason, boolean byClient) {
    }

    /** No close frame at all: the TCP connection just went away (RFC 6455's 1006). */
    private static final int ABNORMAL_CLOSURE = 1006;
    /** A peer close frame without a code (RFC 6455's 1005). */
    private static final int NO_STATUS = 1005;

    private WebSocketFrames() {
    }

    /** What a connection needs once it is materialized: where client messages go, and its outbound frames. */
    record Wiring(Sink<Message, NotUsed> inbound, Source<ByteString, NotUsed> frames) {
    }

    /**
     * Answers an upgrade request with Herald's frame stack. {@code start} is called once, when the
     * connection's stream is materialized, and wires the connection; its frames are UTF-8 already
     * (encoded once per change, shared by all subscribers). {@code onEnded} is called once when the
     * connection is over, however it ended.
     */
    static HttpResponse handle(WebSocketUpgrade upgrade, Function<Materializer, Wiring> start,
                               WebSocketSettings pekkoSettings, HeraldSettings.WebSocket settings,
                               LoggingAdapter log, Consumer<Ended> onEnded) {
        if (!(upgrade instanceof UpgradeToWebSocketLowLevel lowLevel)) {
            log.warning("Pekko HTTP's WebSocket internals changed; close codes fall back to 1000/1011");
            Flow<Message, Message, NotUsed> handler = Flow.<Message, Message, NotUsed>fromMaterializer((mat, attrs) -> {
                Wiring wiring = start.apply(mat);
                return Flow.fromSinkAndSource(wiring.inbound(),
                        wiring.frames().map(bytes -> (Message) TextMessage.create(bytes.utf8String())));
            }).mapMaterializedValue(done -> NotUsed.getInstance());
            return upgrade.handleMessagesWith(handler.watchTermination((mat, done) -> {
                done.whenComplete((ok, error) -> onEnded.accept(new Ended(error == null ? 1000 : 1011, "", false)));
                return mat;
            }));
        }
        return coalescingWrites(lowLevel.handleFrames(stack(start, pekkoSettings, settings, log, onEnded), Option.empty()), log);
    }

    /** At most this much rendered data goes into one socket write. */
    private static final int MAX_WRITE_BYTES = 64 * 1024;

    /** A blueprint, so one serves every connection. */
    @SuppressWarnings("rawtypes")
    private static final org.apache.pekko.stream.scaladsl.Flow COALESCE = Flow.<ByteString>create()
            .batchWeighted(MAX_WRITE_BYTES, bytes -> (long) bytes.size(), bytes -> bytes, ByteString::concat)
            .asScala();

    /**
     * Lets a connection's rendered frames pile up into one socket write while the previous write is
     * still in flight. Pekko's TCP stage sends its connection actor one {@code Write} per element and
     * waits for the acknowledgement, so without this every frame costs two actor messages and a
     * system call; under load a busy connection now pays them once per batch, and an idle one still
     * writes each frame at once. A stalled client holds at most {@link #MAX_WRITE_BYTES} here on top
     * of its outbound queue's bound.
     *
     * <p>The byte-level flow of an upgraded connection travels in the response, in Pekko's internal
     * {@link UpgradeToOtherProtocolResponseHeader}; the response is rebuilt with that flow wrapped.
     */
    @SuppressWarnings("unchecked")
    private static HttpResponse coalescingWrites(HttpResponse response, LoggingAdapter log) {
        List<HttpHeader> headers = new ArrayList<>();
        boolean wrapped = false;
        for (HttpHeader header : response.getHeaders()) {
            if (header instanceof UpgradeToOtherProtocolResponseHeader upgrade) {
                header = new UpgradeToOtherProtocolResponseHeader(upgrade.handler().via(COALESCE));
                wrapped = true;
            }
            headers.add(header);
        }
        if (!wrapped) {
            log.warning("Pekko HTTP's upgrade internals changed; WebSocket frames are written one by one");
            return response;
        }
        return response.withHeaders(headers);
    }

    /**
     * The stack. Outbound frames do not pass Pekko's message API (which would encode each text
     * again for every subscriber): they are merged in below it as ready frames, ahead of what the
     * message API sends. The message API still sees a handler whose output is a control stream that
     * ends when the frames end, with their failure, so closes work as for any handler.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static org.apache.pekko.stream.scaladsl.Flow stack(
            Function<Materializer, Wiring> start, WebSocketSettings pekkoSettings,
            HeraldSettings.WebSocket settings, LoggingAdapter log, Consumer<Ended> onEnded) {
        WebSocket$ ws = WebSocket$.MODULE$;
        LastInbound lastInbound = new LastInbound();
        AtomicReference<Wiring> wired = new AtomicReference<>();
        Function<Materializer, Wiring> once = mat -> wired.updateAndGet(w -> w != null ? w : start.apply(mat));
        CompletableFuture<Boolean> framesDone = new CompletableFuture<>();

        Source<Object, NotUsed> frames = Source.<ByteString, NotUsed>fromMaterializer((mat, attrs) -> once.apply(mat).frames())
                .watchTermination((notUsed, done) -> {
                    done.whenComplete((ok, error) -> {
                        if (error == null) {
                            framesDone.complete(true);
                        } else {
                            framesDone.completeExceptionally(error);
                        }
                    });
                    return NotUsed.getInstance();
                })
                .map(bytes -> (Object) FrameEvent$.MODULE$.fullFrame(org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Text$.MODULE$, Option.empty(),
                        bytes, true, false, false, false))
                // How the frames ended (a close code) reaches the close layer through the control stream.
                .recoverWithRetries(1, Throwable.class, Source::empty);
        Flow<Message, Message, NotUsed> control = Flow.<Message, Message, NotUsed>fromMaterializer((mat, attrs) ->
                Flow.fromSinkAndSource(once.apply(mat).inbound(),
                        Source.completionStage(framesDone).flatMapConcat(ended -> Source.<Message>empty())))
                .mapMaterializedValue(done -> NotUsed.getInstance());

        WebSocketSettings withKeepAlive = settings.keepAlivePing() == null ? pekkoSettings
                : pekkoSettings.withPeriodicKeepAliveMaxIdle(finite(settings.keepAlivePing()));
        org.apache.pekko.stream.scaladsl.BidiFlow activityTap = org.apache.pekko.stream.javadsl.BidiFlow
                .fromFlows(Flow.create().map(frame -> {
                    lastInbound.nanos = System.nanoTime();
                    return frame;
                }), Flow.create())
                .asScala();
        org.apache.pekko.stream.scaladsl.BidiFlow layers = ((org.apache.pekko.stream.scaladsl.BidiFlow)
                ws.masking(true, pekkoSettings.randomFactory()))
                .atop(FrameLogger$.MODULE$.logFramesIfEnabled(pekkoSettings.logFrames()))
                .atop(activityTap)
                .atop(ws.frameHandling(true, finite(settings.closeGrace()), log))
                .atop(ws.periodicKeepAlive(withKeepAlive))
                .atop(org.apache.pekko.stream.scaladsl.BidiFlow.fromGraph(
                        new CloseCodes(settings, lastInbound, framesDone, onEnded)))
                // Pekko checks its close deadline on a tick of this interval, a timer per connection.
                // CloseCodes enforces close-grace itself, so Pekko's check is only a backstop and
                // ticks rarely: idle connections should cost no CPU.
                .atop(withFramesBelow(ws.messageAPI(true, finite(settings.closeGrace())), frames));
        return layers.join(control);
    }

    /** The message API with ready frames merged into its output, frames first when both are waiting. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static org.apache.pekko.stream.scaladsl.BidiFlow withFramesBelow(
            org.apache.pekko.stream.scaladsl.BidiFlow messageApi, Source<Object, NotUsed> frames) {
        return org.apache.pekko.stream.javadsl.BidiFlow.fromGraph(GraphDSL.create(builder -> {
            BidiShape api = (BidiShape) builder.add((org.apache.pekko.stream.Graph) messageApi);
            org.apache.pekko.stream.scaladsl.MergePreferred.MergePreferredShape<Object> merge = builder.add(MergePreferred.<Object>create(1));
            builder.from(builder.add(frames)).toInlet(merge.preferred());
            builder.from(api.out2()).toInlet(merge.in(0));
            return new BidiShape(api.in1(), api.out1(), api.in2(), merge.out());
        })).asScala();
    }

    private static FiniteDuration finite(Duration d) {
        return FiniteDuration.create(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Ends a connection whose close handshake outlasted close-grace; an expected outcome, so no stack trace. */
    private static final class CloseGraceExpired extends RuntimeException {
        CloseGraceExpired() {
            super("close handshake not finished within close-grace; dropping the TCP connection", null, false, false);
        }
    }

    /** When the last inbound frame arrived; written and read inside one connection's stream only. */
    private static final class LastInbound {
        long nanos = System.nanoTime();
    }

    /**
     * The close-code layer. Upward it sees {@code FrameHandler.Output} (message parts, the peer's
     * close); downward {@code FrameOutHandler.Input} (frames, the handler's completion or failure).
     */
    private static final class CloseCodes extends GraphStage<BidiShape<Object, Object, Object, Object>> {
        private final Inlet<Object> fromNetwork = Inlet.create("CloseCodes.fromNetwork");
        private final Outlet<Object> toHandler = Outlet.create("CloseCodes.toHandler");
        private final Inlet<Object> fromHandler = Inlet.create("CloseCodes.fromHandler");
        private final Outlet<Object> toNetwork = Outlet.create("CloseCodes.toNetwork");
        private final BidiShape<Object, Object, Object, Object> shape =
                BidiShape.of(fromNetwork, toHandler, fromHandler, toNetwork);

        private final HeraldSettings.WebSocket settings;
        private final LastInbound lastInbound;
        /**
         * How the outbound frames ended, heard beside the stream: in-band, that end reaches this stage
         * only when the socket takes more data, which a stalled client never lets happen, and
         * close-grace must start anyway.
         */
        private final CompletableFuture<Boolean> framesDone;
        private final Consumer<Ended> onEnded;

        CloseCodes(HeraldSettings.WebSocket settings, LastInbound lastInbound, CompletableFuture<Boolean> framesDone,
                   Consumer<Ended> onEnded) {
            this.settings = settings;
            this.lastInbound = lastInbound;
            this.framesDone = framesDone;
            this.onEnded = onEnded;
        }

        @Override
        public BidiShape<Object, Object, Object, Object> shape() {
            return shape;
        }

        @Override
        public GraphStageLogic createLogic(Attributes attributes) {
            return new TimerGraphStageLogic(shape) {
                private static final String IDLE_CHECK = "idle";
                private static final String CLOSE_GRACE = "grace";
                private long messageBytes;
                /** Set once Herald has decided to close: later inbound data is dropped unseen. */
                private boolean closingByServer;
                private boolean peerClosed;
                private Ended ended;

                {
                    setHandler(fromNetwork, new AbstractInHandler() {
                        @Override
                        public void onPush() {
                            onFromNetwork(grab(fromNetwork));
                        }
                    });
                    setHandler(toHandler, new AbstractOutHandler() {
                        @Override
                        public void onPull() {
                            pullIfNeeded(fromNetwork);
                        }
                    });
                    setHandler(fromHandler, new AbstractInHandler() {
                        @Override
                        public void onPush() {
                            emit(toNetwork, onFromHandler(grab(fromHandler)));
                        }
                    });
                    setHandler(toNetwork, new AbstractOutHandler() {
                        @Override
                        public void onPull() {
                            pullIfNeeded(fromHandler);
                        }
                    });
                }

                @Override
                public void preStart() {
                    // A quarter of the timeout: an idle connection is closed within 1.25 x idle-timeout,
                    // and thousands of quiet connections wake the server rarely.
                    Duration every = settings.idleTimeout().dividedBy(4);
                    scheduleWithFixedDelay(IDLE_CHECK, every, every);
                    AsyncCallback<Throwable> ended = createAsyncCallback(this::onFramesEnded);
                    framesDone.whenComplete((ok, error) -> ended.invoke(error));
                }

                /** The outbound frames ended, perhaps long before their end can pass a stalled socket. */
                private void onFramesEnded(Throwable error) {
                    if (peerClosed) {
                        return;
                    }
                    CloseConnection close = error == null ? null : findClose(error);
                    if (close != null) {
                        record(new Ended(close.code().code(), close.reason(), false));
                    } else {
                        record(new Ended(error == null ? CloseCode.NORMAL.code() : CloseCode.INTERNAL_ERROR.code(),
                                error == null ? "" : "internal error", false));
                    }
                    startCloseGrace();
                }

                private void pullIfNeeded(Inlet<Object> in) {
                    if (!hasBeenPulled(in) && !isClosed(in)) {
                        pull(in);
                    }
                }

                private void onFromNetwork(Object part) {
                    if (part instanceof FrameHandler.TextMessagePart text) {
                        if (closingByServer) {
                            pull(fromNetwork);
                            return;
                        }
                        messageBytes += FrameCodec.utf8Length(text.data());
                        if (messageBytes > settings.maxFrame()) {
                            closeByServer(CloseCode.MESSAGE_TOO_BIG.code(),
                                    "message over max-frame of " + settings.maxFrame() + " bytes");
                            pull(fromNetwork);
                            return;
                        }
                        if (text.last()) {
                            messageBytes = 0;
                        }
                        push(toHandler, part);
                    } else if (part instanceof FrameHandler.BinaryMessagePart) {
                        if (!closingByServer) {
                            closeByServer(CloseCode.UNSUPPORTED_DATA.code(), "binary frames are not accepted");
                        }
                        pull(fromNetwork);
                    } else if (part instanceof FrameHandler.PeerClosed closed) {
                        peerClosed = true;
                        int code = closed.code().isDefined() ? (Integer) closed.code().get() : NO_STATUS;
                        record(new Ended(code, closed.reason(), true));
                        push(toHandler, part);
                    } else if (closingByServer && part == FrameHandler.MessageEnd$.MODULE$) {
                        pull(fromNetwork);
                    } else {
                        push(toHandler, part);
                    }
                }

                private Object onFromHandler(Object event) {
                    if (event instanceof FrameHandler.UserHandlerErredOut erred) {
                        if (peerClosed) {
                            return FrameHandler.UserHandlerCompleted$.MODULE$;
                        }
                        CloseConnection close = findClose(erred.cause());
                        if (close != null) {
                            return startClose(close.code().code(), close.reason());
                        }
                        record(new Ended(CloseCode.INTERNAL_ERROR.code(), "internal error", false));
                        startCloseGrace();
                    } else if (event == FrameHandler.UserHandlerCompleted$.MODULE$ && !peerClosed) {
                        record(new Ended(CloseCode.NORMAL.code(), "", false));
                        startCloseGrace();
                    }
                    return event;
                }

                private void closeByServer(int code, String reason) {
                    emit(toNetwork, startClose(code, reason));
                }

                private Object startClose(int code, String reason) {
                    closingByServer = true;
                    record(new Ended(code, reason, false));
                    startCloseGrace();
                    return new FrameHandler.ActivelyCloseWithCode(Option.apply(code), clipReason(reason));
                }

                private void startCloseGrace() {
                    if (!isTimerActive(CLOSE_GRACE)) {
                        scheduleOnce(CLOSE_GRACE, settings.closeGrace());
                    }
                }

                @Override
                public void onTimer(Object key) {
                    if (key.equals(IDLE_CHECK)) {
                        long silent = System.nanoTime() - lastInbound.nanos;
                        if (!closingByServer && !peerClosed && silent > settings.idleTimeout().toNanos()) {
                            closeByServer(CloseCode.IDLE.code(),
                                    "idle: nothing received for " + settings.idleTimeout().toSeconds() + "s");
                        }
                    } else if (key.equals(CLOSE_GRACE)) {
                        // The client neither answered the close nor read it (its socket buffer is full):
                        // failing the stream makes Pekko abort the TCP connection instead of waiting.
                        failStage(new CloseGraceExpired());
                    }
                }

                private void record(Ended outcome) {
                    if (ended == null) {
                        ended = outcome;
                    }
                }

                @Override
                public void postStop() {
                    onEnded.accept(ended != null ? ended
                            : new Ended(ABNORMAL_CLOSURE, "connection dropped without a close frame", true));
                }
            };
        }

        /** A close frame's reason has room for 123 bytes of UTF-8. */
        private static String clipReason(String reason) {
            String clipped = reason;
            while (FrameCodec.utf8Length(clipped) > 123) {
                clipped = clipped.substring(0, clipped.length() - 1);
            }
            return clipped;
        }

        private static CloseConnection findClose(Throwable error) {
            for (Throwable t = error; t != null; t = t.getCause()) {
                if (t instanceof CloseConnection close) {
                    return Protocol.CloseCodes$.MODULE$.isValid(close.code().code()) ? close : null;
                }
            }
            return null;
        }
    }
}
