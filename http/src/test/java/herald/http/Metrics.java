package herald.http;

/** Reads one sample out of a /metrics page, by its name and labels as Prometheus prints them. */
final class Metrics {
    private Metrics() {
    }

    static double sample(String page, String sample) {
        for (String line : page.split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        throw new AssertionError("no sample " + sample + " in /metrics");
    }
}
