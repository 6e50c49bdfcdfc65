package herald.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Recorder;

/**
 * Many WebSocket clients on a few Netty event loops (native epoll where available). Frames are
 * read by scanning bytes for the few fields the bench needs, not by parsing JSON, so the load
 * generator spends its CPU on the socket rather than on itself.
 */
final class Clients implements AutoCloseable {
    static final int MAX_STEPS = 64;

    private final URI uri;
    private final String token;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    /** Publish-to-receive latency in microseconds, of bench messages of the current step. */
    final Recorder latency = new Recorder(3);
    /** Bench messages received, by the publishing step they were tagged with. */
    final AtomicLongArray receivedByStep = new AtomicLongArray(MAX_STEPS);
    final AtomicLong snapshots = new AtomicLong();
    /** Snapshots that were deltas (they carry "since"), and the bytes of all snapshots received. */
    final AtomicLong deltaSnapshots = new AtomicLong();
    final AtomicLong snapshotBytes = new AtomicLong();
    final AtomicLong gaps = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final ConcurrentHashMap<Integer, AtomicLong> closeCodes = new ConcurrentHashMap<>();
    volatile int currentStep;

    /** Clients ping like real ones, well inside Herald's default idle-timeout of 60 s. */
    private static final long PING_SECONDS = 20;

    /** @param receiveBuffer the sockets' receive buffer in bytes, 0 for the system's default */
    /** Whether connections ask for herald.v1.batch, in which every message is a JSON array of frames. */
    private final boolean batched;

