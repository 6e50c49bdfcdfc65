package herald.hub;

import java.util.concurrent.Executor;

/**
 * Where Herald's callbacks on Pekko's {@code CompletionStage}s run. Pekko's Java API hands out
 * Scala's {@code CompletableFuture}, whose plain methods ({@code thenApply}, {@code whenComplete},
 * ...) run their callback asynchronously on CompletableFuture's default executor; on a machine with
 * fewer than three cores that default is a new thread for every callback (ForkJoinPool's common
 * parallelism is then 1). It cost about 2 ms of CPU per HTTP API call on two cores. Every callback
 * Herald hangs on such a stage is small, so it runs on the thread that completes the stage, through
 * the {@code ...Async(callback, INLINE)} variants.
 */
public final class Callbacks {
    public static final Executor INLINE = Runnable::run;

    private Callbacks() {
    }
}
