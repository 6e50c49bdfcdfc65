package herald.hub;

import herald.protocol.CloseCode;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The bounded outbound side of one connection: a queue bounded in frames and in bytes whose
 * {@link #offer} answers at once. A full queue means the client reads too slowly; the caller then
 * closes the connection (4008) rather than wait or drop frames, so a topic never blocks on a client
 * and memory never grows without bound.
 */
public final class Outbound {
    private final BoundedSourceQueue<OutboundFrame> queue;
    private final Source<OutboundFrame, NotUsed> source;
    private final int maxFrames;
    private final long maxBytes;
    /** Counted here rather than by the queue, whose own capacity is rounded up to a power of two. */
    private final AtomicInteger queuedFrames = new AtomicInteger();
    /** Written by the actor that offers, read back by the stream that drains: hence atomic. */
    private final AtomicLong queuedBytes = new AtomicLong();
    /** Set before the queue completes, read by the stream once the queue is drained. */
    private volatile CloseConnection closeAfterQueued;

    private Outbound(int maxFrames, long maxBytes, Materializer materializer, HubMetrics metrics) {
        this.maxFrames = maxFrames;
        this.maxBytes = maxBytes;
        Pair<BoundedSourceQueue<OutboundFrame>, Source<OutboundFrame, NotUsed>> pair =
                Source.<OutboundFrame>queue(maxFrames).preMaterialize(materializer);
        this.queue = pair.first();
        this.source = pair.second().map(frame -> {
            release(frame);
            metrics.framesOut.increment();
            metrics.bytesOut.increment(frame.bytes());
            return frame;
        }).concatLazy(Source.lazySource(() -> closeAfterQueued == null
                ? Source.<OutboundFrame>empty() : Source.<OutboundFrame>failed(closeAfterQueued)));
    }

    public static Outbound create(int maxFrames, long maxBytes, Materializer materializer, HubMetrics metrics) {
        return new Outbound(maxFrames, maxBytes, materializer, metrics);
    }

    /** The frames in order; it fails with {@link CloseConnection} once {@link #close} is called. */
    public Source<OutboundFrame, NotUsed> source() {
        return source;
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
        int framesBefore = queuedFrames.getAndIncrement();
        long bytesBefore = queuedBytes.getAndAdd(frame.bytes());
        if (framesBefore >= maxFrames || (bytesBefore > 0 && bytesBefore + frame.bytes() > maxBytes)) {
            release(frame);
            return Offer.OVERFLOW;
        }
        QueueOfferResult result = queue.offer(frame);
        if (result == QueueOfferResult.enqueued()) {
            return Offer.QUEUED;
        }
        release(frame);
        return result == QueueOfferResult.dropped() ? Offer.OVERFLOW : Offer.CLOSED;
    }

    private void release(OutboundFrame frame) {
        queuedFrames.decrementAndGet();
        queuedBytes.addAndGet(-frame.bytes());
    }

    /**
     * Discards what is queued and ends the stream with this close code; the close frame goes out
     * next. For a slow consumer, whose backlog is the problem.
     */
    public void close(CloseCode code, String reason) {
        end(() -> queue.fail(new CloseConnection(code, reason)));
    }

    /**
     * Ends the stream with this close code after what is already queued has been sent, so that an
     * error explaining the close (auth_failed, say) reaches the client before the close frame.
     */
    public void closeAfterQueued(CloseCode code, String reason) {
        closeAfterQueued = new CloseConnection(code, reason);
        end(queue::complete);
    }

    /** Ends the stream after what is queued (a normal close). */
    public void complete() {
        end(queue::complete);
    }

    /** The queue refuses a second ending, and the stream may have ended under it already: both are fine. */
    private void end(Runnable ending) {
        try {
            ending.run();
        } catch (IllegalStateException alreadyEnded) {
            // Nothing left to end.
        }
    }

    public int queuedFrames() {
        return queuedFrames.get();
    }

    public long queuedBytes() {
        return queuedBytes.get();
    }
}
