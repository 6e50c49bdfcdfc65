package herald.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Herald's load generator. Runs one scenario against a running Herald over loopback and prints
 * one JSON line with its figures (progress goes to stderr).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = new Options(args);
            options.url();
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.print(Options.USAGE);
            System.exit(2);
            return;
        }
        System.out.println(run(options));
        System.exit(0);
    }

    /** Runs the scenario and returns its summary; used by the smoke tests too. */
    static ObjectNode run(Options options) throws Exception {
        ProcSampler server = new ProcSampler(options.integer("server-pid", -1));
        try (Clients clients = new Clients(options.url(), options.string("token", null), options.integer("threads", 2),
                options.integer("rcvbuf", options.scenario.equals("slow") ? 65536 : 0),
                options.string("batch", "off").equals("on"))) {
            Publisher publisher = new Publisher(options.publishUrl(), options.string("api-key", null),
                    options.integer("size", options.scenario.equals("slow") ? 4096 : 128));
            ObjectNode result = new Scenarios(options, clients, publisher, server).run();
            result.put("machine", Runtime.getRuntime().availableProcessors() + " cores, Java "
                    + System.getProperty("java.version") + ", " + System.getProperty("os.name") + " "
                    + System.getProperty("os.version"));
            result.put("publishFailures", publisher.failed.get());
            return result;
        }
    }
}
