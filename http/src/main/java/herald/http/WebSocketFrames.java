package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Callbacks;
import herald.hub.session.CloseConnection;
import herald.hub.session.Outbound;
import herald.hub.session.Session;
import herald.protocol.CloseCode;
import herald.protocol.FrameCodec;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.FrameHandler$;
import org.apache.pekko.http.impl.engine.ws.FrameLogger$;
import org.apache.pekko.http.impl.engine.ws.FrameOutHandler$;
import org.apache.pekko.http.impl.engine.ws.Masking$;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Ping$;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Text$;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.impl.engine.ws.WebSocket$;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;
import scala.runtime.BoxedUnit;

/**
 * Everything in Herald that reaches into Pekko HTTP internals, kept in this one class.
 *
 * <p>Why it exists: Pekko HTTP's public WebSocket API can only close with 1000 (handler completed)
 * or 1011 (handler failed); PROTOCOL.md needs real close codes (4008, 4000, 1003, 1009, ...) that a
 * browser reads as {@code CloseEvent.code}. And its message API costs a connection dozens of stage
 * logics (a substream per message, routers, merges, a tick source), most of an idle connection's
 * heap. The request's upgrade attribute is, at run time, an {@link UpgradeToWebSocketLowLevel} whose
 * {@code handleFrames} takes a frame-level flow. This class keeps Pekko's lower layers (framing,
 * unmasking, frame logging, frame handling: ping/pong, fragments, UTF-8 checks and the close
 * handshake all stay Pekko's) and puts one stage of Herald's on top, {@link Connection}, which does
 * everything else a connection needs: messages to the session, frames (batched or not) from its
 * buffer, close codes, idle and keep-alive, close-grace. Frames are UTF-8 already, encoded once per
 * change for all subscribers. Below frame handling {@link InboundActivity} notes the time of every
 * inbound frame (pongs included) for the idle timeout. The whole stack is one blueprint for every
 * connection of a server; what is a connection's own reaches its stages as an attribute.
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

    private final HeraldSettings.WebSocket settings;
    private final LoggingAdapter log;
    /** Frames in, frames out: Pekko's lower layers and Herald's stages. */
    @SuppressWarnings("rawtypes")
    private final org.apache.pekko.stream.scaladsl.Flow frameStack;
    /** Bytes in, bytes out: Pekko's framing, {@link #frameStack} and write coalescing. */
    @SuppressWarnings("rawtypes")
    private final org.apache.pekko.stream.scaladsl.Flow byteStack;

    /**
     * Builds the connection stack once, for every connection of this server. Pekko HTTP keeps an
     * upgraded connection's flow for as long as the connection lives (its response renderer holds
     * it), so a flow composed per connection costs each connection its whole blueprint: about 4 KiB
     * of traversal nodes, modules and shapes. Per connection only an attribute, {@link
     * PerConnection}, is added; the stages find their connection's session through it.
     */
    @SuppressWarnings("unchecked")
    WebSocketFrames(WebSocketSettings pekkoSettings, HeraldSettings.WebSocket settings, LoggingAdapter log) {
        this.settings = settings;
        this.log = log;
        this.frameStack = stack(pekkoSettings, settings, log);
        this.byteStack = WebSocket$.MODULE$.framing().join(frameStack).via(COALESCE);
    }

    /** What a connection needs once it is materialized: its session, and the buffer its frames come from. */
    record Wiring(ActorRef<Session.Command> session, Outbound outbound) {
    }

    /** The subprotocol in which every server message is a JSON array of frames (PROTOCOL.md 9.1). */
    static final String BATCH = "herald.v1.batch";
    /** The plain subprotocol, one frame per message; selected when a client names it. */
    static final String PLAIN = "herald.v1";

    /**
     * Answers an upgrade request with Herald's frame stack. {@code start} is called once, when the
     * connection's stream is materialized, and starts the connection's session. {@code onEnded} is
     * called once when the connection is over, however it ended. A client that offers
     * {@value #BATCH} gets it, and its frames batched; one that offers {@value #PLAIN} gets that.
     */
    HttpResponse handle(WebSocketUpgrade upgrade, Function<Materializer, Wiring> start, Consumer<Ended> onEnded) {
        if (!(upgrade instanceof UpgradeToWebSocketLowLevel lowLevel)) {
            log.warning("Pekko HTTP's WebSocket internals changed; close codes fall back to 1000/1011");
            return publicApi(upgrade, start, onEnded);
        }
        String subprotocol = null;
        for (String offered : upgrade.getRequestedProtocols()) {
            if (offered.equals(BATCH) || (offered.equals(PLAIN) && subprotocol == null)) {
                subprotocol = offered;
            }
        }
        Attributes connection = Attributes.apply(new PerConnection(start, BATCH.equals(subprotocol), onEnded));
        return withSharedStack(lowLevel.handleFrames(frameStack.addAttributes(connection), Option.apply(subprotocol)),
                connection);
    }

    /** Pekko's public message API: every close is 1000 or 1011, and nothing is batched. */
    private HttpResponse publicApi(WebSocketUpgrade upgrade, Function<Materializer, Wiring> start, Consumer<Ended> onEnded) {
        Flow<Message, Message, NotUsed> handler = Flow.<Message, Message, NotUsed>fromMaterializer((mat, attrs) -> {
            Wiring wiring = start.apply(mat);
            long timeout = settings.idleTimeout().toMillis();
            Sink<Message, NotUsed> inbound = Flow.<Message>create()
                    .filter(Message::isText)
                    .mapAsync(1, message -> message.asTextMessage().toStrict(timeout, mat).thenApplyAsync(TextMessage::getStrictText, Callbacks.INLINE))
                    .to(ActorSink.actorRefWithBackpressure(wiring.session(),
                            (ActorRef<Session.Ack> ack, String text) -> new Session.Inbound(text, ack),
                            Session.InboundStarted::new, Session.Ack.INSTANCE, Session.InboundEnded.INSTANCE,
                            error -> Session.InboundEnded.INSTANCE));
            return Flow.fromSinkAndSource(inbound,
                    wiring.outbound().source().map(frame -> (Message) TextMessage.create(frame.text())));
        }).mapMaterializedValue(done -> NotUsed.getInstance());
        return upgrade.handleMessagesWith(handler.watchTermination((mat, done) -> {
            done.whenCompleteAsync((ok, error) -> onEnded.accept(new Ended(error == null ? 1000 : 1011, "", false)),
                    Callbacks.INLINE);
            return mat;
        }));
    }

    /** At most this much rendered data goes into one socket write. */
    private static final int MAX_WRITE_BYTES = 64 * 1024;

    /** A blueprint, so one serves every connection. */
    @SuppressWarnings("rawtypes")
    private static final org.apache.pekko.stream.scaladsl.Flow COALESCE = Flow.<ByteString>create()
            .batchWeighted(MAX_WRITE_BYTES, bytes -> (long) bytes.length(), bytes -> bytes, ByteString::concat)
            .asScala();

    /**
     * Puts the shared {@link #byteStack} with the connection's attribute where Pekko's handshake put
     * the flow it composed for this connection ({@code framing.join(frameStack)}, now garbage). The
     * byte-level flow of an upgraded connection travels in the response, in Pekko's internal {@link
     * UpgradeToOtherProtocolResponseHeader}.
     *
     * <p>The shared stack also ends in write coalescing: a connection's rendered frames pile up into
     * one socket write while the previous write is still in flight. Pekko's TCP stage sends its
     * connection actor one {@code Write} per element and waits for the acknowledgement, so without
     * it every frame costs two actor messages and a system call; under load a busy connection pays
     * them once per batch, and an idle one still writes each frame at once. A stalled client holds at
     * most {@link #MAX_WRITE_BYTES} there on top of its outbound queue's bound.
     */
    @SuppressWarnings("unchecked")
    private HttpResponse withSharedStack(HttpResponse response, Attributes connection) {
        List<HttpHeader> headers = new ArrayList<>();
        boolean replaced = false;
        for (HttpHeader header : response.getHeaders()) {
            if (header instanceof UpgradeToOtherProtocolResponseHeader) {
                header = new UpgradeToOtherProtocolResponseHeader(byteStack.addAttributes(connection));
                replaced = true;
            }
            headers.add(header);
        }
        if (!replaced) {
            log.warning("Pekko HTTP's upgrade internals changed; WebSocket frames are written one by one");
            return response;
        }
        return response.withHeaders(headers);
    }

    /**
     * The frame stack, one line of stages: Pekko's unmasking, {@link InboundActivity} noting when
     * anything arrived (pongs too, which frame handling consumes), Pekko's frame handling (control
     * frames, fragments, UTF-8, the close handshake), Herald's one {@link Connection} stage, and
     * Pekko's outbound frame handling. Pekko's own composition of the same stages as bidi-flows adds
     * an identity stage for the outbound masking a server does not do.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static org.apache.pekko.stream.scaladsl.Flow stack(WebSocketSettings pekkoSettings,
                                                                HeraldSettings.WebSocket settings, LoggingAdapter log) {
        org.apache.pekko.stream.scaladsl.Flow handling = org.apache.pekko.stream.scaladsl.Flow.fromGraph(new InboundActivity());
        handling = handling.via(FrameHandler$.MODULE$.create(true)).via(new Connection(settings))
                // Frame handling's own close deadline is checked only on ticks, which nothing sends:
                // Connection enforces close-grace itself.
                .via(FrameOutHandler$.MODULE$.create(true, finite(settings.closeGrace()), log));
        if (pekkoSettings.logFrames()) {
            handling = FrameLogger$.MODULE$.bidi().join(handling);
        }
        return Masking$.MODULE$.unmaskIf(true).via(handling);
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

    /**
     * What is a connection's own, handed to the shared stack as an attribute: every stage's
     * {@code createLogic} sees the attributes of the flows around it. Fields are written and read
     * inside the one connection's stream only.
     */
    private static final class PerConnection implements Attributes.Attribute {
        final Function<Materializer, Wiring> start;
        final boolean batched;
        final Consumer<Ended> onEnded;
        /** When the last inbound frame arrived, pongs included. */
        long lastInboundNanos = System.nanoTime();

        PerConnection(Function<Materializer, Wiring> start, boolean batched, Consumer<Ended> onEnded) {
            this.start = start;
            this.batched = batched;
            this.onEnded = onEnded;
        }

        static PerConnection of(Attributes attributes) {
            return attributes.getAttribute(PerConnection.class)
                    .orElseThrow(() -> new IllegalStateException("a connection stack materialized without its connection"));
        }
    }

    /** A stage of the shared stack: one blueprint, whose logic finds its connection in its attributes. */
    private abstract static class ConnectionStage extends GraphStage<FlowShape<Object, Object>> {
        final Inlet<Object> in;
        final Outlet<Object> out;
        private final FlowShape<Object, Object> shape;

        ConnectionStage(String name) {
            in = Inlet.create(name + ".in");
            out = Outlet.create(name + ".out");
            shape = FlowShape.of(in, out);
        }

        @Override
        public FlowShape<Object, Object> shape() {
            return shape;
        }

        @Override
        public GraphStageLogic createLogic(Attributes attributes) {
            return createLogic(PerConnection.of(attributes));
        }

        abstract GraphStageLogic createLogic(PerConnection connection);
    }

    /** Notes the time of every inbound frame, below frame handling so that pongs count too. */
    private static final class InboundActivity extends ConnectionStage {
        InboundActivity() {
            super("InboundActivity");
        }

        @Override
        GraphStageLogic createLogic(PerConnection connection) {
            return new GraphStageLogic(shape()) {
                {
                    setHandler(in, new AbstractInHandler() {
                        @Override
                        public void onPush() {
                            connection.lastInboundNanos = System.nanoTime();
                            push(out, grab(in));
                        }
                    });
                    setHandler(out, new AbstractOutHandler() {
                        @Override
                        public void onPull() {
                            pull(in);
                        }
                    });
                }
            };
        }
    }

    /**
     * All of Herald's own per-connection work, in one stage above Pekko's frame handling. Upward it
     * sees {@code FrameHandler.Output} (message parts, the peer's close, answers to pings); downward
     * it emits {@code FrameOutHandler.Input} (frames, and how the handler ends). It
     * <ul>
     *   <li>assembles text messages, counting their UTF-8 bytes as parts arrive and closing with 1009
     *       past {@code max-frame} without ever holding more, and with 1003 for binary data;</li>
     *   <li>hands each message to the session and reads the next only after the session's {@link
     *       Session.Ack}, so a flood waits in the socket, not in memory;</li>
     *   <li>drains the connection's {@link Outbound} whenever the socket can take more: frame by
     *       frame, or in the batch subprotocol everything queued up to {@code batch.max-bytes} as
     *       one JSON array, after {@code batch.linger} if set;</li>
     *   <li>closes with 4000 after {@code idle-timeout} of silence, pings when asked to keep proxies
     *       awake, turns the buffer's ending into a close frame with its code (at once for 4008,
     *       after what is queued otherwise), and drops the TCP connection when a close handshake
     *       outlasts {@code close-grace};</li>
     *   <li>reports how the connection ended.</li>
     * </ul>
     * Pekko's own message API (substreams per message, a merge, a tick source, an actor sink) is not
     * used: one stage keeps a connection's memory and wake-ups down.
     */
    private static final class Connection extends ConnectionStage {
        private static final String IDLE_CHECK = "idle";
        private static final String CLOSE_GRACE = "grace";
        private static final String KEEP_ALIVE = "keep-alive";
        private static final String LINGER = "linger";
        private static final Object PING = new FrameHandler.DirectAnswer(FrameEvent$.MODULE$.fullFrame(
                Protocol$Opcode$Ping$.MODULE$, Option.empty(), ByteString.emptyByteString(), true, false, false, false));

        private final HeraldSettings.WebSocket settings;

        Connection(HeraldSettings.WebSocket settings) {
            super("Connection");
            this.settings = settings;
        }

        @Override
        GraphStageLogic createLogic(PerConnection connection) {
            return new TimerGraphStageLogic(shape()) {
                private ActorRef<Session.Command> session;
                private Outbound outbound;
                private ActorRef<Session.Ack> ack;
                /** Control events for frame handling (pongs, closes), sent before any data frame. */
                private final ArrayDeque<Object> control = new ArrayDeque<>(2);
                private StringBuilder message;
                private long messageBytes;
                /** Set once Herald has decided to close: later inbound data is dropped unseen. */
                private boolean closingByServer;
                private boolean peerClosed;
                private boolean inboundEnded;
                /** Set once the handler's end went down: nothing more is sent. */
                private boolean handlerEnded;
                /** The next batch has waited out batch.linger (the LINGER timer) and goes. */
                private boolean lingered;
                private long lastOutboundNanos = System.nanoTime();
                private Ended ended;

                {
                    setHandler(in, new AbstractInHandler() {
                        @Override
                        public void onPush() {
                            onFromNetwork(grab(in));
                        }

                        @Override
                        public void onUpstreamFinish() {
                            endInbound();
                            // Without the peer's close frame the socket just went away: nothing can be
                            // sent any more. After it, the handshake ends when the buffer has drained.
                            if (!peerClosed || handlerEnded) {
                                completeStage();
                            }
                        }

                        @Override
                        public void onUpstreamFailure(Throwable cause) {
                            endInbound();
                            failStage(cause);
                        }
                    });
                    setHandler(out, new AbstractOutHandler() {
                        @Override
                        public void onPull() {
                            sendNext();
                        }
                    });
                }

                @Override
                public void preStart() {
                    Wiring wiring = connection.start.apply(materializer());
                    session = wiring.session();
                    outbound = wiring.outbound();
                    ack = Adapter.toTyped(getStageActor(message -> {
                        onAck();
                        return BoxedUnit.UNIT;
                    }).ref());
                    AsyncCallback<NotUsed> woken = createAsyncCallback(ignored -> onOutboundReady());
                    if (!outbound.attach(() -> woken.invoke(NotUsed.getInstance()))) {
                        failStage(new IllegalStateException("a connection's outbound frames can be read only once"));
                        return;
                    }
                    // One timer per connection, re-armed for when the connection would next be idle or
                    // quiet: a busy connection is woken once per timeout, not on a fixed beat.
                    scheduleOnce(IDLE_CHECK, settings.idleTimeout());
                    if (settings.keepAlivePing() != null) {
                        scheduleOnce(KEEP_ALIVE, settings.keepAlivePing());
                    }
                    pull(in);
                    // A close that came before the stream ran found no one to wake.
                    onOutboundReady();
                }

                private void onFromNetwork(Object part) {
                    if (part instanceof FrameHandler.TextMessagePart text) {
                        onText(text);
                    } else if (part instanceof FrameHandler.BinaryMessagePart) {
                        if (!closingByServer) {
                            closeByServer(CloseCode.UNSUPPORTED_DATA, "binary frames are not accepted");
                        }
                        pull(in);
                    } else if (part instanceof FrameHandler.PeerClosed closed) {
                        peerClosed = true;
                        int code = closed.code().isDefined() ? (Integer) closed.code().get() : NO_STATUS;
                        record(new Ended(code, closed.reason(), true));
                        sendControl(part);
                        endInbound();
                        pull(in);
                    } else if (part instanceof FrameHandler.ActivelyCloseWithCode close) {
                        // Frame handling found a protocol error (invalid UTF-8, say) and closes itself.
                        closingByServer = true;
                        int code = close.code().isDefined() ? (Integer) close.code().get() : CloseCode.NORMAL.code();
                        record(new Ended(code, close.reason(), false));
                        startCloseGrace();
                        sendControl(part);
                        endInbound();
                        pull(in);
                    } else if (part instanceof FrameHandler.DirectAnswer) {
                        sendControl(part);
                        pull(in);
                    } else {
                        pull(in);
                    }
                }

                private void onText(FrameHandler.TextMessagePart text) {
                    if (closingByServer || inboundEnded) {
                        pull(in);
                        return;
                    }
                    messageBytes += FrameCodec.utf8Length(text.data());
                    if (messageBytes > settings.maxFrame()) {
                        closeByServer(CloseCode.MESSAGE_TOO_BIG, "message over max-frame of " + settings.maxFrame() + " bytes");
                        pull(in);
                        return;
                    }
                    if (!text.last()) {
                        (message == null ? message = new StringBuilder() : message).append(text.data());
                        pull(in);
                        return;
                    }
                    String whole = message == null ? text.data() : message.append(text.data()).toString();
                    message = null;
                    messageBytes = 0;
                    session.tell(new Session.Inbound(whole, ack));
                }

                /** The session is ready for the next message. */
                private void onAck() {
                    if (!isClosed(in) && !hasBeenPulled(in)) {
                        pull(in);
                    }
                }

                /** Tells the session once that nothing more comes from the client. */
                private void endInbound() {
                    if (!inboundEnded) {
                        inboundEnded = true;
                        session.tell(Session.InboundEnded.INSTANCE);
                    }
                }

                private void sendControl(Object event) {
                    control.add(event);
                    if (isAvailable(out)) {
                        sendNext();
                    }
                }

                /** The buffer has frames or an ending: send them if the socket can take more. */
                private void onOutboundReady() {
                    CloseConnection now = outbound.closeNow();
                    if (now != null && !handlerEnded && !closingByServer) {
                        // A slow consumer: its 4008 waits for no frame, and close-grace starts now,
                        // even while its socket takes nothing.
                        closingByServer = true;
                        record(new Ended(now.code().code(), now.reason(), false));
                        startCloseGrace();
                    }
                    if (isAvailable(out)) {
                        sendNext();
                    }
                }

                /** Sends one thing downstream: a control event, the buffer's next frame or batch, or its end. */
                private void sendNext() {
                    if (!control.isEmpty()) {
                        push(out, control.poll());
                        return;
                    }
                    if (handlerEnded) {
                        return;
                    }
                    CloseConnection now = outbound.closeNow();
                    if (now != null) {
                        endHandler(now.code().code(), now.reason());
                        return;
                    }
                    if (closingByServer && !peerClosed) {
                        // Frame handling is closing already (a protocol error it found): nothing more goes out.
                        handlerEnded = true;
                        return;
                    }
                    if (isTimerActive(LINGER)) {
                        return;
                    }
                    Outbound.Ending how = outbound.ending();
                    int first = outbound.peekBytes();
                    if (first >= 0) {
                        if (connection.batched && how == null && settings.batchLinger() != null && !lingered) {
                            scheduleOnce(LINGER, settings.batchLinger());
                            return;
                        }
                        lingered = false;
                        push(out, dataFrame(connection.batched ? batch() : outbound.poll().utf8()));
                        lastOutboundNanos = System.nanoTime();
                    } else if (how != null) {
                        if (how.close() == null) {
                            endHandler(CloseCode.NORMAL.code(), "");
                        } else {
                            endHandler(how.close().code().code(), how.close().reason());
                        }
                    } else if (outbound.awaitFrames()) {
                        sendNext();
                    }
                }

                /**
                 * Everything queued up to batch.max-bytes (a larger frame goes alone) as one JSON array,
                 * written into one array sized first: concatenating ByteStrings would build a tree of
                 * parts for every message, walked again by frame rendering and the socket write.
                 */
                private ByteString batch() {
                    List<ByteString> frames = new ArrayList<>(4);
                    ByteString first = outbound.poll().utf8();
                    frames.add(first);
                    int size = first.length() + 2;
                    for (int next = outbound.peekBytes(); next >= 0 && size + next + 1 <= settings.batchMaxBytes();
                         next = outbound.peekBytes()) {
                        ByteString frame = outbound.poll().utf8();
                        frames.add(frame);
                        size += frame.length() + 1;
                    }
                    ByteBuffer array = ByteBuffer.allocate(size);
                    array.put((byte) '[');
                    for (int i = 0; i < frames.size(); i++) {
                        if (i > 0) {
                            array.put((byte) ',');
                        }
                        frames.get(i).copyToBuffer(array);
                    }
                    array.put((byte) ']');
                    return ByteString.fromArrayUnsafe(array.array());
                }

                private Object dataFrame(ByteString bytes) {
                    return FrameEvent$.MODULE$.fullFrame(Protocol$Opcode$Text$.MODULE$, Option.empty(), bytes, true, false, false, false);
                }

                /**
                 * The handler's end goes down: a close frame with the code, or, once the peer has closed,
                 * the completion that lets frame handling answer its close.
                 */
                private void endHandler(int code, String reason) {
                    handlerEnded = true;
                    if (peerClosed || code == CloseCode.NORMAL.code()) {
                        record(new Ended(CloseCode.NORMAL.code(), "", false));
                        push(out, FrameHandler.UserHandlerCompleted$.MODULE$);
                    } else {
                        closingByServer = true;
                        record(new Ended(code, reason, false));
                        push(out, new FrameHandler.ActivelyCloseWithCode(Option.apply(code), clipReason(reason)));
                    }
                    startCloseGrace();
                }

                /** A close decided here (1009, 1003, 4000): the session hears of it through its buffer. */
                private void closeByServer(CloseCode code, String reason) {
                    closingByServer = true;
                    record(new Ended(code.code(), reason, false));
                    outbound.close(code, reason);
                    startCloseGrace();
                    if (!handlerEnded) {
                        handlerEnded = true;
                        sendControl(new FrameHandler.ActivelyCloseWithCode(Option.apply(code.code()), clipReason(reason)));
                    }
                }

                private void startCloseGrace() {
                    if (!isTimerActive(CLOSE_GRACE)) {
                        scheduleOnce(CLOSE_GRACE, settings.closeGrace());
                    }
                }

                @Override
                public void onTimer(Object key) {
                    if (key.equals(IDLE_CHECK)) {
                        if (closingByServer || peerClosed) {
                            return;
                        }
                        long left = settings.idleTimeout().toNanos() - (System.nanoTime() - connection.lastInboundNanos);
                        if (left <= 0) {
                            closeByServer(CloseCode.IDLE, "idle: nothing received for " + settings.idleTimeout().toSeconds() + "s");
                        } else {
                            scheduleOnce(IDLE_CHECK, Duration.ofNanos(left));
                        }
                    } else if (key.equals(KEEP_ALIVE)) {
                        if (handlerEnded) {
                            return;
                        }
                        long left = settings.keepAlivePing().toNanos() - (System.nanoTime() - lastOutboundNanos);
                        if (left <= 0) {
                            lastOutboundNanos = System.nanoTime();
                            sendControl(PING);
                            left = settings.keepAlivePing().toNanos();
                        }
                        scheduleOnce(KEEP_ALIVE, Duration.ofNanos(left));
                    } else if (key.equals(LINGER)) {
                        lingered = true;
                        if (isAvailable(out)) {
                            sendNext();
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
                    if (outbound != null) {
                        outbound.detach();
                    }
                    connection.onEnded.accept(ended != null ? ended
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
    }
}

