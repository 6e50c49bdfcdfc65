package herald.hub.session;

import herald.config.HeraldSettings;

/**
 * One connection's inbound limit: a token bucket for frames, and a count of refused frames over a
 * ten-second window that tells a burst from persistent abuse. Used by one actor only.
 */
final class RateLimiter {
    private static final long WINDOW_NANOS = 10_000_000_000L;

    private final double perNano;
    private final double burst;
    private final int closeAfter;
    private double tokens;
    private long refilledAt;
    private long windowStart;
    private int refusedInWindow;

    RateLimiter(HeraldSettings.RateLimit settings, long now) {
        this.perNano = settings.framesPerSecond() / 1e9;
        this.burst = settings.burst();
        this.closeAfter = settings.closeAfter();
        this.tokens = burst;
        this.refilledAt = now;
        this.windowStart = now;
    }

    /** Takes a token for one frame; false when the bucket is empty. */
    boolean tryAcquire(long now) {
        tokens = Math.min(burst, tokens + (now - refilledAt) * perNano);
        refilledAt = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Counts a refused frame; true when refusals in the current window passed close-after. */
    boolean refusedTooOften(long now) {
        if (now - windowStart > WINDOW_NANOS) {
            windowStart = now;
            refusedInWindow = 0;
        }
        return ++refusedInWindow > closeAfter;
    }
}
