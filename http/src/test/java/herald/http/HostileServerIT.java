package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar with the shipped configuration against what one laptop can throw at it: thousands
 * of sockets that never speak, thousands of SSE streams, and a bad configuration value. The figures
 * (how long a new client waits for its welcome) are printed for docs/benchmarks.md; the assertions
 * are about what happens, not how fast.
 */
class HostileServerIT {
    private static final int SOCKETS = 5_000;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void fiveThousandSilentSocketsKeepNoClientOutAndAreClosedByTheDeadline() throws Exception {
        List<Socket> silent = new ArrayList<>();
        try (HeraldProcess herald = HeraldProcess.start("-Dconfig.file=../config/application.conf")) {
            try {
                for (int i = 0; i < SOCKETS; i++) {
                    silent.add(RawHttp.open(herald.port));
                }
                Eventually.await("the server holds them all", Duration.ofSeconds(30),
                        () -> metric(herald, "herald_http_connections_pending") >= SOCKETS);
                long start = System.nanoTime();
                try (WsClient client = WsClient.connectWelcomed(herald.ws())) {
                    System.out.printf("hostile: a new client got its welcome %.1f ms after connecting, beside %d silent sockets%n",
                            (System.nanoTime() - start) / 1e6, SOCKETS);
                }
                assertEquals(200, get(herald, "/health/live").statusCode());
                // The shipped request-deadline is 10 s; every socket must be closed well within a minute.
                for (Socket socket : silent) {
                    assertTrue(RawHttp.closedWithin(socket, Duration.ofSeconds(60)), "every silent socket is closed by the deadline");
                }
                assertTrue(metric(herald, "herald_http_connections_expired_total{reason=\"request-deadline\"}") >= SOCKETS);
            } finally {
                RawHttp.closeAll(silent);
            }
        }
    }

    @Test
    void fiveThousandSseStreamsLeaveHealthAndUpgradesServed() throws Exception {
        List<Socket> streams = new ArrayList<>();
        try (HeraldProcess herald = HeraldProcess.start("-Dconfig.file=../config/application.conf", "-Xmx1g",
                "-Dherald.limits.max-connections-per-address=" + (SOCKETS + 10))) {
            try {
                for (int i = 0; i < SOCKETS; i++) {
                    Socket socket = RawHttp.open(herald.port);
                    streams.add(socket);
                    RawHttp.send(socket, "GET /api/sse?topics=crowd HTTP/1.1\r\nHost: localhost\r\n\r\n");
                    assertEquals(200, RawHttp.read(socket).status(), "stream " + i);
                }
                Eventually.await("every stream is a session", Duration.ofSeconds(30),
                        () -> metric(herald, "herald_connections_open") == SOCKETS);
                long start = System.nanoTime();
                assertEquals(200, get(herald, "/health/live").statusCode());
                try (WsClient client = WsClient.connectWelcomed(herald.ws())) {
                    System.out.printf("hostile: health and a welcome within %.1f ms beside %d SSE streams%n",
                            (System.nanoTime() - start) / 1e6, SOCKETS);
                }
            } finally {
                RawHttp.closeAll(streams);
            }
        }
    }

    @Test
    void aBadValueForAnyKeyStopsStartUpWithItsMessageAndStatus2() throws Exception {
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dherald.auth.jwt.clock-skew=soon", "-jar", Path.of("target", "herald.jar").toString())
                .redirectErrorStream(true).start();
        try {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "Herald stopped");
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(2, process.exitValue(), output);
            assertTrue(output.contains("Herald cannot start: herald.auth.jwt.clock-skew: expected a duration such as 30s, got \"soon\""),
                    output);
        } finally {
            process.destroyForcibly();
        }
    }

    private static HttpResponse<String> get(HeraldProcess herald, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(herald.http(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static double metric(HeraldProcess herald, String sample) throws Exception {
        return Metrics.sample(get(herald, "/metrics").body(), sample);
    }

}
