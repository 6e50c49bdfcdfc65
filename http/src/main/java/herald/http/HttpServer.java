package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Connections;
import herald.hub.LocalTopics;
import herald.hub.TopicRegistry;
import herald.protocol.CloseCode;
import herald.protocol.FrameCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.slf4j.Logger;

/**
 * The guardian: starts the topic registry, binds the routes and registers the shutdown steps
 * (stop accepting, close every WebSocket with 1001 within shutdown-grace, then end what is left).
 */
public final class HttpServer extends AbstractBehavior<HttpServer.Command> {

    public sealed interface Command {
    }

    private record Bound(ServerBinding binding) implements Command {
    }

    private record BindFailed(Throwable cause) implements Command {
    }

    public static Behavior<Command> create(HeraldSettings settings, CompletableFuture<InetSocketAddress> bound) {
        return Behaviors.setup(context -> new HttpServer(context, settings, bound));
    }

    private final HeraldSettings settings;
    private final CompletableFuture<InetSocketAddress> bound;
    private final Connections connections = new Connections();

    private HttpServer(ActorContext<Command> context, HeraldSettings settings,
                       CompletableFuture<InetSocketAddress> bound) {
        super(context);
        this.settings = settings;
        this.bound = bound;
        FrameCodec codec = new FrameCodec();
        ActorRef<TopicRegistry.Command> registry = context.spawn(TopicRegistry.create(settings.topics(), codec), "topics");
        HeraldRoutes routes = new HeraldRoutes(settings,
                new LocalTopics(registry, context.getSystem().scheduler()), connections, codec, context.getSystem());
        context.pipeToSelf(
                Http.get(context.getSystem()).newServerAt(settings.server().host(), settings.server().port())
                        .bind(routes.routes()),
                (binding, error) -> error == null ? new Bound(binding) : new BindFailed(error));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Bound.class, this::onBound)
                .onMessage(BindFailed.class, this::onBindFailed)
                .build();
    }

    private Behavior<Command> onBound(Bound b) {
        InetSocketAddress address = b.binding().localAddress();
        String host = address.getAddress().getHostAddress();
        getContext().getLog().info("Herald listening on http://{}:{} (WebSocket ws://{}:{}{})",
                host, address.getPort(), host, address.getPort(), settings.websocket().path());
        registerShutdown(b.binding());
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
        shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "herald-unbind", () -> {
            log.info("Shutting down: no new connections; closing {} open ones with 1001", connections.count());
            return binding.unbind();
        });
        shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "herald-close-websockets", () -> {
            Duration grace = settings.shutdownGrace();
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
        shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "herald-terminate-connections",
                () -> binding.terminate(Duration.ofSeconds(1)).thenApply(terminated -> Done.getInstance()));
    }
}
