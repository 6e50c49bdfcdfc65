package herald.hub;

/**
 * A message that may cross from one Herald node to another. Pekko serializes these with Jackson
 * (CBOR), as bound in herald-pekko.conf; Java serialization stays off.
 */
public interface ClusterMessage {
}
