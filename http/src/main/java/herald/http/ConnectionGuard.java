package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Callbacks;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * The HTTP side of every TCP connection, in front of the routes. It closes a connection that has not
 * sent a complete request within {@code herald.server.request-deadline} of opening, and a keep-alive
 * connection that stays without a request for {@code http-idle-timeout}, so that sockets which never
 * speak cannot hold the server's connection places (Pekko's own idle timeout is off: it would cut
 * WebSockets without a close code, and it costs each connection a timer). A connection upgraded to a WebSocket leaves
 * the guard: its own idle rule (close 4000) takes over. A streamed response (an SSE stream) counts as
 * a request in flight until its last byte.
 *
 * <p>The guard also counts the connections that are not WebSockets, for {@code /metrics}.
 */
final class ConnectionGuard extends GraphStage<BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse>> {
    private static final String DEADLINE = "request-deadline";
    private static final String IDLE = "http-idle";

    private final Inlet<HttpRequest> fromClient = Inlet.create("ConnectionGuard.fromClient");
    private final Outlet<HttpRequest> toRoutes = Outlet.create("ConnectionGuard.toRoutes");
    private final Inlet<HttpResponse> fromRoutes = Inlet.create("ConnectionGuard.fromRoutes");
    private final Outlet<HttpResponse> toClient = Outlet.create("ConnectionGuard.toClient");
    private final BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse> shape =
            BidiShape.of(fromClient, toRoutes, fromRoutes, toClient);

    private final HeraldSettings.Server settings;
    private final AtomicInteger pending = new AtomicInteger();
    private final Counter deadlineCloses;
    private final Counter idleCloses;

    private ConnectionGuard(HeraldSettings.Server settings, MeterRegistry registry) {
        this.settings = settings;
        Gauge.builder("herald.http.connections.pending", pending, AtomicInteger::get)
                .description("TCP connections that are not WebSockets: before their first request, between"
                        + " keep-alive requests, serving an HTTP call or an SSE stream").register(registry);
        deadlineCloses = expired(DEADLINE, registry);
        idleCloses = expired(IDLE, registry);
    }

    private static Counter expired(String reason, MeterRegistry registry) {
        return Counter.builder("herald.http.connections.expired").tag("reason", reason)
                .description("Connections closed for sending no complete request, or none for a while").register(registry);
    }

    /** The routes as every connection's handler, behind one guard per connection. */
    static Flow<HttpRequest, HttpResponse, NotUsed> guarding(Flow<HttpRequest, HttpResponse, NotUsed> routes,
                                                            HeraldSettings.Server settings, MeterRegistry registry) {
        return BidiFlow.fromGraph(new ConnectionGuard(settings, registry)).join(routes);
    }

    @Override
    public BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
        return new TimerGraphStageLogic(shape) {
            /** Requests passed to the routes whose response (streamed ones: its last byte) has not gone out. */
            private int inFlight;
            private boolean upgraded;
            private AsyncCallback<NotUsed> streamedResponseEnded;

            {
                setHandler(fromClient, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        cancelTimer(DEADLINE);
                        cancelTimer(IDLE);
                        inFlight++;
                        push(toRoutes, grab(fromClient));
                    }

                    @Override
                    public void onUpstreamFinish() {
                        // No more requests, but the response to the last one may still be on its way.
                        complete(toRoutes);
                    }
                });
                setHandler(toRoutes, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(fromClient);
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) {
                        cancel(fromClient, cause);
                    }
                });
                setHandler(fromRoutes, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        push(toClient, watched(grab(fromRoutes)));
                    }
                });
                setHandler(toClient, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(fromRoutes);
                    }
                });
            }

            @Override
            public void preStart() {
                pending.incrementAndGet();
                streamedResponseEnded = createAsyncCallback(ignored -> responseDone());
                scheduleOnce(DEADLINE, settings.requestDeadline());
            }

            /** The response as it goes out, watched for its end when it is streamed. */
            @SuppressWarnings({"unchecked", "rawtypes"})
            private HttpResponse watched(HttpResponse response) {
                if (response.status().equals(StatusCodes.SWITCHING_PROTOCOLS)) {
                    upgraded = true;
                    pending.decrementAndGet();
                    return response;
                }
                if (response.entity().isStrict()) {
                    responseDone();
                    return response;
                }
                org.apache.pekko.stream.scaladsl.Flow watch = Flow.<ByteString>create()
                        .watchTermination((notUsed, done) -> {
                            done.whenCompleteAsync((ok, error) -> streamedResponseEnded.invoke(NotUsed.getInstance()), Callbacks.INLINE);
                            return notUsed;
                        }).asScala();
                // The Java API has no transformDataBytes; every Java entity is a Scala one.
                return response.withEntity(((org.apache.pekko.http.scaladsl.model.ResponseEntity) response.entity())
                        .transformDataBytes(watch));
            }

            private void responseDone() {
                inFlight--;
                if (inFlight == 0 && !upgraded && !isClosed(fromClient)) {
                    scheduleOnce(IDLE, settings.httpIdleTimeout());
                }
            }

            @Override
            public void onTimer(Object key) {
                (key.equals(DEADLINE) ? deadlineCloses : idleCloses).increment();
                // Completing both directions makes Pekko close the connection; no request is in flight.
                completeStage();
            }

            @Override
            public void postStop() {
                if (!upgraded) {
                    pending.decrementAndGet();
                }
            }
        };
    }
}
