package herald.protocol;

/**
 * A client frame or API body that Herald refuses, with everything the `error` reply needs.
 * It carries no stack trace: it is an answer to bad input, not a fault in Herald.
 */
public final class InvalidFrameException extends Exception {
    private final ErrorCode code;
    private final String id;
    private final String topic;

    public InvalidFrameException(ErrorCode code, String id, String topic, String message) {
        super(message, null, false, false);
        this.code = code;
        this.id = id;
        this.topic = topic;
    }

    public ErrorCode code() {
        return code;
    }

    /** The frame's request id when it could be read, else null. */
    public String id() {
        return id;
    }

    /** The topic the error is about, else null. */
    public String topic() {
        return topic;
    }

    public ServerFrame.Error toFrame() {
        return new ServerFrame.Error(id, topic, code, getMessage());
    }
}
