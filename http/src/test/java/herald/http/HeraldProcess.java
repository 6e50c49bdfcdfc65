package herald.http;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The packaged jar (target/herald.jar) started as its own JVM process, as users run it. */
final class HeraldProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("Herald listening on http://127\\.0\\.0\\.1:(\\d+)");

    final Process process;
    final int port;
    private final StringBuilder output;

    private HeraldProcess(Process process, int port, StringBuilder output) {
        this.process = process;
        this.port = port;
        this.output = output;
    }

    /** Starts the jar with these JVM arguments (e.g. -Dherald.x=y) and environment, and waits until it listens. */
    static HeraldProcess start(List<String> jvmArguments, Map<String, String> environment) throws Exception {
        Path jar = Path.of("target", "herald.jar");
        if (!Files.exists(jar)) {
            throw new AssertionError("the packaged jar is built before integration tests: " + jar.toAbsolutePath());
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-Dherald.server.port=0");
        command.addAll(jvmArguments);
        command.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process process = builder.start();
        StringBuilder output = new StringBuilder();
        try {
            return new HeraldProcess(process, awaitListening(process, output), output);
        } catch (Exception | AssertionError e) {
            process.destroyForcibly();
            throw e;
        }
    }

    static HeraldProcess start(String... jvmArguments) throws Exception {
        return start(List.of(jvmArguments), Map.of());
    }

    URI http(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/ws");
    }

    /** Everything the process printed so far. */
    String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    /** SIGTERM, as an operator's stop. Process.destroy() would also close our end of its output. */
    void terminate() {
        process.toHandle().destroy();
    }

    /** Waits for the process to end, after {@link #terminate}. */
    void awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError("Herald did not exit within 60 s of SIGTERM:\n" + output());
        }
    }

    /** SIGKILL: the machine is gone, nothing is closed cleanly. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }

    /** Reads the process's output in the background and returns the port from its listening line. */
    private static int awaitListening(Process process, StringBuilder output) throws Exception {
        CompletableFuture<Integer> port = new CompletableFuture<>();
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
            synchronized (output) {
                port.completeExceptionally(new AssertionError("Herald exited before listening:\n" + output));
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            return port.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // SIGQUIT makes the JVM print its threads to the output read above: what it is stuck on.
            new ProcessBuilder("kill", "-QUIT", Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
            Thread.sleep(2000);
            synchronized (output) {
                throw new AssertionError("Herald did not listen within 60 s; it printed (a thread dump last):\n" + output, e);
            }
        }
    }
}
