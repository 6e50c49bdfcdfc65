package herald.http;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server of its own for a test: Debian's binaries (.ci/run installs the package),
 * a fresh cluster in a temporary directory, on a free loopback port, started and stopped by the
 * test. PostgreSQL refuses to run as root, so under root it runs as the package's postgres user.
 */
final class Postgres implements AutoCloseable {
    private final Path directory;
    private final Path bin;
    private final int port;

    private Postgres(Path directory, Path bin, int port) {
        this.directory = directory;
        this.bin = bin;
        this.port = port;
    }

    /** Creates and starts a cluster; fails with the install hint when PostgreSQL is not installed. */
    static Postgres start() throws Exception {
        Path bin = binaries();
        Path directory = Files.createTempDirectory("herald-pg-");
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Postgres postgres = new Postgres(directory, bin, port);
        try {
            if (isRoot()) {
                run(List.of("chown", "postgres:postgres", directory.toString()));
            }
            postgres.asOwner(List.of(bin.resolve("initdb").toString(), "-D", postgres.data(), "-U", "herald",
                    "--auth=trust", "-E", "UTF8", "--no-sync"));
            postgres.startServer();
            return postgres;
        } catch (Exception | AssertionError e) {
            postgres.close();
            throw e;
        }
    }

    String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    String user() {
        return "herald";
    }

    /** Starts the server (again, after {@link #stopServer}). */
    void startServer() throws Exception {
        asOwner(List.of(bin.resolve("pg_ctl").toString(), "-D", data(), "-l", directory.resolve("server.log").toString(),
                "-o", "-p " + port + " -k " + directory + " -c listen_addresses=127.0.0.1", "-w", "-t", "60", "start"));
    }

    /** Stops the server, as an outage would; the data stays. */
    void stopServer() throws Exception {
        asOwner(List.of(bin.resolve("pg_ctl").toString(), "-D", data(), "-m", "immediate", "-w", "-t", "60", "stop"));
    }

    @Override
    public void close() {
        try {
            if (Files.exists(directory.resolve("data").resolve("postmaster.pid"))) {
                stopServer();
            }
        } catch (Exception e) {
            // The directory goes anyway; a server left running would fail on its next write.
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // A temporary directory left behind is not worth failing a test for.
        }
    }

    private String data() {
        return directory.resolve("data").toString();
    }

    private void asOwner(List<String> command) throws Exception {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        run(full);
    }

    private static void run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + output);
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** The newest installed server's bin directory (/usr/lib/postgresql/N/bin). */
    private static Path binaries() throws IOException {
        Path root = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (Stream<Path> versions = Files.list(root)) {
                Path newest = versions.filter(v -> Files.isExecutable(v.resolve("bin").resolve("initdb")))
                        .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString().replaceAll("\\D", "0"))))
                        .orElse(null);
                if (newest != null) {
                    return newest.resolve("bin");
                }
            }
        }
        throw new AssertionError("no PostgreSQL server under /usr/lib/postgresql: install Debian's "
                + "(apt-get install postgresql; .ci/run does)");
    }
}
