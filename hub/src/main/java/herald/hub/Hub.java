package herald.hub;

import herald.config.HeraldSettings;
import herald.hub.auth.Authenticator;
import herald.hub.auth.Hooks;
import herald.hub.session.Connections;
import herald.hub.topic.Topics;
import herald.protocol.FrameCodec;

/**
 * What every session shares: settings, the codec, the way to topics, the open connections, the
 * meters, the authenticator and the backend's hooks.
 */
public record Hub(HeraldSettings settings, FrameCodec codec, Topics topics, Connections connections,
                  HubMetrics metrics, Authenticator authenticator, Hooks hooks) {
}
