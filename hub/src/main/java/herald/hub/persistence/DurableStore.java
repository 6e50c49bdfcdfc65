package herald.hub.persistence;

import herald.config.HeraldSettings;
import herald.hub.HubMetrics;
import io.micrometer.core.instrument.Gauge;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database behind durable topics, as Herald watches it: it creates the journal's tables when
 * they are missing, and probes the database every {@link #PROBE_SECONDS} seconds on a thread of its
 * own (JDBC blocks; actors must not). While the probe fails, durable topics answer
 * {@code unavailable} at once instead of waiting on a journal that cannot write, and
 * {@code /health/ready} says so; the log says it once per outage, not per request.
 */
public final class DurableStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DurableStore.class);
    static final int PROBE_SECONDS = 2;

    private final HeraldSettings.Durable settings;
    private final ScheduledExecutorService prober;
    private volatile boolean available;
    private boolean schemaReady;
    private boolean everProbed;

    private DurableStore(HeraldSettings.Durable settings) {
        this.settings = settings;
        this.prober = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "herald-durable-store-probe");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Probes once before returning (so a reachable database is available from the first request), then every few seconds. */
    public static DurableStore start(HeraldSettings.Durable settings, HubMetrics metrics) {
        DurableStore store = new DurableStore(settings);
        Gauge.builder("herald.durable.store.up", store, s -> s.available ? 1 : 0)
                .description("1 while the durable topics' database answers, 0 while it does not").register(metrics.registry());
        store.probe();
        store.prober.scheduleWithFixedDelay(store::probe, PROBE_SECONDS, PROBE_SECONDS, TimeUnit.SECONDS);
        return store;
    }

    public boolean available() {
        return available;
    }

    /** Where the journal is, for log lines: the URL without credentials. */
    public String describe() {
        return settings.embedded() ? "embedded H2 in " + settings.directory() : settings.jdbcUrl();
    }

    private void probe() {
        try (Connection connection = connect(); Statement statement = connection.createStatement()) {
            if (!schemaReady) {
                createSchema(statement);
                schemaReady = true;
            }
            statement.execute("SELECT 1");
            if (!available) {
                log.info(everProbed ? "Durable topics' database is reachable again: {}" : "Durable topics journal to {}", describe());
            }
            available = true;
        } catch (SQLException | RuntimeException e) {
            if (available || !everProbed) {
                log.warn("Durable topics' database is unreachable ({}): {}; durable topics answer unavailable until it is back",
                        describe(), e.getMessage());
            }
            available = false;
        }
        everProbed = true;
    }

    private Connection connect() throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", settings.jdbcUser());
        properties.setProperty("password", settings.password());
        if (settings.postgres()) {
            // The probe must not hang on a database that does not answer (H2 refuses these settings).
            properties.setProperty("connectTimeout", "3");
            properties.setProperty("socketTimeout", "5");
        }
        return DriverManager.getConnection(settings.jdbcUrl(), properties);
    }

    /** Runs the bundled schema file, statement by statement; each is a no-op when its object exists. */
    private void createSchema(Statement statement) throws SQLException {
        String file = settings.postgres() ? "postgres.sql" : "h2.sql";
        String withoutComments = String.join("\n", schema(file).lines().filter(line -> !line.trim().startsWith("--")).toList());
        for (String sql : withoutComments.split(";")) {
            if (!sql.isBlank()) {
                statement.execute(sql.trim());
            }
        }
    }

    /** The SQL Herald runs at start, also what operators who create schemas themselves run. */
    public static String schema(String file) {
        try (InputStream in = DurableStore.class.getResourceAsStream("/herald/schema/" + file)) {
            if (in == null) {
                throw new IllegalStateException("no schema file " + file + " on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        prober.shutdownNow();
    }
}