    Clients(URI uri, String token, int threads, int receiveBuffer, boolean batched) {
        this.batched = batched;
        this.uri = uri;
        this.token = token;
        boolean epoll = Epoll.isAvailable();
        this.group = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
        this.bootstrap = new Bootstrap().group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000);
        if (receiveBuffer > 0) {
            bootstrap.option(ChannelOption.SO_RCVBUF, receiveBuffer);
        }
    }

    /** Opens one connection and subscribes it; completes once every topic's snapshot has arrived. */
    CompletableFuture<Conn> connect(List<String> topics) {
        return connect(topics, Map.of());
    }

    /**
     * The same, resuming each topic from a position (epoch and seq) that a connection before held,
     * as {@link Conn#positions} recorded it.
     */
    CompletableFuture<Conn> connect(List<String> topics, Map<String, Position> since) {
        Conn conn = new Conn(topics, since);
        bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(65536), conn);
            }
        }).connect(uri.getHost(), uri.getPort()).addListener(f -> {
            if (!f.isSuccess()) {
                conn.ready.completeExceptionally(f.cause());
            }
        });
        return conn.ready;
    }

    void record(int code) {
        closeCodes.computeIfAbsent(code, c -> new AtomicLong()).incrementAndGet();
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Where a connection stands in a topic, from the last snapshot it received. */
    record Position(String epoch, long seq) {
    }

    /** One client connection. */
    final class Conn extends SimpleChannelInboundHandler<Object> {
        /** Each topic's position as of its snapshot: the bench publishes to resumed topics only while clients are away. */
        final Map<String, Position> positions = new ConcurrentHashMap<>();
        private final Map<String, Position> since;
        final CompletableFuture<Conn> ready = new CompletableFuture<>();
        /** Completes with the close code the server sent (1006 when the connection just ended). */
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final List<String> topics;
        private final WebSocketClientHandshaker handshaker;
        private int pendingSnapshots;
        private long lastSeq = -1;
        volatile Channel channel;

        Conn(List<String> topics, Map<String, Position> since) {
            this.topics = topics;
            this.since = since;
            DefaultHttpHeaders headers = new DefaultHttpHeaders();
            if (token != null) {
                headers.add("Authorization", "Bearer " + token);
            }
            this.handshaker = WebSocketClientHandshakerFactory.newHandshaker(uri, WebSocketVersion.V13,
                    batched ? "herald.v1.batch" : null, false, headers, 1 << 20);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            handshaker.handshake(channel);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (closed.complete(1006)) {
                record(1006);
            }
            ready.completeExceptionally(new IllegalStateException("connection closed before subscribing"));
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            if (!handshaker.isHandshakeComplete()) {
                handshaker.finishHandshake(ctx.channel(), (FullHttpResponse) msg);
                ctx.pipeline().addBefore(ctx.name(), "aggregate", new WebSocketFrameAggregator(1 << 24));
                ctx.executor().scheduleAtFixedRate(() -> ctx.writeAndFlush(new PingWebSocketFrame()),
                        PING_SECONDS, PING_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
                subscribe();
                return;
            }
            WebSocketFrame frame = (WebSocketFrame) msg;
            if (frame instanceof TextWebSocketFrame text) {
                if (batched) {
                    forEachFrame(text.content(), this::onText);
                } else {
                    onText(text.content());
                }
            } else if (frame instanceof PingWebSocketFrame ping) {
                ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()));
            } else if (frame instanceof CloseWebSocketFrame close) {
                if (closed.complete(close.statusCode())) {
                    record(close.statusCode());
                }
                ctx.close();
            }
        }

        void subscribe() {
            pendingSnapshots = topics.size();
            lastSeq = -1;
            StringBuilder frame = new StringBuilder("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[");
            for (int i = 0; i < topics.size(); i++) {
                frame.append(i == 0 ? "\"" : ",\"").append(topics.get(i)).append('"');
            }
            frame.append(']');
            if (!since.isEmpty()) {
                frame.append(",\"since\":{");
                String separator = "";
                for (Map.Entry<String, Position> p : since.entrySet()) {
                    frame.append(separator).append('"').append(p.getKey()).append("\":{\"epoch\":\"")
                            .append(p.getValue().epoch()).append("\",\"seq\":").append(p.getValue().seq()).append('}');
                    separator = ",";
                }
                frame.append('}');
            }
            channel.writeAndFlush(new TextWebSocketFrame(frame.append('}').toString()));
        }

        private void onText(ByteBuf text) {
            if (startsWith(text, "{\"type\":\"event\"")) {
                long seq = number(text, "\"seq\":");
                if (topics.size() == 1 && lastSeq >= 0 && seq != lastSeq + 1) {
                    gaps.incrementAndGet();
                }
                lastSeq = seq;
                long sent = number(text, "\"t\":");
                long step = number(text, "\"s\":");
                if (sent > 0 && step >= 0 && step < MAX_STEPS) {
                    receivedByStep.incrementAndGet((int) step);
                    if (step == currentStep) {
                        latency.recordValue(Math.max(0, (System.nanoTime() - sent) / 1000));
                    }
                }
            } else if (startsWith(text, "{\"type\":\"snapshot\"")) {
                lastSeq = number(text, "\"seq\":");
                positions.put(string(text, "\"topic\":\""), new Position(string(text, "\"epoch\":\""), lastSeq));
                snapshots.incrementAndGet();
                snapshotBytes.addAndGet(text.readableBytes());
                if (indexOf(text, "\"since\":") >= 0) {
                    deltaSnapshots.incrementAndGet();
                }
                if (--pendingSnapshots == 0) {
                    ready.complete(this);
                }
            } else if (startsWith(text, "{\"type\":\"error\"")) {
                errors.incrementAndGet();
            }
        }

        /** Stops reading the socket (the kernel buffers fill and the server sees a stalled client), or reads again. */
        void reading(boolean on) {
            channel.config().setAutoRead(on);
        }

        /** Drops the connection without a close frame, as a crashed client or a lost network would. */
        void drop() {
            channel.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ready.completeExceptionally(cause);
            ctx.close();
        }
    }

    /** Each top-level object of a JSON array of frames, as a slice, without parsing the frames. */
    private static void forEachFrame(ByteBuf array, java.util.function.Consumer<ByteBuf> each) {
        int depth = 0;
        int start = -1;
        boolean inString = false;
        for (int i = array.readerIndex(); i < array.writerIndex(); i++) {
            byte b = array.getByte(i);
            if (inString) {
                if (b == '\\') {
                    i++;
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '{') {
                if (depth++ == 0) {
                    start = i;
                }
            } else if (b == '}' && --depth == 0) {
                each.accept(array.slice(start, i + 1 - start));
            }
        }
    }

    private static boolean startsWith(ByteBuf buf, String prefix) {
        if (buf.readableBytes() < prefix.length()) {
            return false;
        }
        int start = buf.readerIndex();
        for (int i = 0; i < prefix.length(); i++) {
            if (buf.getByte(start + i) != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Where the first {@code key} in the frame ends, or -1. */
    private static int indexOf(ByteBuf buf, String key) {
        byte[] pattern = key.getBytes(StandardCharsets.US_ASCII);
        int end = buf.writerIndex() - pattern.length;
        outer:
        for (int i = buf.readerIndex(); i <= end; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (buf.getByte(i + j) != pattern[j]) {
                    continue outer;
                }
            }
            return i + pattern.length;
        }
        return -1;
    }

    /** The string after the first {@code key} (which ends with its opening quote); names and epochs need no unescaping. */
    private static String string(ByteBuf buf, String key) {
        int start = indexOf(buf, key);
        int end = start < 0 ? -1 : buf.indexOf(start, buf.writerIndex(), (byte) '"');
        return end < 0 ? null : buf.toString(start, end - start, StandardCharsets.UTF_8);
    }

    /** The whole number after the first {@code key} in the frame, or -1. */
    private static long number(ByteBuf buf, String key) {
        int i = indexOf(buf, key);
        if (i >= 0) {
            long value = 0;
            boolean any = false;
            for (int k = i; k < buf.writerIndex(); k++) {
                byte b = buf.getByte(k);
                if (b < '0' || b > '9') {
                    break;
                }
                value = value * 10 + (b - '0');
                any = true;
            }
            return any ? value : -1;
        }
        return -1;
    }
}
