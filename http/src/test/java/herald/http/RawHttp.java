package herald.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** HTTP over a plain socket: upgrades whose refusal is read as status and JSON body, and sockets that misbehave. */
final class RawHttp {
    record Response(int status, Map<String, String> headers, String body) {
        Response(int status, String body) {
            this(status, Map.of(), body);
        }
    }

    private static final String UPGRADE_HEADERS = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    private RawHttp() {
    }

    static Response upgrade(int port, String pathAndQuery, Map<String, String> headers) throws Exception {
        try (Socket socket = open(port)) {
            return upgrade(socket, pathAndQuery, headers);
        }
    }

    /** Sends an upgrade request on an open socket and reads the answer's head and body, leaving the socket open. */
    static Response upgrade(Socket socket, String pathAndQuery, Map<String, String> headers) throws IOException {
        StringBuilder request = new StringBuilder("GET " + pathAndQuery + " HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE_HEADERS);
        headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
        send(socket, request.append("\r\n").toString());
        return read(socket);
    }

    /** A socket to the server that has sent nothing yet. */
    static Socket open(int port) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        return socket;
    }

    static void send(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
    }

    /** The upgrade request's bytes, for a client that sends it and then goes away. */
    static String upgradeRequest(String pathAndQuery) {
        return "GET " + pathAndQuery + " HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE_HEADERS + "\r\n";
    }

    /** Reads one response: its head, and a body of the announced length. */
    static Response read(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        String head = readHead(in);
        if (head.isEmpty()) {
            throw new IOException("the server closed the connection without an answer");
        }
        String[] lines = head.split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        return new Response(status, headers, new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }

    /**
     * Whether the server closes the connection within the wait: reading ends (or the connection is
     * reset) instead of timing out. Whatever else arrives before the end is skipped.
     */
    static boolean closedWithin(Socket socket, Duration wait) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        byte[] skipped = new byte[4096];
        try {
            while (System.nanoTime() < deadline) {
                socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                if (socket.getInputStream().read(skipped) < 0) {
                    return true;
                }
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    /** Closes sockets the server may already have closed. */
    static void closeAll(java.util.List<Socket> sockets) {
        for (Socket socket : sockets) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Already closed by the server: nothing left to do.
            }
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }
}
