package herald.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import herald.config.HeraldSettings;
import herald.hub.auth.Authenticator;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;

/** A running Herald: what {@link Main} starts, and what tests start on an ephemeral port. */
public final class Herald implements AutoCloseable {
    private static final Duration BIND_TIMEOUT = Duration.ofSeconds(30);

    private final ActorSystem<HttpServer.Command> system;
    private final InetSocketAddress address;

    private Herald(ActorSystem<HttpServer.Command> system, InetSocketAddress address) {
        this.system = system;
        this.address = address;
    }

    /**
     * Reads the settings (a bad value throws {@link herald.config.SettingsException} before anything
     * starts), starts the actor system and waits until the server is bound.
     */
    public static Herald start(Config config) throws Exception {
        HeraldSettings settings = HeraldSettings.fromConfig(config);
        // Closing the WebSockets must be allowed the whole shutdown-grace, whatever Pekko's phase default is.
        long phaseMillis = settings.shutdownGrace().plusSeconds(5).toMillis();
        Config withPhase = ConfigFactory.parseString(
                "pekko.coordinated-shutdown.phases.before-service-unbind.timeout = " + phaseMillis + "ms\n"
                        // The limits Herald's clients meet are Herald's, not a hidden cap of Pekko's.
                        + "pekko.http.server.max-connections = " + settings.limits().maxTcpConnections())
                .withFallback(cluster(settings.cluster()))
                .withFallback(durable(settings.durable()))
                .withFallback(config);
        Authenticator authenticator = Authenticator.create(settings.auth());
        HttpsConnectionContext https = Tls.serverContext(settings.tls());
        CompletableFuture<InetSocketAddress> bound = new CompletableFuture<>();
        ActorSystem<HttpServer.Command> system = ActorSystem.create(
                HttpServer.create(settings, authenticator, https, bound), "herald", withPhase);
        try {
            return new Herald(system, bound.get(BIND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException | TimeoutException | InterruptedException e) {
            system.terminate();
            throw e;
        }
    }

    /** The Pekko settings that make this node a cluster member, from herald.cluster; none when it is off. */
    private static Config cluster(HeraldSettings.Cluster cluster) {
        if (!cluster.enabled()) {
            return ConfigFactory.empty();
        }
        return ConfigFactory.parseMap(Map.of(
                "pekko.actor.provider", "cluster",
                "pekko.remote.artery.canonical.hostname", cluster.host(),
                "pekko.remote.artery.canonical.port", cluster.port(),
                "pekko.cluster.seed-nodes", cluster.seedNodes().stream().map(seed -> "pekko://herald@" + seed).toList(),
                "pekko.cluster.downing-provider-class", "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider",
                "pekko.cluster.split-brain-resolver.active-strategy", cluster.splitBrainStrategy(),
                "pekko.cluster.split-brain-resolver.stable-after", cluster.downAfter().toMillis() + "ms"));
    }

    /**
     * The Pekko Persistence settings for durable topics: the JDBC journal and snapshot store on one
     * shared connection pool, H2 or PostgreSQL; none without durable topics. The pool does not fail
     * at start when the database is down (initializationFailTimeout -1): Herald starts, and durable
     * topics answer unavailable until it is back.
     */
    private static Config durable(HeraldSettings.Durable durable) {
        if (!durable.enabled()) {
            return ConfigFactory.empty();
        }
        boolean postgres = durable.postgres();
        String db = "pekko-persistence-jdbc.shared-databases.herald";
        Map<String, Object> settings = new java.util.HashMap<>(Map.of(
                "pekko.persistence.journal.plugin", "jdbc-journal",
                "pekko.persistence.snapshot-store.plugin", "jdbc-snapshot-store",
                "jdbc-journal.use-shared-db", "herald",
                "jdbc-snapshot-store.use-shared-db", "herald",
                "jdbc-read-journal.use-shared-db", "herald",
                db + ".profile", postgres ? "slick.jdbc.PostgresProfile$" : "slick.jdbc.H2Profile$",
                db + ".db.url", durable.jdbcUrl(),
                db + ".db.driver", postgres ? "org.postgresql.Driver" : "org.h2.Driver",
                db + ".db.user", durable.jdbcUser(),
                db + ".db.password", durable.password()));
        settings.putAll(Map.of(
                db + ".db.numThreads", durable.poolSize(),
                db + ".db.maxConnections", durable.poolSize(),
                db + ".db.minConnections", 1,
                db + ".db.connectionTimeout", 3000,
                db + ".db.initializationFailTimeout", -1));
        if (!postgres) {
            // The journal gathers the rows that wait into one transaction per write. H2 embedded
            // stores a chunk of its file at every commit (WRITE_DELAY=0, so that a killed process
            // loses no acknowledged change) under one lock: several transactions at once only make
            // more, smaller commits. One at a time measured 20,000-25,000 changes/s over 100 topics
            // against 16,000 with Pekko's default of 8 (bench/run durable).
            settings.put("jdbc-journal.parallelism", 1);
        }
        return ConfigFactory.parseMap(settings);
    }

    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    public ActorSystem<?> system() {
        return system;
    }

    /** Runs the whole shutdown (WebSockets get 1001) and waits for it to finish. */
    @Override
    public void close() throws Exception {
        CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason())
                .toCompletableFuture().get(2, TimeUnit.MINUTES);
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
}
