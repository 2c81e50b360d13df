package io.quorumlab.wal;

/** Back-pressure: too many async appends are queued; the caller should answer "too many requests". */
public final class WalOverloadedException extends WalException {
    private static final long serialVersionUID = 1L;

    public WalOverloadedException(int maxPending) {
        super("wal: too many pending appends (max " + maxPending + ")");
    }
}
