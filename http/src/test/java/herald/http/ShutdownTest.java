package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The real process: SIGTERM closes every WebSocket with 1001 and the JVM exits with status 0. */
class ShutdownTest {
    private static final Pattern LISTENING = Pattern.compile("Herald listening on http://127\\.0\\.0\\.1:(\\d+)");

    @Test
    void sigtermClosesWebSocketsWith1001AndExitsZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dherald.server.port=0", "-Dlogback.configurationFile=logback.xml", "herald.http.Main")
                .redirectErrorStream(true).start();
        try {
            CompletableFuture<Integer> port = new CompletableFuture<>();
            StringBuilder output = new StringBuilder();
            Thread reader = new Thread(() -> {
                try (BufferedReader lines = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                        synchronized (output) {
                            output.append(line).append('\n');
                        }
                        Matcher m = LISTENING.matcher(line);
                        if (m.find()) {
                            port.complete(Integer.parseInt(m.group(1)));
                        }
                    }
                } catch (java.io.IOException ignored) {
                    // The process is gone; what it printed is in output.
                }
                port.completeExceptionally(new AssertionError("Herald exited before listening:\n" + output));
            });
            reader.start();
            int bound = port.get(60, TimeUnit.SECONDS);

            WsClient client = WsClient.connectWelcomed(URI.create("ws://127.0.0.1:" + bound + "/ws"));
            client.send("{\"type\":\"subscribe\",\"topics\":[\"bye:1\"]}");
            client.next();

            // SIGTERM through the handle: Process.destroy() would also close our end of its output.
            process.toHandle().destroy();
            WsClient.Closed closed = client.awaitClose();
            assertEquals(1001, closed.code(), closed.toString());
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "exited after SIGTERM");
            reader.join(5000);
            synchronized (output) {
                assertEquals(0, process.exitValue(), output.toString());
                assertTrue(output.toString().contains("code [1001]"), "the close is logged:\n" + output);
            }
        } finally {
            process.destroyForcibly();
        }
    }
}
