package herald.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import herald.config.SettingsException;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** Starts Herald with the configuration on the classpath, or the file named by -Dconfig.file. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        // Set logging up on this thread before Pekko's threads start logging at the same moment.
        LoggerFactory.getILoggerFactory();
        // Exit through Pekko's coordinated shutdown, so that the process ends with status 0 once every
        // connection got its close, instead of the JVM's default 143 for SIGTERM.
        Config config = HeraldConfig.load(ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = on"));
        Herald herald;
        try {
            herald = Herald.start(config);
        } catch (SettingsException e) {
            System.err.println("Herald cannot start: " + e.getMessage());
            System.exit(2);
            return;
        } catch (Exception e) {
            System.err.println("Herald cannot start: " + e);
            System.exit(1);
            return;
        }
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(herald.system());
        for (String signal : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(signal), s -> shutdown.runAll(CoordinatedShutdown.jvmExitReason()));
        }
    }
}
