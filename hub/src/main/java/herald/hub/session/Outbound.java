package herald.hub.session;

import herald.hub.HubMetrics;
import herald.protocol.CloseCode;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * The bounded outbound side of one connection: a queue bounded in frames and in bytes whose
 * {@link #offer} answers at once. A full queue means the client reads too slowly; the caller then
 * closes the connection (4008) rather than wait or drop frames, so a topic never blocks on a client
 * and memory never grows without bound.
 *
 * <p>The queue is drained by a source stage that runs inside the connection's own stream. (Pekko's
 * {@code Source.queue}, materialized ahead of the stream as the queue must exist before it, ran as
 * an actor of its own per connection and passed every frame across an asynchronous boundary.) An
 * offer wakes the stage only when it is waiting for frames; one wake-up then drains all that is
 * queued.
 */
public final class Outbound {
    private final Queue<OutboundFrame> frames = new ConcurrentLinkedQueue<>();
    private final int maxFrames;
    private final long maxBytes;
    private final HubMetrics metrics;
    /** The queue's own counts: a concurrent queue's size is not constant-time. */
    private final AtomicInteger queuedFrames = new AtomicInteger();
    /** Written by the actors that offer, read back by the stream that drains: hence atomic. */
    private final AtomicLong queuedBytes = new AtomicLong();
    /** Null while open; how the stream is to end once set. */
    private final AtomicReference<Ending> ending = new AtomicReference<>();
    /** Set by the stage when it has run dry, so that the next offer (or ending) wakes it. */
    private final AtomicBoolean waiting = new AtomicBoolean();
    /** The writer's wake-up; null until the connection's stream is materialized. */
    private volatile Runnable wakeUp;
    private final AtomicBoolean materialized = new AtomicBoolean();

    /**
     * How the buffer's stream ends. {@code close} is null for a normal completion; {@code afterQueued}
     * says whether what is queued is sent first.
     */
    public record Ending(CloseConnection close, boolean afterQueued) {
    }

    private Outbound(int maxFrames, long maxBytes, HubMetrics metrics) {
        this.maxFrames = maxFrames;
        this.maxBytes = maxBytes;
        this.metrics = metrics;
    }

    public static Outbound create(int maxFrames, long maxBytes, HubMetrics metrics) {
        return new Outbound(maxFrames, maxBytes, metrics);
    }

    /**
     * The frames in order; it fails with {@link CloseConnection} once {@link #close} is called.
     * It can be run once: it is the one connection's outbound side.
     */
    public Source<OutboundFrame, NotUsed> source() {
        return Source.fromGraph(new Drain());
    }

    /** What became of an offered frame. */
    public enum Offer {
        QUEUED,
        /** Either bound would be passed: the client reads too slowly. */
        OVERFLOW,
        /** The connection's stream has already ended. */
        CLOSED
    }

    /**
     * Queues a frame unless a bound would be passed. A frame that finds the queue empty is always
     * taken, so one snapshot larger than the byte bound is not mistaken for slowness.
     */
    public Offer offer(OutboundFrame frame) {
        if (ending.get() != null) {
            return Offer.CLOSED;
        }
        int framesBefore = queuedFrames.getAndIncrement();
        long bytesBefore = queuedBytes.getAndAdd(frame.bytes());
        if (framesBefore >= maxFrames || (bytesBefore > 0 && bytesBefore + frame.bytes() > maxBytes)) {
            release(frame);
            return Offer.OVERFLOW;
        }
        frames.add(frame);
        wake();
        return Offer.QUEUED;
    }

    private void release(OutboundFrame frame) {
        queuedFrames.decrementAndGet();
        queuedBytes.addAndGet(-frame.bytes());
    }

    private void wake() {
        Runnable callback = wakeUp;
        if (callback != null && waiting.compareAndSet(true, false)) {
            callback.run();
        }
    }

    /**
     * Discards what is queued and ends the stream with this close code; the close frame goes out
     * next. For a slow consumer, whose backlog is the problem.
     */
    public void close(CloseCode code, String reason) {
        end(new Ending(new CloseConnection(code, reason), false));
    }

    /**
     * Ends the stream with this close code after what is already queued has been sent, so that an
     * error explaining the close (auth_failed, say) reaches the client before the close frame.
     */
    public void closeAfterQueued(CloseCode code, String reason) {
        end(new Ending(new CloseConnection(code, reason), true));
    }

    /** Ends the stream after what is queued (a normal close). */
    public void complete() {
        end(new Ending(null, true));
    }

