package io.quorumlab.wal;

/**
 * The log is damaged somewhere other than a torn tail. Recovery refuses to guess, because the
 * bytes after the damage may be acknowledged records; the message names the file and offset and
 * tells the operator which command inspects and repairs it.
 */
public final class WalCorruptException extends WalException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final long offset;
    private final String reason;

    public WalCorruptException(String dir, String file, long offset, String reason) {
        super(String.format("wal: corrupt record in %s at offset %d (%s); refusing to open. "
                        + "Inspect with `quorumlab wal verify --wal-dir %s`; "
                        + "`quorumlab wal repair --wal-dir %s` keeps the valid prefix and drops the rest",
                file, offset, reason, dir, dir));
        this.file = file;
        this.offset = offset;
        this.reason = reason;
    }

    public String file() {
        return file;
    }

    public long offset() {
        return offset;
    }

    public String reason() {
        return reason;
    }
}
