package herald.hub;

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
    /** The stage's wake-up; null until the connection's stream is materialized. */
    private volatile AsyncCallback<NotUsed> wakeUp;
    private final AtomicBoolean materialized = new AtomicBoolean();

    /**
     * How the stream ends. {@code close} is null for a normal completion; {@code afterQueued} says
     * whether what is queued is sent first.
     */
    private record Ending(CloseConnection close, boolean afterQueued) {
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
        AsyncCallback<NotUsed> callback = wakeUp;
        if (callback != null && waiting.compareAndSet(true, false)) {
            callback.invoke(NotUsed.getInstance());
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
        AsyncCallback<NotUsed> callback = wakeUp;
        if (callback != null) {
            callback.invoke(NotUsed.getInstance());
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
                    if (!materialized.compareAndSet(false, true)) {
                        failStage(new IllegalStateException("a connection's outbound frames can be read only once"));
                        return;
                    }
                    wakeUp = createAsyncCallback(ignored -> {
                        if (!closedAtOnce() && isAvailable(out)) {
                            drain();
                        }
                    });
                    // A close that came before the stream ran found no one to wake.
                    closedAtOnce();
                }

                private boolean closedAtOnce() {
                    Ending how = ending.get();
                    if (how != null && !how.afterQueued()) {
                        failStage(how.close());
                        return true;
                    }
                    return false;
                }

                private void drain() {
                    if (closedAtOnce()) {
                        return;
                    }
                    // Read before polling: an ending read after an empty poll may have come after
                    // frames offered since, which would be lost.
                    Ending how = ending.get();
                    OutboundFrame frame = frames.poll();
                    if (frame != null) {
                        release(frame);
                        metrics.framesOut.increment();
                        metrics.bytesOut.increment(frame.bytes());
                        push(out, frame);
                    } else if (how != null) {
                        if (how.close() == null) {
                            completeStage();
                        } else {
                            failStage(how.close());
                        }
                    } else {
                        waiting.set(true);
                        // An offer between the poll and the flag found no one waiting and woke no one.
                        if (!frames.isEmpty() || ending.get() != null) {
                            waiting.set(false);
                            drain();
                        }
                    }
                }

                @Override
                public void postStop() {
                    // The connection is gone: later offers answer CLOSED and what is queued is dropped.
                    end(new Ending(null, false));
                }
            };
        }
    }
}