    /** The first ending wins; a second one, or one after the stream ended, changes nothing. */
    private void end(Ending how) {
        if (!ending.compareAndSet(null, how)) {
            return;
        }
        if (how.afterQueued()) {
            wake();
            return;
        }
        discardQueued();
        // At once, even while the connection is not pulling: a stalled client must not delay the close.
        Runnable callback = wakeUp;
        if (callback != null) {
            callback.run();
        }
    }

    private void discardQueued() {
        for (OutboundFrame frame = frames.poll(); frame != null; frame = frames.poll()) {
            release(frame);
        }
    }

    public int queuedFrames() {
        return queuedFrames.get();
    }

    public long queuedBytes() {
        return queuedBytes.get();
    }

    // What follows is for the one stage that writes this buffer to its connection: the WebSocket's
    // connection stage, or the SSE stream's source below.

    /**
     * Attaches the writer of this buffer; {@code wake} is called (from any thread) when frames or an
     * ending arrive while the writer waits, and at once for an ending that discards the backlog.
     * False when a writer is attached already: a buffer is one connection's.
     */
    public boolean attach(Runnable wake) {
        if (!materialized.compareAndSet(false, true)) {
            return false;
        }
        wakeUp = wake;
        return true;
    }

    /** The close to send at once, discarding the backlog (a slow consumer's 4008), or null. */
    public CloseConnection closeNow() {
        Ending how = ending.get();
        return how != null && !how.afterQueued() ? how.close() : null;
    }

    /** The next frame, counted out of the buffer; null when none is queued. */
    public OutboundFrame poll() {
        OutboundFrame frame = frames.poll();
        if (frame != null) {
            release(frame);
            metrics.framesOut.increment();
            metrics.bytesOut.increment(frame.bytes());
        }
        return frame;
    }

    /** The next frame's size in bytes, or -1 when none is queued. */
    public int peekBytes() {
        OutboundFrame next = frames.peek();
        return next == null ? -1 : next.bytes();
    }

    /**
     * How the buffer ends once it has run dry, or null while it is open. Read it before polling: an
     * ending read after an empty poll may have come after frames offered since, which would be lost.
     */
    public Ending ending() {
        return ending.get();
    }

    /**
     * The writer has run dry and waits to be woken. True when frames or an ending arrived meanwhile,
     * so that the writer drains again instead of waiting for a wake-up that nobody will send.
     */
    public boolean awaitFrames() {
        waiting.set(true);
        if (!frames.isEmpty() || ending.get() != null) {
            waiting.set(false);
            return true;
        }
        return false;
    }

    /** The connection is gone: later offers answer CLOSED and what is queued is dropped. */
    public void detach() {
        end(new Ending(null, false));
    }

    /** Pushes queued frames while the connection pulls, and ends the stream as {@link #ending} says. */
    private final class Drain extends GraphStage<SourceShape<OutboundFrame>> {
        private final Outlet<OutboundFrame> out = Outlet.create("Outbound.out");
        private final SourceShape<OutboundFrame> shape = SourceShape.of(out);

        @Override
        public SourceShape<OutboundFrame> shape() {
            return shape;
        }

        @Override
        public GraphStageLogic createLogic(Attributes attributes) {
            return new GraphStageLogic(shape) {
                {
                    setHandler(out, new AbstractOutHandler() {
                        @Override
                        public void onPull() {
                            drain();
                        }
                    });
                }

                @Override
                public void preStart() {
                    AsyncCallback<NotUsed> woken = createAsyncCallback(ignored -> {
                        if (!closedAtOnce() && isAvailable(out)) {
                            drain();
                        }
                    });
                    if (!attach(() -> woken.invoke(NotUsed.getInstance()))) {
                        failStage(new IllegalStateException("a connection's outbound frames can be read only once"));
                        return;
                    }
                    // A close that came before the stream ran found no one to wake.
                    closedAtOnce();
                }

                private boolean closedAtOnce() {
                    CloseConnection close = closeNow();
                    if (close != null) {
                        failStage(close);
                        return true;
                    }
                    return false;
                }

                private void drain() {
                    if (closedAtOnce()) {
                        return;
                    }
                    Ending how = ending();
                    OutboundFrame frame = poll();
                    if (frame != null) {
                        push(out, frame);
                    } else if (how != null) {
                        if (how.close() == null) {
                            completeStage();
                        } else {
                            failStage(how.close());
                        }
                    } else if (awaitFrames()) {
                        drain();
                    }
                }

                @Override
                public void postStop() {
                    detach();
                }
            };
        }
    }
}
