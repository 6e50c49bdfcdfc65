package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Callbacks;
import herald.hub.Hub;
import herald.hub.HubMetrics;
import herald.hub.auth.Authenticator;
import herald.hub.cluster.TopicOwners;
import herald.hub.persistence.DurableStore;
import herald.hub.session.Connections;
import herald.hub.session.NodeConnections;
import herald.hub.topic.LocalOwners;
import herald.hub.topic.LocalTopics;
import herald.hub.topic.Occupancy;
import herald.hub.topic.Owners;
import herald.hub.topic.TopicRegistry;
import herald.protocol.CloseCode;
import herald.protocol.FrameCodec;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.slf4j.Logger;

/**
 * The guardian: starts the topic registry and the meters, binds the routes, and registers the
 * shutdown steps (turn unready and refuse new connections, close every connection with 1001 within
 * shutdown-grace, stop listening, then end what is left).
 */
public final class HttpServer extends AbstractBehavior<HttpServer.Command> {

    public sealed interface Command {
    }

    private record Bound(ServerBinding binding) implements Command {
    }

    private record BindFailed(Throwable cause) implements Command {
    }

    private enum SampleOutbound implements Command {
        INSTANCE
    }

    /** Outbound buffer depths are sampled this often rather than counted per frame. */
    private static final Duration SAMPLE_EVERY = Duration.ofSeconds(5);

    /**
     * @param authenticator built before the actor system, so that an unreadable key fails start-up at once
     * @param https         the TLS context, or null for plain HTTP
     */
    public static Behavior<Command> create(HeraldSettings settings, Authenticator authenticator,
                                           HttpsConnectionContext https, CompletableFuture<InetSocketAddress> bound) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(SampleOutbound.INSTANCE, SAMPLE_EVERY);
            return new HttpServer(context, settings, authenticator, https, bound);
        }));
    }

    private final HeraldSettings settings;
    private final CompletableFuture<InetSocketAddress> bound;
    private final HttpsConnectionContext https;
    private final Connections connections;
    private final Readiness readiness;
    /** The durable topics' database, watched; null without durable topics. */
    private final DurableStore store;
    private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final HubMetrics metrics = new HubMetrics(prometheus);

    private HttpServer(ActorContext<Command> context, HeraldSettings settings, Authenticator authenticator,
                       HttpsConnectionContext https, CompletableFuture<InetSocketAddress> bound) {
        super(context);
        // Named, not detected from the stack at first use: as the guardian, this actor's log is first
        // touched by Pekko's own start-up code in cluster mode, and took a logger under org.apache.pekko
        // (logged at WARN only), which lost "Herald listening" and every line after it.
        context.setLoggerName(HttpServer.class);
        this.settings = settings;
        this.bound = bound;
        this.https = https;
        this.connections = new Connections(settings.limits());
        boolean clustered = settings.cluster().enabled();
        this.store = settings.durable().enabled() ? DurableStore.start(settings.durable(), metrics) : null;
        this.readiness = new Readiness(connections, clustered
                ? () -> Cluster.get(context.getSystem()).selfMember().status() == MemberStatus.up()
                : () -> true, store == null ? () -> true : store::available);
        new JvmMemoryMetrics().bindTo(prometheus);
        gcMetrics.bindTo(prometheus);
        new JvmThreadMetrics().bindTo(prometheus);
        new ClassLoaderMetrics().bindTo(prometheus);
        new ProcessorMetrics().bindTo(prometheus);
        new UptimeMetrics().bindTo(prometheus);
        new FileDescriptorMetrics().bindTo(prometheus);
        Gauge.builder("herald.connections.slots", connections, Connections::slots)
                .description("Connection places taken: open connections, and those admitted but not started yet")
                .register(prometheus);

        FrameCodec codec = new FrameCodec();
        Occupancy occupancy = Webhooks.start(context, settings.webhooks(), codec, metrics);
        LocalOwners local = clustered ? null : LocalOwners.start(context, settings, store, metrics, occupancy);
        Owners owners = clustered ? TopicOwners.start(context.getSystem(), settings, metrics, occupancy) : local;
        ActorRef<TopicRegistry.Command> registry = context.spawn(
                TopicRegistry.create(settings.topics(), settings.limits().maxTopics(), codec, metrics, owners), "topics");
        Hub hub = new Hub(settings, codec, new LocalTopics(registry, context.getSystem().scheduler(), local), connections,
                metrics, authenticator, BackendHooks.of(settings.hooks(), codec, context.getSystem(), metrics));
        context.spawn(NodeConnections.create(connections, settings.api().askTimeout()), "connections");
        HeraldRoutes routes = new HeraldRoutes(hub, prometheus, readiness, context.getSystem());
        ServerBuilder server = Http.get(context.getSystem()).newServerAt(settings.server().host(), settings.server().port());
        context.pipeToSelf((https == null ? server : server.enableHttps(https)).bindFlow(
                        ConnectionGuard.guarding(routes.routes().flow(context.getSystem()), settings.server(), prometheus)),
                (binding, error) -> error == null ? new Bound(binding) : new BindFailed(error));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Bound.class, this::onBound)
                .onMessage(BindFailed.class, this::onBindFailed)
                .onMessageEquals(SampleOutbound.INSTANCE, () -> {
                    connections.sampleOutboundDepths(metrics);
                    return this;
                })
                .onSignal(PostStop.class, stop -> {
                    gcMetrics.close();
                    if (store != null) {
                        store.close();
                    }
                    return this;
                })
                .build();
    }

    private Behavior<Command> onBound(Bound b) {
        InetSocketAddress address = b.binding().localAddress();
        String host = address.getAddress().getHostAddress();
        boolean tls = https != null;
        getContext().getLog().info("Herald listening on {}://{}:{} (WebSocket {}://{}:{}{})", tls ? "https" : "http",
                host, address.getPort(), tls ? "wss" : "ws", host, address.getPort(), settings.websocket().path());
        registerShutdown(b.binding());
        readiness.bound();
        bound.complete(address);
        return this;
    }

    private Behavior<Command> onBindFailed(BindFailed failed) {
        getContext().getLog().error("Herald could not bind {}:{}: {}", settings.server().host(),
                settings.server().port(), failed.cause().getMessage());
        bound.completeExceptionally(failed.cause());
        return Behaviors.stopped();
    }

    private void registerShutdown(ServerBinding binding) {
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(getContext().getSystem());
        Logger log = getContext().getLog();
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "herald-close-connections", () -> {
            Duration grace = settings.shutdownGrace();
            log.info("Shutting down: not ready, refusing new connections, closing {} open ones with 1001",
                    connections.count());
            return connections.closeAll(CloseCode.GOING_AWAY, "server shutting down")
                    .toCompletableFuture()
                    .orTimeout(grace.toMillis(), TimeUnit.MILLISECONDS)
                    .handle((done, timedOut) -> {
                        if (timedOut != null) {
                            log.warn("{} connections still open after shutdown-grace {}; dropping them",
                                    connections.count(), grace);
                        }
                        return Done.getInstance();
                    });
        });
        shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "herald-unbind", binding::unbind);
        shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "herald-terminate-connections",
                () -> binding.terminate(Duration.ofSeconds(1)).thenApplyAsync(terminated -> Done.getInstance(), Callbacks.INLINE));
    }
}
