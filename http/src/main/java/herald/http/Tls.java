package herald.http;

import herald.config.HeraldSettings;
import herald.config.SettingsException;
import java.io.FileInputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;

/** The server's TLS context from the configured PKCS12 keystore. */
final class Tls {
    private Tls() {
    }

    /** Null when TLS is off; a keystore that cannot be read fails start-up naming it. */
    static HttpsConnectionContext serverContext(HeraldSettings.Tls settings) {
        if (!settings.enabled()) {
            return null;
        }
        char[] password = settings.keystorePassword().toCharArray();
        try (FileInputStream in = new FileInputStream(settings.keystore())) {
            KeyStore keyStore = KeyStore.getInstance("PKCS12");
            keyStore.load(in, password);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keyStore, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return ConnectionContext.httpsServer(context);
        } catch (IOException | GeneralSecurityException e) {
            throw new SettingsException("herald.tls.keystore: cannot use " + settings.keystore() + ": " + e.getMessage(), e);
        }
    }
}
