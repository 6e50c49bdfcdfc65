package herald.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * Loads Herald's configuration in layers, highest first: the given overrides and -D system
 * properties, the application.conf (or -Dconfig.file), Herald's Pekko settings
 * ({@code herald-pekko.conf}), then every library's reference.conf.
 */
public final class HeraldConfig {
    private HeraldConfig() {
    }

    public static Config load() {
        return load(ConfigFactory.empty());
    }

    public static Config load(Config overrides) {
        ConfigFactory.invalidateCaches();
        Config application = overrides
                .withFallback(ConfigFactory.defaultApplication())
                .withFallback(ConfigFactory.parseResources(HeraldConfig.class.getClassLoader(), "herald-pekko.conf"));
        return ConfigFactory.load(application);
    }
}
