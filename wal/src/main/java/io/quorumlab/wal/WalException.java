package io.quorumlab.wal;

import java.io.IOException;

/** Base of the WAL's own failures; all are {@link IOException}s so callers handle one family. */
public class WalException extends IOException {
    private static final long serialVersionUID = 1L;

    public WalException(String message) {
        super(message);
    }

    public WalException(String message, Throwable cause) {
        super(message, cause);
    }
}
