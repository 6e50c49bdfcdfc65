package herald.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigRenderOptions;
import herald.protocol.TopicNames;
import herald.protocol.TopicPattern;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything under {@code herald { }}, read once at start-up. Nothing else in Herald reads
 * {@link Config}: actors and routes get the part they need from here.
 */
public record HeraldSettings(
        Server server,
        WebSocket websocket,
        Sse sse,
        Topics topics,
        Auth auth,
        List<ApiKey> apiKeys,
        List<String> allowedOrigins,
        Limits limits,
        RateLimit rateLimit,
        Tls tls,
        Api api,
        boolean webEnabled,
        Cluster cluster,
        Durable durable,
        Hooks hooks,
        Webhooks webhooks,
        Duration shutdownGrace) {

    public enum AuthMode {
        NONE,
        JWT
    }

    /** Patterns are kept as text here; whoever checks permissions compiles them once. */
    public record Auth(AuthMode mode, List<String> noneSubscribe, List<String> nonePublish, Jwt jwt) {
    }

    /** @param hs256Secret empty when HS256 is not accepted; {@code issuer} / {@code audience} empty when not checked */
    public record Jwt(String hs256Secret, List<String> publicKeyFiles, String jwksFile, String issuer, String audience,
                      Duration clockSkew, Duration authTimeout) {
    }

    /** @param admin whether the key may use the operator API (connections, disconnect, unsubscribe) */
    public record ApiKey(String id, String sha256, List<String> publish, boolean admin) {
    }

    public record RateLimit(double framesPerSecond, int burst, int closeAfter) {
    }

    public record Tls(boolean enabled, String keystore, String keystorePassword) {
    }

    /**
     * @param requestDeadline  a connection that has not sent a complete request within this time is closed
     * @param httpIdleTimeout  a plain HTTP keep-alive connection with no request in flight is closed after this
     */
    public record Server(String host, int port, Duration requestDeadline, Duration httpIdleTimeout) {
    }

    /**
     * @param keepAlivePing  the server's WebSocket ping interval, or null for none
     * @param batchMaxBytes  the most one batched message (herald.v1.batch) holds; a larger frame goes alone
     * @param batchLinger    how long a batched connection waits for more frames before it writes, or null for not at all
     */
    public record WebSocket(
            String path,
            int maxFrame,
            int outboundFrames,
            long outboundBytes,
            Duration heartbeat,
            Duration idleTimeout,
            Duration closeGrace,
            Duration keepAlivePing,
            int batchMaxBytes,
            Duration batchLinger) {
    }

    public record Sse(Duration heartbeat, Duration retry) {
    }

    /** The defaults, per-pattern overrides of them (first match wins), and which topics have presence. */
    public record Topics(TopicLimits defaults, List<Retention> retention, Presence presence) {
        /**
         * A presence topic lists at most {@code max-members} entries and never evicts one: its
         * members leave when their connections do.
         */
        public TopicLimits limitsFor(String topic) {
            if (TopicNames.isPresence(topic)) {
                return new TopicLimits(presence.maxMembers(), defaults.resumeWindow(), defaults.idempotencyWindow(),
                        defaults.idempotencyTtl(), defaults.idempotencyMaxKeys());
            }
            for (Retention r : retention) {
                if (r.pattern().matches(topic)) {
                    return r.limits();
                }
            }
            return defaults;
        }

        public int maxEntriesFor(String topic) {
            return limitsFor(topic).maxEntries();
        }
    }

    /**
     * What one topic keeps.
     *
     * @param maxEntries         retention: the oldest entry is evicted beyond it
     * @param resumeWindow       removed keys are remembered for at least this many changes, for delta snapshots
     * @param idempotencyWindow  idem keys are remembered for at least this many changes
     * @param idempotencyTtl     ... and for at least this long
     * @param idempotencyMaxKeys ... but never more than this many, whatever their age: the bound on memory
     */
    public record TopicLimits(int maxEntries, int resumeWindow, int idempotencyWindow, Duration idempotencyTtl,
                              int idempotencyMaxKeys) {
    }

    public record Retention(TopicPattern pattern, TopicLimits limits) {
    }

    /**
     * Presence (PROTOCOL.md 9.4): for the ordinary topics matching {@code topics}, the hub keeps
     * {@code $presence:T}, listing at most {@code maxMembers} of T's connections.
     */
    public record Presence(List<TopicPattern> topics, int maxMembers) {
        public boolean keptFor(String topic) {
            return !TopicNames.isPresence(topic) && TopicPattern.anyMatches(topics, topic);
        }
    }

    /**
     * One call Herald makes to the application's backend before it lets a connection, subscribe or
     * publish through (PROTOCOL.md 9.5); {@code url} empty when off.
     *
     * @param topics         the topics a subscribe or publish hook is asked about (others pass without a call)
     * @param maxInFlight    calls of this hook under way at once on this node; more are refused unavailable
     * @param forwardHeaders request headers of the upgrade the connect hook is shown
     */
    public record Hook(String url, Duration deadline, List<TopicPattern> topics, int maxInFlight,
                       List<String> forwardHeaders) {
        public boolean enabled() {
            return !url.isEmpty();
        }

        public boolean appliesTo(String topic) {
            return enabled() && TopicPattern.anyMatches(topics, topic);
        }
    }

    public record Hooks(Hook connect, Hook subscribe, Hook publish) {
    }

    /**
     * Notices to the backend that a topic got its first subscriber or lost its last one.
     *
     * @param secret      the HMAC-SHA256 key each request is signed with
     * @param maxAttempts tries per notice before it is dropped (with a warning)
     * @param maxQueued   notices waiting on this node at most; further ones are dropped
     */
    public record Webhooks(String url, String secret, List<TopicPattern> topics, Duration deadline, int maxAttempts,
                           Duration minBackoff, Duration maxBackoff, int maxQueued) {
        public boolean enabled() {
            return !url.isEmpty();
        }

        public boolean appliesTo(String topic) {
            return enabled() && !TopicNames.isPresence(topic) && TopicPattern.anyMatches(topics, topic);
        }
    }

    /**
     * @param httpConnections TCP connections allowed beyond {@code maxConnections}: HTTP API calls, health
     *                        checks, and connections before their upgrade
     */
    public record Limits(int maxConnections, int maxConnectionsPerAddress, int maxConnectionsPerUser,
                         int maxSubscriptionsPerConnection, int maxTopics, int httpConnections) {
        /** Every TCP connection the server accepts at once: Pekko's own cap. */
        public int maxTcpConnections() {
            return maxConnections + httpConnections;
        }
    }

    public record Api(int maxBody, Duration askTimeout) {
    }

    /**
     * @param seedNodes   "host:port" of the nodes a starting node contacts to join
     * @param downAfter   how long the split-brain resolver waits for a stable view before downing
     */
    public record Cluster(boolean enabled, String host, int port, List<String> seedNodes, String splitBrainStrategy,
                          Duration downAfter) {
    }

    /** Reads and checks {@code herald { }}; throws {@link SettingsException} naming the first bad key. */
    public static HeraldSettings fromConfig(Config root) {
        try {
            Config c = root;
            HeraldSettings settings = new HeraldSettings(
                    new Server(nonEmpty(c, "herald.server.host"), port(c, "herald.server.port"),
                            positive(c, "herald.server.request-deadline"), positive(c, "herald.server.http-idle-timeout")),
                    webSocket(c),
                    new Sse(positive(c, "herald.sse.heartbeat"), positive(c, "herald.sse.retry")),
                    topics(c),
                    auth(c),
                    apiKeys(c),
                    strings(c, "herald.allowed-origins"),
                    new Limits(positiveInt(c, "herald.limits.max-connections"),
                            positiveInt(c, "herald.limits.max-connections-per-address"),
                            positiveInt(c, "herald.limits.max-connections-per-user"),
                            positiveInt(c, "herald.limits.max-subscriptions-per-connection"),
                            positiveInt(c, "herald.limits.max-topics"),
                            positiveInt(c, "herald.limits.http-connections")),
                    new RateLimit(positiveDouble(c, "herald.rate-limit.frames-per-second"),
                            positiveInt(c, "herald.rate-limit.burst"), positiveInt(c, "herald.rate-limit.close-after")),
                    tls(c),
                    new Api(bytes(c, "herald.api.max-body"), positive(c, "herald.api.ask-timeout")),
                    bool(c, "herald.web.enabled"),
                    cluster(c),
                    durable(c),
                    new Hooks(hook(c, "herald.hooks.connect"), hook(c, "herald.hooks.subscribe"), hook(c, "herald.hooks.publish")),
                    webhooks(c),
                    positive(c, "herald.shutdown-grace"));
            settings.checkTogether(root);
            return settings;
        } catch (ConfigException e) {
            throw new SettingsException("bad configuration: " + e.getMessage(), e);
        }
    }

    /**
     * Durable topics: which ones, where their journal lives, how often a snapshot is taken.
     *
     * @param maxWaiting the most changes that may wait for one topic's journal; more are refused
     * @param url empty for the embedded H2 database in {@code directory}
     */
    public record Durable(List<TopicPattern> topics, String directory, int snapshotEvery, int maxWaiting, String url,
                          String user, String password, int poolSize) {
        /** Presence topics never are: they mirror connections, which do not outlive a restart. */
        public boolean isDurable(String topic) {
            return !TopicNames.isPresence(topic) && TopicPattern.anyMatches(topics, topic);
        }

        public boolean enabled() {
            return !topics.isEmpty();
        }

        public boolean embedded() {
            return url.isEmpty();
        }

        /** PostgreSQL; otherwise H2 (embedded, or at a jdbc:h2: URL). */
        public boolean postgres() {
            return jdbcUrl().startsWith("jdbc:postgresql:");
        }

        /** The database user: the configured one, or H2's own default when none is. */
        public String jdbcUser() {
            return user.isEmpty() && !postgres() ? "sa" : user;
        }

        /** The JDBC URL: the configured one, or H2 in a file under the directory, each commit written before it returns. */
        public String jdbcUrl() {
            return embedded()
                    ? "jdbc:h2:file:" + new java.io.File(directory, "herald").getAbsolutePath() + ";WRITE_DELAY=0"
                    : url;
        }
    }

    private static Durable durable(Config c) {
        List<TopicPattern> topics = patterns(c, "herald.durable.topics").stream().map(TopicPattern::compile).toList();
        String url = string(c, "herald.durable.database.url");
        if (!url.isEmpty() && !url.startsWith("jdbc:postgresql:") && !url.startsWith("jdbc:h2:")) {
            throw new SettingsException("herald.durable.database.url: expected a jdbc:postgresql: or jdbc:h2: URL, got \"" + url + "\"");
        }
        return new Durable(topics, nonEmpty(c, "herald.durable.directory"), positiveInt(c, "herald.durable.snapshot-every"),
                positiveInt(c, "herald.durable.max-waiting"), url, string(c, "herald.durable.database.user"), string(c, "herald.durable.database.password"),
                positiveInt(c, "herald.durable.database.pool-size"));
    }

    private static Hook hook(Config c, String key) {
        String url = httpUrl(c, key + ".url");
        return new Hook(url, positive(c, key + ".deadline"), compiled(c, key + ".topics"), positiveInt(c, key + ".max-in-flight"),
                strings(c, key + ".forward-headers"));
    }

    private static Webhooks webhooks(Config c) {
        String url = httpUrl(c, "herald.webhooks.url");
        String secret = string(c, "herald.webhooks.secret");
        if (!url.isEmpty() && secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
            throw new SettingsException("herald.webhooks.secret: expected at least 32 bytes to sign the webhooks with");
        }
        Duration min = positive(c, "herald.webhooks.min-backoff");
        Duration max = positive(c, "herald.webhooks.max-backoff");
        if (max.compareTo(min) < 0) {
            throw new SettingsException("herald.webhooks.max-backoff (" + max + ") must be at least herald.webhooks.min-backoff ("
                    + min + ")");
        }
        return new Webhooks(url, secret, compiled(c, "herald.webhooks.topics"), positive(c, "herald.webhooks.deadline"),
                positiveInt(c, "herald.webhooks.max-attempts"), min, max, positiveInt(c, "herald.webhooks.max-queued"));
    }

    /** Empty, or an absolute http:// or https:// URL with a host. */
    private static String httpUrl(Config c, String key) {
        String url = string(c, key).trim();
        if (url.isEmpty()) {
            return url;
        }
        try {
            java.net.URI uri = new java.net.URI(url);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
                return url;
            }
        } catch (java.net.URISyntaxException e) {
            // reported below
        }
        throw new SettingsException(key + ": expected an http:// or https:// URL, got \"" + url + "\"");
    }

    private static List<TopicPattern> compiled(Config c, String key) {
        return patterns(c, key).stream().map(TopicPattern::compile).toList();
    }

    private static Cluster cluster(Config c) {
        List<String> seeds = strings(c, "herald.cluster.seed-nodes");
        for (String seed : seeds) {
            if (!seed.matches("[^:\\s]+:\\d{1,5}")) {
                throw new SettingsException("herald.cluster.seed-nodes: expected \"host:port\" entries, got '" + seed + "'");
            }
        }
        String strategy = string(c, "herald.cluster.split-brain-resolver");
        if (!List.of("keep-majority", "keep-oldest", "down-all").contains(strategy)) {
            throw new SettingsException("herald.cluster.split-brain-resolver: expected keep-majority, keep-oldest or down-all, got '"
                    + strategy + "'");
        }
        boolean enabled = bool(c, "herald.cluster.enabled");
        if (enabled && seeds.isEmpty()) {
            throw new SettingsException("herald.cluster.seed-nodes: a cluster needs at least one seed node");
        }
        return new Cluster(enabled, nonEmpty(c, "herald.cluster.host"), port(c, "herald.cluster.port"), seeds,
                strategy, positive(c, "herald.cluster.down-after"));
    }

    private static WebSocket webSocket(Config c) {
        String path = nonEmpty(c, "herald.websocket.path");
        if (!path.startsWith("/")) {
            throw new SettingsException("herald.websocket.path: expected a path starting with '/', got '" + path + "'");
        }
        Duration linger = nonNegative(c, "herald.websocket.batch.linger");
        Duration keepAlive = "off".equals(string(c, "herald.websocket.keep-alive-ping"))
                ? null : positive(c, "herald.websocket.keep-alive-ping");
        return new WebSocket(path,
                bytes(c, "herald.websocket.max-frame"),
                positiveInt(c, "herald.websocket.outbound-buffer.frames"),
                bytes(c, "herald.websocket.outbound-buffer.bytes"),
                positive(c, "herald.websocket.heartbeat"),
                positive(c, "herald.websocket.idle-timeout"),
                positive(c, "herald.websocket.close-grace"),
                keepAlive,
                bytes(c, "herald.websocket.batch.max-bytes"),
                linger.isZero() ? null : linger);
    }

    private static Auth auth(Config c) {
        String modeName = string(c, "herald.auth.mode");
        AuthMode mode = switch (modeName) {
            case "none" -> AuthMode.NONE;
            case "jwt" -> AuthMode.JWT;
            default -> throw new SettingsException("herald.auth.mode: expected \"none\" or \"jwt\", got \"" + modeName + "\"");
        };
        List<String> subscribe = patterns(c, "herald.auth.none.subscribe");
        List<String> publish = patterns(c, "herald.auth.none.publish");
        Jwt jwt = new Jwt(string(c, "herald.auth.jwt.hs256-secret"),
                strings(c, "herald.auth.jwt.public-key-files"),
                string(c, "herald.auth.jwt.jwks-file"),
                string(c, "herald.auth.jwt.issuer"),
                string(c, "herald.auth.jwt.audience"),
                nonNegative(c, "herald.auth.jwt.clock-skew"),
                positive(c, "herald.auth.jwt.auth-timeout"));
        if (mode == AuthMode.JWT) {
            if (jwt.hs256Secret().isEmpty() && jwt.publicKeyFiles().isEmpty() && jwt.jwksFile().isEmpty()) {
                throw new SettingsException("herald.auth.mode is \"jwt\" but no key is configured: set"
                        + " herald.auth.jwt.hs256-secret, public-key-files or jwks-file");
            }
            if (!jwt.hs256Secret().isEmpty() && jwt.hs256Secret().getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
                throw new SettingsException("herald.auth.jwt.hs256-secret: expected at least 32 bytes (HS256 needs a 256-bit key)");
            }
        }
        return new Auth(mode, subscribe, publish, jwt);
    }

    private static List<String> patterns(Config c, String key) {
        return patterns(c, key, key);
    }

    private static List<String> patterns(Config c, String key, String fullKey) {
        List<String> patterns = strings(c, key, fullKey);
        for (String p : patterns) {
            try {
                TopicPattern.compile(p);
            } catch (IllegalArgumentException e) {
                throw new SettingsException(fullKey + ": " + e.getMessage());
            }
        }
        return patterns;
    }

    private static List<ApiKey> apiKeys(Config c) {
        List<ApiKey> keys = new ArrayList<>();
        List<? extends Config> entries = objects(c, "herald.api-keys");
        for (int i = 0; i < entries.size(); i++) {
            Config k = entries.get(i);
            String key = "herald.api-keys[" + i + "]";
            String sha256 = k.hasPath("sha256") ? string(k, "sha256", key + ".sha256").toLowerCase(java.util.Locale.ROOT) : "";
            if (!sha256.matches("[0-9a-f]{64}")) {
                throw new SettingsException(key + ".sha256: expected the 64 hex digits of the key's SHA-256");
            }
            String id = k.hasPath("id") ? string(k, "id", key + ".id") : "";
            if (id.isBlank()) {
                throw new SettingsException(key + ".id: expected a name for the key (it is logged)");
            }
            List<String> publish = k.hasPath("publish") ? patterns(k, "publish", key + ".publish") : List.of();
            boolean admin = k.hasPath("admin") && bool(k, "admin", key + ".admin");
            keys.add(new ApiKey(id, sha256, publish, admin));
        }
        return List.copyOf(keys);
    }

    private static Tls tls(Config c) {
        boolean enabled = bool(c, "herald.tls.enabled");
        String keystore = string(c, "herald.tls.keystore");
        if (enabled && !new java.io.File(keystore).isFile()) {
            throw new SettingsException("herald.tls.keystore: expected a PKCS12 keystore file, got \"" + keystore + "\"");
        }
        return new Tls(enabled, keystore, string(c, "herald.tls.keystore-password"));
    }

    private static Topics topics(Config c) {
        TopicLimits defaults = new TopicLimits(positiveInt(c, "herald.topics.max-entries"),
                positiveInt(c, "herald.topics.resume-window"), positiveInt(c, "herald.topics.idempotency-window"),
                positive(c, "herald.topics.idempotency-ttl"), positiveInt(c, "herald.topics.idempotency-max-keys"));
        if (defaults.idempotencyMaxKeys() < defaults.idempotencyWindow()) {
            throw new SettingsException("herald.topics.idempotency-max-keys (" + defaults.idempotencyMaxKeys()
                    + ") must be at least herald.topics.idempotency-window (" + defaults.idempotencyWindow() + ")");
        }
        List<Retention> retention = new ArrayList<>();
        List<? extends Config> entries = objects(c, "herald.topics.retention");
        for (int i = 0; i < entries.size(); i++) {
            Config r = entries.get(i);
            String key = "herald.topics.retention[" + i + "]";
            TopicPattern pattern;
            try {
                pattern = TopicPattern.compile(string(r, "pattern", key + ".pattern"));
            } catch (IllegalArgumentException e) {
                throw new SettingsException(key + ".pattern: " + e.getMessage());
            }
            retention.add(new Retention(pattern, new TopicLimits(
                    r.hasPath("max-entries") ? positiveInt(r, "max-entries", key + ".max-entries") : defaults.maxEntries(),
                    r.hasPath("resume-window") ? positiveInt(r, "resume-window", key + ".resume-window") : defaults.resumeWindow(),
                    r.hasPath("idempotency-window")
                            ? positiveInt(r, "idempotency-window", key + ".idempotency-window") : defaults.idempotencyWindow(),
                    defaults.idempotencyTtl(), defaults.idempotencyMaxKeys())));
        }
        return new Topics(defaults, List.copyOf(retention),
                new Presence(compiled(c, "herald.presence.topics"), positiveInt(c, "herald.presence.max-members")));
    }

    /** Rules that tie two keys together. */
    private void checkTogether(Config root) {
        if (websocket.heartbeat().compareTo(websocket.idleTimeout()) >= 0) {
            throw new SettingsException("herald.websocket.heartbeat (" + websocket.heartbeat()
                    + ") must be below herald.websocket.idle-timeout (" + websocket.idleTimeout() + ")");
        }
        String pekkoIdle = "pekko.http.server.idle-timeout";
        if (root.hasPath(pekkoIdle) && !root.getString(pekkoIdle).equals("infinite")
                && root.getDuration(pekkoIdle).compareTo(websocket.idleTimeout()) <= 0) {
            throw new SettingsException(pekkoIdle + " (" + root.getString(pekkoIdle)
                    + ") must be above herald.websocket.idle-timeout, or Pekko drops idle WebSockets without a close code");
        }
    }

    private static String string(Config c, String key) {
        return string(c, key, key);
    }

    private static String string(Config c, String key, String fullKey) {
        try {
            return c.getString(key);
        } catch (ConfigException e) {
            throw expected(c, key, fullKey, "a string");
        }
    }

    private static boolean bool(Config c, String key) {
        return bool(c, key, key);
    }

    private static boolean bool(Config c, String key, String fullKey) {
        try {
            return c.getBoolean(key);
        } catch (ConfigException e) {
            throw expected(c, key, fullKey, "on or off");
        }
    }

    private static List<String> strings(Config c, String key) {
        return strings(c, key, key);
    }

    private static List<String> strings(Config c, String key, String fullKey) {
        try {
            return List.copyOf(c.getStringList(key));
        } catch (ConfigException e) {
            throw expected(c, key, fullKey, "a list of strings");
        }
    }

    private static List<? extends Config> objects(Config c, String key) {
        try {
            return c.getConfigList(key);
        } catch (ConfigException e) {
            throw expected(c, key, key, "a list of objects");
        }
    }

    /** The usual message for a value of the wrong kind: the key, what it expects, and what it got. */
    private static SettingsException expected(Config c, String key, String fullKey, String what) {
        String got = !c.hasPathOrNull(key) ? "nothing" : c.getIsNull(key) ? "null"
                : c.getValue(key).render(ConfigRenderOptions.concise());
        return new SettingsException(fullKey + ": expected " + what + ", got " + got);
    }

    private static String nonEmpty(Config c, String key) {
        String value = string(c, key);
        if (value.isBlank()) {
            throw new SettingsException(key + ": expected a non-empty string");
        }
        return value;
    }

    private static int port(Config c, String key) {
        int port;
        try {
            port = c.getInt(key);
        } catch (ConfigException e) {
            throw expected(c, key, key, "a port number from 0 to 65535");
        }
        if (port < 0 || port > 65535) {
            throw new SettingsException(key + ": expected a port number from 0 to 65535, got " + port);
        }
        return port;
    }

    private static int positiveInt(Config c, String key) {
        return positiveInt(c, key, key);
    }

    private static int positiveInt(Config c, String key, String fullKey) {
        int value;
        try {
            value = c.getInt(key);
        } catch (ConfigException e) {
            throw expected(c, key, fullKey, "a whole number");
        }
        if (value < 1) {
            throw new SettingsException(fullKey + ": expected a whole number of at least 1, got " + value);
        }
        return value;
    }

    private static int bytes(Config c, String key) {
        long value;
        try {
            value = c.getBytes(key);
        } catch (ConfigException e) {
            throw expected(c, key, key, "a size such as 64 KiB");
        }
        if (value < 1 || value > Integer.MAX_VALUE) {
            throw new SettingsException(key + ": expected a size from 1 byte to 2 GiB, got " + value);
        }
        return (int) value;
    }

    private static double positiveDouble(Config c, String key) {
        double value;
        try {
            value = c.getDouble(key);
        } catch (ConfigException e) {
            throw expected(c, key, key, "a number");
        }
        if (!(value > 0)) {
            throw new SettingsException(key + ": expected a number above zero, got " + value);
        }
        return value;
    }

    private static Duration nonNegative(Config c, String key) {
        Duration d;
        try {
            d = c.getDuration(key);
        } catch (ConfigException e) {
            throw expected(c, key, key, "a duration such as 30s");
        }
        if (d.isNegative()) {
            throw new SettingsException(key + ": expected a duration of zero or more, got " + d);
        }
        return d;
    }

    private static Duration positive(Config c, String key) {
        Duration d;
        try {
            d = c.getDuration(key);
        } catch (ConfigException e) {
            throw expected(c, key, key, "a duration such as 30s");
        }
        if (d.isNegative() || d.isZero()) {
            throw new SettingsException(key + ": expected a duration above zero, got " + d);
        }
        return d;
    }
}
