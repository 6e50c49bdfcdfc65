package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Audit;
import herald.hub.Callbacks;
import herald.hub.HubMetrics;
import herald.hub.auth.Hooks;
import herald.hub.auth.Permissions;
import herald.hub.auth.Principal;
import herald.protocol.FrameCodec;
import herald.protocol.Hook;
import herald.protocol.InvalidFrameException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The hooks as configured ({@code herald.hooks}), called over HTTP. A verdict always comes: a
 * backend that cannot be reached, answers other than 2xx, answers something that is not the
 * documented JSON, or not within the deadline, gives {@link Hooks.Unavailable} and an audit line.
 */
final class BackendHooks implements Hooks {
    private final HeraldSettings.Hooks settings;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final BackendCall connect;
    private final BackendCall subscribe;
    private final BackendCall publish;

    private BackendHooks(HeraldSettings.Hooks settings, FrameCodec codec, ActorSystem<?> system, HubMetrics metrics) {
        this.settings = settings;
        this.codec = codec;
        this.metrics = metrics;
        this.connect = call("connect hook", settings.connect(), system);
        this.subscribe = call("subscribe hook", settings.subscribe(), system);
        this.publish = call("publish hook", settings.publish(), system);
    }

    /** {@link Hooks#NONE} when no hook is configured. */
    static Hooks of(HeraldSettings.Hooks settings, FrameCodec codec, ActorSystem<?> system, HubMetrics metrics) {
        if (!settings.connect().enabled() && !settings.subscribe().enabled() && !settings.publish().enabled()) {
            return Hooks.NONE;
        }
        return new BackendHooks(settings, codec, system, metrics);
    }

    private static BackendCall call(String name, HeraldSettings.Hook hook, ActorSystem<?> system) {
        return hook.enabled() ? new BackendCall(name, hook.url(), hook.deadline(), hook.maxInFlight(), system) : null;
    }

    @Override
    public boolean connects() {
        return connect != null;
    }

    @Override
    public CompletionStage<Verdict> connect(Hook.Connect call) {
        return ask(connect, call, true, answer -> new Allowed(new Principal(answer.user(), answer.expires(),
                Permissions.of(answer.subscribe(), answer.publish()), answer.info()), null));
    }

    @Override
    public boolean asksSubscribe(String topic) {
        return subscribe != null && settings.subscribe().appliesTo(topic);
    }

    @Override
    public CompletionStage<Verdict> subscribe(Hook.Subscribe call) {
        return ask(subscribe, call, false, answer -> new Allowed(null, null));
    }

    @Override
    public boolean asksPublish(String topic) {
        return publish != null && settings.publish().appliesTo(topic);
    }

    @Override
    public CompletionStage<Verdict> publish(Hook.Publish call) {
        return ask(publish, call, false, answer -> new Allowed(null, answer.data()));
    }

    private CompletionStage<Verdict> ask(BackendCall backend, Hook.Call call, boolean connect,
                                         Function<Hook.Answer, Verdict> allowed) {
        if (backend == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("the " + call.hook() + " hook is off"));
        }
        return backend.post(codec.encode(call), List.of()).handleAsync((response, failure) -> {
            Verdict verdict = verdict(call, connect, allowed, response, failure);
            metrics.hookCall(call.hook(), verdict instanceof Allowed ? "allowed" : verdict instanceof Refused ? "refused" : "unavailable");
            return verdict;
        }, Callbacks.INLINE);
    }

    /** What the backend's answer (or its failure) means; anything but an explicit allow or refusal is unavailable. */
    private Verdict verdict(Hook.Call call, boolean connect, Function<Hook.Answer, Verdict> allowed,
                            BackendCall.Response response, Throwable failure) {
        if (failure != null) {
            return unavailable(call, BackendCall.why(failure));
        }
        if (response.status() < 200 || response.status() > 299) {
            return unavailable(call, "the " + call.hook() + " hook answered HTTP " + response.status());
        }
        Hook.Answer answer;
        try {
            answer = codec.decodeHookAnswer(response.body(), connect);
        } catch (InvalidFrameException e) {
            return unavailable(call, "the " + call.hook() + " hook's answer is not the documented JSON: " + e.getMessage());
        }
        if (!answer.allow()) {
            return new Refused(answer.status() == 0 ? 401 : answer.status(), answer.message());
        }
        return allowed.apply(answer);
    }

    private static Verdict unavailable(Hook.Call call, String why) {
        Audit.hookFailed(call.hook(), why);
        return new Unavailable(why);
    }
}
