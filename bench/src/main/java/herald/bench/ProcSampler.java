package herald.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The server's CPU time and resident memory, read from /proc (nothing when no pid was given). */
final class ProcSampler {
    /** Linux reports utime and stime in clock ticks of 1/100 s on every kernel we run on. */
    private static final double TICKS_PER_SECOND = 100;
    private final int pid;

    ProcSampler(int pid) {
        this.pid = pid;
    }

    boolean enabled() {
        return pid > 0;
    }

    /** CPU seconds the server has used so far. */
    double cpuSeconds() {
        if (!enabled()) {
            return 0;
        }
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS_PER_SECOND;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Resident set size in KiB. */
    long rssKiB() {
        if (!enabled()) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }

    /** CPU use between two readings, in percent of one core. */
    static double cpuPercent(double cpuBefore, double cpuAfter, long nanos) {
        return nanos <= 0 ? 0 : Math.round((cpuAfter - cpuBefore) / (nanos / 1e9) * 1000) / 10.0;
    }
}
